// The software MMU's machine-level interface (emu/pmap*.cc): setup, the
// copyin/copyout-style accessors with onfault recovery, and statistics.
#ifndef UVMEMU_EMU_MMU_H
#define UVMEMU_EMU_MMU_H

#include <cstddef>
#include <cstdint>

#include <sys/types.h>

struct pmap;
struct vm_page;

namespace uvmemu::mmu {

struct Config {
  size_t max_pmaps = 64;             // windows in the reservation
  size_t window_bytes = size_t{8} << 30;  // per pmap (va range)
  size_t host_mapping_budget = 30000;     // host mappings before eviction
  // Sparse windows (docs/mmu.md): the reservation is placed low in the
  // address space, where the host's mmap(NULL) never looks, and a window
  // in use keeps no PROT_NONE reservation: its unmapped pages are holes.
  // Mapping a frame into a hole is about half the host kernel's work of
  // replacing a page of a reservation, the largest cost of a fault.  If
  // the low region is taken (or not x86-64, or false here), every window
  // stays one PROT_NONE reservation wherever the host puts it.
  bool sparse_windows = true;
};

// Reserve the region and install the SIGSEGV handler (idempotent while
// the configuration is unchanged).  The physical arena must exist.
void Init(const Config& config);
// Release the reservation; every pmap must have been destroyed.
void Shutdown();
bool Initialized();
// Whether windows are sparse (Config::sparse_windows asked for, and the
// low region was free).
bool SparseWindows();
// Where the reservation is, and how large.
char* ReservationBase();
size_t ReservationBytes();

// Copy between host memory and a pmap's window through the MMU: faults
// are resolved by UVM like any access; one UVM refuses ends the copy and
// returns EFAULT (onfault recovery), never a crash.  0 on success.
int CopyIn(struct pmap* pmap, vaddr_t va, void* dst, size_t len);
int CopyOut(struct pmap* pmap, const void* src, vaddr_t va, size_t len);

struct Stats {
  uint64_t faults = 0;          // SIGSEGVs taken in the region
  uint64_t uvm_faults = 0;      // of which passed to UVM
  uint64_t refmod_faults = 0;   // of which were ref/mod emulation
  uint64_t refills = 0;         // of which re-entered an evicted mapping
  uint64_t evictions = 0;       // host mappings dropped for the budget
  size_t host_mappings = 0;     // host mappings now
  size_t peak_host_mappings = 0;
  size_t pmaps = 0;             // pmaps now
  size_t mappings = 0;          // pmap-level page mappings now
};
Stats GetStats();
void ResetPeak();

// The pages mapped by a pmap at va, for tests and dumps (nullptr if none).
struct vm_page* MappedPage(struct pmap* pmap, vaddr_t va);
// The host protection currently in force at va (VM_PROT_* bits).
int HostProtection(struct pmap* pmap, vaddr_t va);
// Number of pmap-level mappings of a page (its pv list length).
size_t MappingCount(const struct vm_page* pg);

}  // namespace uvmemu::mmu

#endif  // UVMEMU_EMU_MMU_H
