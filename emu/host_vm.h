// Host system calls on the MMU's reservation (emu/host_vm.cc).
//
// A page of a window with nothing of ours on the host is "reserved": the
// reservation's PROT_NONE page, or with sparse windows (State::sparse) a
// hole.  With sparse windows a window in use has no reservation at all:
// mapping a frame into a hole needs no split of a reservation mapping
// and no unmapping of the page it replaces, which is about half the host
// kernel's work for the mmap of a fault (docs/mmu.md, "Costs").  The
// holes are safe from the host's own mmap(NULL) because the reservation
// lies low in the address space (see emu/mmu.cc), and a frame is mapped
// into a hole with MAP_FIXED_NOREPLACE, so a mapping someone else made
// there is never clobbered: it panics, naming the address.
//
// Near vm.max_map_count even an mprotect that splits a mapping fails with
// ENOMEM; each call here then evicts host mappings (see host_budget.h)
// and retries.  Any other failure is a bug and panics.
#ifndef UVMEMU_EMU_HOST_VM_H
#define UVMEMU_EMU_HOST_VM_H

#include <sys/types.h>
#include <uvm/uvm_param.h>

#include <cstddef>

#include "emu/host_budget.h"

namespace uvmemu::mmu::internal {

// The mmap/mprotect protection for a host protection (VM_PROT_* bits).
int HostProtBits(vm_prot_t host_prot);

// Maps the frame at physical address pa at addr (one page, MAP_SHARED).
// `replace`: a frame of ours is mapped there now (the page changed);
// otherwise the page is reserved.
void HostMapFrame(char* addr, vm_prot_t host_prot, paddr_t pa, bool replace,
                  const Exclusion& keep);
// Sparse windows: maps at addr (a hole) the frame that follows the one
// mapped at addr - PAGE_SIZE, by growing the host mapping that ends at
// addr by a page (mremap in place).  Cheaper than a new mmap, even one
// that merges with its neighbour, and never adds a host mapping.  False
// if the host refuses (the caller maps the frame instead).
bool HostExtendMapping(char* addr);
// Makes [addr, addr + len) reserved again (a hole, or the reservation's
// PROT_NONE pages): 0 or an errno, without evicting (eviction itself
// uses this).
int TryReserve(char* addr, size_t len);
// The same, evicting and retrying on ENOMEM.
void HostReserve(char* addr, size_t len, const Exclusion& keep);
// Changes the protection of established mappings in [addr, addr + len).
void HostProtect(char* addr, size_t len, vm_prot_t host_prot,
                 const Exclusion& keep);
// Sparse windows: a window taken by a new pmap loses its reservation
// (every page a hole), and one given back gets it again (it must hold
// no mapping).  Both evict and retry on ENOMEM.
void HostOpenWindow(char* addr, size_t len);
void HostCloseWindow(char* addr, size_t len);

// Coalesces per-page reserve/protect operations on consecutive pages
// into one system call per run: an mprotect of 64 pages costs what one
// page costs.  Operations are issued in order by Flush() (or when a page
// does not extend the current run).
class HostRuns {
 public:
  explicit HostRuns(const Exclusion& keep) : keep_(keep) {}
  ~HostRuns() { Flush(); }
  HostRuns(const HostRuns&) = delete;
  HostRuns& operator=(const HostRuns&) = delete;

  // Queues the page at addr: reserve it (host_prot NONE) or protect its
  // established mapping to host_prot.
  void Add(char* addr, vm_prot_t host_prot);
  // Extends the current run over an established page that already has
  // host_prot, if it is the next page (fewer calls, same effect).
  void Bridge(char* addr, vm_prot_t host_prot);
  void Flush();

 private:
  Exclusion keep_;
  char* start_ = nullptr;
  char* end_ = nullptr;
  vm_prot_t prot_ = VM_PROT_NONE;
};

}  // namespace uvmemu::mmu::internal

#endif  // UVMEMU_EMU_HOST_VM_H
