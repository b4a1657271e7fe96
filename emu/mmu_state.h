// The software MMU's internal state, shared by emu/pmap*.cc, emu/mmu*.cc
// and emu/host_*.cc.  Not part of any public interface.
//
// A pmap owns one window of a PROT_NONE host reservation.  Each of its
// pages is either unmapped (no Mapping), or mapped at pmap level with a
// Mapping; a Mapping is established on the host (host_prot != NONE: the
// frame is mmap'ed at window + va) or not (host_prot == NONE: nothing of
// ours is there, and the next access faults).  "Nothing of ours" is the
// reservation's PROT_NONE page, or with sparse windows (State::sparse) a
// hole: a window in use keeps no reservation (see emu/host_vm.h).
// The host protection is never more than the pmap-level protection
// allows, and is less while referenced/modified emulation or the host
// mapping budget says so.
#ifndef UVMEMU_EMU_MMU_STATE_H
#define UVMEMU_EMU_MMU_STATE_H

#include <sys/types.h>
#include <uvm/uvm_param.h>
#include <uvm/uvm_pmap.h>

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "emu/mmu.h"
#include "emu/mmu_mapping.h"
#include "emu/pmap_table.h"

namespace uvmemu::mmu::internal {

// Emulated referenced/modified bits, per physical page.
inline constexpr uint8_t kReferenced = 0x1;
inline constexpr uint8_t kModified = 0x2;

struct PageState {
  uint8_t attrs = 0;
  std::vector<Mapping*> pv;  // every mapping of the page, oldest first
};

struct State {
  bool initialized = false;
  Config config;
  char* base = nullptr;  // the reservation
  size_t reservation_bytes = 0;
  // Windows in use are holes where nothing is mapped, not reservation.
  bool sparse = false;
  int memfd = -1;
  const struct vm_page* pages = nullptr;  // arena page array
  size_t npages = 0;
  std::vector<PageState> page_state;  // indexed like the arena
  std::vector<std::unique_ptr<struct pmap>> windows;
  // Declared after windows so it is destroyed first (it unlinks the
  // mappings the windows' pmaps own).
  ResidentList resident;
  // The budget in force: config.host_mapping_budget, or less once the
  // host has refused a mapping (the host's limit is then the real one).
  size_t budget = 0;
  Stats stats;
};

State& S();

// The host address of va in pmap's window.
char* HostAddress(const struct pmap* pmap, vaddr_t va);
// The page's MMU state, or nullptr if pg is not a page of the arena.
PageState* PageStateOf(const struct vm_page* pg);

// The host protection a mapping should have after a fault or an enter:
// none until referenced, read-only until modified.
vm_prot_t HostProtFor(vm_prot_t prot, uint8_t attrs);
// Whether a pmap-level protection permits an access (VM_PROT_READ or
// VM_PROT_WRITE).  A writable mapping is readable: the host cannot map
// write-only, and neither can most hardware.
bool ProtAllows(vm_prot_t prot, vm_prot_t access);

// Changes the host side of `m` to `want` (NONE, READ or READ|WRITE) with
// one system call, keeping the budget's accounting.  `remap` forces the
// frame to be mapped anew (the mapping's page changed).
void SetHostProt(Mapping& m, vm_prot_t want, bool remap);

// Adds / removes m to / from its page's pv list.
void PvInsert(Mapping& m);
void PvRemove(Mapping& m);

// Removes a pmap-level mapping: its pv entry, then the mapping itself.
// The caller has already dropped the host side (host_prot == NONE).
void ForgetMapping(Mapping& m);

}  // namespace uvmemu::mmu::internal

// The machine-dependent physical map (uvm/uvm_pmap.h).
struct pmap {
  explicit pmap(size_t window_bytes) : mappings(window_bytes) {}

  size_t index = 0;        // window number
  char* window = nullptr;  // host address of va 0
  uvmemu::mmu::internal::PageTable mappings;  // by va
  void* owner = nullptr;
  int owner_id = 0;
};

#endif  // UVMEMU_EMU_MMU_STATE_H
