// A log of pmap_page_protect() calls (kept by emu/pmap_pv.cc), so tests
// can check which pages the amap and anon code write-protected or
// unmapped, whether or not the pages were mapped anywhere.
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
