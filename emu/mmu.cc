// The software MMU's setup, statistics and queries (emu/mmu.h).
#include "emu/mmu.h"

#include <sys/mman.h>
#include <sys/systm.h>
#include <uvm/uvm_page.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>

#include "emu/arena.h"
#include "emu/mmu_fault.h"
#include "emu/mmu_state.h"

namespace uvmemu::mmu {
namespace {

using internal::S;
using internal::State;

bool SameConfig(const Config& a, const Config& b) {
  return a.max_pmaps == b.max_pmaps && a.window_bytes == b.window_bytes &&
         a.host_mapping_budget == b.host_mapping_budget &&
         a.sparse_windows == b.sparse_windows;
}

// Where sparse windows go: [kSparseBase, kSparseEnd) is above the shadow
// memory of ASan on x86-64 (which ends at 0x10007fff8000) and below
// TASK_UNMAPPED_BASE (a third of the 47-bit user address space,
// 0x2aaaaaaab000), where the bottom-up mmap layout starts looking.  The
// default top-down layout looks from just below the stack downwards and
// takes the highest gap that fits, so it comes down here only once the
// tens of TiB above are full.  Holes in sparse windows are therefore
// never handed out by mmap(NULL); only a mapping at a fixed address
// could land in one (and is then caught, see emu/host_vm.h).
#if defined(__x86_64__)
constexpr uintptr_t kSparseBase = 0x110000000000;  // 17 TiB
constexpr uintptr_t kSparseEnd = 0x2a0000000000;   // 42 TiB
#else
constexpr uintptr_t kSparseBase = 0;  // layout not checked: dense only
constexpr uintptr_t kSparseEnd = 0;
#endif

// The reservation at kSparseBase, or nullptr if it does not fit there or
// the range is taken.
void* ReserveLow(size_t bytes) {
  if (kSparseEnd - kSparseBase < bytes) return nullptr;
  void* hint = reinterpret_cast<void*>(kSparseBase);
  void* p = mmap(hint, bytes, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
                     MAP_FIXED_NOREPLACE,
                 -1, 0);
  if (p == MAP_FAILED) return nullptr;
  if (p != hint) {  // a kernel without MAP_FIXED_NOREPLACE took it as a hint
    munmap(p, bytes);
    return nullptr;
  }
  return p;
}

const internal::Mapping* Find(struct pmap* pmap, vaddr_t va) {
  if (pmap == nullptr || va >= S().config.window_bytes) return nullptr;
  return pmap->mappings.Find(trunc_page(va));
}

}  // namespace

void Init(const Config& config) {
  State& s = S();
  if (s.initialized) {
    if (SameConfig(s.config, config)) return;
    Shutdown();  // panics if pmaps exist
  }
  if (!arena::Initialized()) {
    panic("mmu::Init: the physical arena must be initialised first");
  }
  if (config.max_pmaps == 0 || config.window_bytes == 0 ||
      (config.window_bytes & PAGE_MASK) != 0 ||
      config.host_mapping_budget == 0 ||
      config.max_pmaps >
          std::numeric_limits<size_t>::max() / config.window_bytes) {
    panic(
        "mmu::Init: bad configuration (%zu windows of %zu bytes, budget "
        "%zu)",
        config.max_pmaps, config.window_bytes, config.host_mapping_budget);
  }
  const size_t bytes = config.max_pmaps * config.window_bytes;
  // NORESERVE and PROT_NONE: address space only, no commit charge.
  void* base = config.sparse_windows ? ReserveLow(bytes) : nullptr;
  const bool sparse = base != nullptr;
  if (!sparse) {
    base = mmap(nullptr, bytes, PROT_NONE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  }
  if (base == MAP_FAILED) {
    panic("mmu::Init: reserving %zu windows of %zu bytes: %s", config.max_pmaps,
          config.window_bytes, strerror(errno));
  }
  s.config = config;
  s.base = static_cast<char*>(base);
  s.reservation_bytes = bytes;
  s.sparse = sparse;
  s.memfd = arena::MemfdDescriptor();
  s.pages = arena::Page(0);
  s.npages = arena::PageCount();
  s.page_state.assign(s.npages, internal::PageState{});
  s.windows.clear();
  s.windows.resize(config.max_pmaps);
  s.budget = config.host_mapping_budget;
  s.stats = Stats{};
  s.initialized = true;
  internal::InstallFaultHandler();
}

void Shutdown() {
  State& s = S();
  if (!s.initialized) panic("mmu::Shutdown: the MMU is not initialised");
  for (const auto& pmap : s.windows) {
    if (pmap == nullptr) continue;
    panic(
        "mmu::Shutdown: %zu pmaps still exist (window %zu: process %d, "
        "%zu mappings)",
        s.stats.pmaps, pmap->index, pmap->owner_id, pmap->mappings.size());
  }
  internal::RestoreFaultHandler();
  munmap(s.base, s.reservation_bytes);
  s.initialized = false;
  s.base = nullptr;
  s.reservation_bytes = 0;
  s.sparse = false;
  s.memfd = -1;
  s.pages = nullptr;
  s.npages = 0;
  s.page_state.clear();
  s.windows.clear();
}

bool Initialized() { return S().initialized; }

bool SparseWindows() { return S().sparse; }

char* ReservationBase() { return S().base; }

size_t ReservationBytes() { return S().reservation_bytes; }

Stats GetStats() { return S().stats; }

void ResetPeak() {
  Stats& stats = S().stats;
  stats.peak_host_mappings = stats.host_mappings;
}

struct vm_page* MappedPage(struct pmap* pmap, vaddr_t va) {
  const internal::Mapping* m = Find(pmap, va);
  return m != nullptr ? m->pg : nullptr;
}

int HostProtection(struct pmap* pmap, vaddr_t va) {
  const internal::Mapping* m = Find(pmap, va);
  return m != nullptr ? m->host_prot : VM_PROT_NONE;
}

size_t MappingCount(const struct vm_page* pg) {
  const internal::PageState* ps = internal::PageStateOf(pg);
  return ps != nullptr ? ps->pv.size() : 0;
}

}  // namespace uvmemu::mmu
