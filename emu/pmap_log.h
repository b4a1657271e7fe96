// The pmap of the machine without an MMU (emu/pmap_log.cc): no page is
// ever mapped, so pmap_page_protect() only records its calls.  The MMU
// issue replaces this.
#ifndef UVMEMU_EMU_PMAP_LOG_H
#define UVMEMU_EMU_PMAP_LOG_H

#include <cstdint>
#include <utility>
#include <vector>

#include <uvm/uvm_param.h>

struct vm_page;

namespace uvmemu::pmap {

// pmap_page_protect() calls since the last ClearProtectLog(), oldest
// first.  At most the newest 65536 are kept.
std::vector<std::pair<const vm_page*, vm_prot_t>> ProtectLog();
void ClearProtectLog();
// pmap_page_protect() calls since the process started (monotonic).
uint64_t ProtectCount();

}  // namespace uvmemu::pmap

#endif  // UVMEMU_EMU_PMAP_LOG_H
