// The host mapping budget (see emu/host_budget.h).
//
// The resident list holds every host-mapped Mapping in the order it was
// mapped (FIFO).  Counting pages over-counts the kernel's VMAs (adjacent
// frames with consecutive offsets and equal protection merge), but each
// page costs at most two VMAs (itself and the piece of reservation after
// it; one with sparse windows, which have no reservation pieces), so the
// default budget of 30000 stays under 65530 with headroom for the rest of
// the process.
#include "emu/host_budget.h"

#include <sys/systm.h>

#include <algorithm>
#include <cstring>

#include "emu/host_vm.h"
#include "emu/mmu_state.h"

namespace uvmemu::mmu::internal {

bool Exclusion::Covers(const Mapping& m) const {
  return m.pmap == pmap && m.va >= start && m.va < end;
}

size_t EvictionBatch() { return std::max<size_t>(1, S().budget / 16); }

void MakeRoom(size_t n) {
  State& s = S();
  if (n > s.budget) panic("mmu: %zu host mappings exceed the budget", n);
  while (s.resident.size() + n > s.budget) {
    const size_t need = s.resident.size() + n - s.budget;
    if (Evict(std::max(need, EvictionBatch()), Exclusion{}) == 0) {
      panic("mmu: host mapping budget exhausted and nothing to evict");
    }
  }
}

size_t Evict(size_t n, const Exclusion& keep) {
  State& s = S();
  // Consecutive victims (in either direction) go back to the reservation
  // in one call.  TryReserve never evicts, so the list is not changed
  // under the loop, and nothing here allocates: this runs when the host
  // is out of mappings, when malloc may be too.
  char* run_start = nullptr;
  char* run_end = nullptr;
  const auto flush = [&] {
    if (run_start == nullptr) return;
    const int error =
        TryReserve(run_start, static_cast<size_t>(run_end - run_start));
    if (error != 0) {
      panic("mmu: evicting [%p, %p): %s", static_cast<void*>(run_start),
            static_cast<void*>(run_end), strerror(error));
    }
    run_start = run_end = nullptr;
  };
  size_t evicted = 0;
  for (auto it = s.resident.begin(); it != s.resident.end() && evicted < n;) {
    Mapping& m = *it++;
    if (keep.Covers(m)) continue;
    s.resident.erase(s.resident.iterator_to(m));
    m.host_prot = VM_PROT_NONE;
    m.evicted = true;
    evicted++;
    char* addr = HostAddress(m.pmap, m.va);
    if (run_start != nullptr && addr == run_end) {
      run_end += PAGE_SIZE;
    } else if (run_start != nullptr && addr + PAGE_SIZE == run_start) {
      run_start = addr;
    } else {
      flush();
      run_start = addr;
      run_end = addr + PAGE_SIZE;
    }
  }
  flush();
  s.stats.evictions += evicted;
  s.stats.host_mappings = s.resident.size();
  return evicted;
}

void AddResident(Mapping& m) {
  State& s = S();
  s.resident.push_back(m);
  s.stats.host_mappings = s.resident.size();
  s.stats.peak_host_mappings =
      std::max(s.stats.peak_host_mappings, s.stats.host_mappings);
}

void RemoveResident(Mapping& m) {
  State& s = S();
  s.resident.erase(s.resident.iterator_to(m));
  s.stats.host_mappings = s.resident.size();
}

void TouchResident(Mapping& m) {
  State& s = S();
  s.resident.erase(s.resident.iterator_to(m));
  s.resident.push_back(m);
}

}  // namespace uvmemu::mmu::internal
