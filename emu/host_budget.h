// The host mapping budget (emu/host_budget.cc): Linux limits the number
// of mappings a process may hold (vm.max_map_count, 65530 by default), so
// the MMU counts the frames it has mapped on the host and, at the budget,
// drops the oldest host mappings.  The pmap-level mappings stay: the next
// access faults and the handler re-establishes the host mapping from pmap
// state, like a TLB refill.
#ifndef UVMEMU_EMU_HOST_BUDGET_H
#define UVMEMU_EMU_HOST_BUDGET_H

#include <sys/types.h>

#include <cstddef>

struct pmap;

namespace uvmemu::mmu::internal {

struct Mapping;

// Mappings an eviction must leave alone: those of `pmap` in [start, end)
// (an operation in progress on them has already decided their fate).
struct Exclusion {
  const struct pmap* pmap = nullptr;
  vaddr_t start = 0;
  vaddr_t end = 0;
  bool Covers(const Mapping& m) const;
};

// Evicts until `n` more host mappings fit under the budget.
void MakeRoom(size_t n);

// Evicts up to `n` host mappings, oldest first, skipping `keep`, with one
// system call per run of consecutive pages.  Returns how many it evicted.
size_t Evict(size_t n, const Exclusion& keep);

// How many to evict at once when the budget is reached: evicting in
// batches amortises the system calls (runs of pages go in one call).
size_t EvictionBatch();

// Bookkeeping as a mapping becomes host-mapped, stops being host-mapped,
// or has its frame mapped anew (which makes it the youngest).
void AddResident(Mapping& m);
void RemoveResident(Mapping& m);
void TouchResident(Mapping& m);

}  // namespace uvmemu::mmu::internal

#endif  // UVMEMU_EMU_HOST_BUDGET_H
