// The machine-dependent physical map (uvm/uvm_pmap.h) on real host page
// protection: pmap life cycle, entering, removing and protecting ranges,
// and lookups.  Page-centric operations (pv lists, referenced/modified
// bits) are in emu/pmap_pv.cc; the SIGSEGV side is emu/mmu_signal.cc.
#include <sys/systm.h>
#include <uvm/uvm_page.h>
#include <uvm/uvm_pmap.h>

#include <memory>

#include "emu/arena.h"
#include "emu/host_budget.h"
#include "emu/host_vm.h"
#include "emu/mmu_state.h"

using uvmemu::mmu::internal::Exclusion;
using uvmemu::mmu::internal::HostAddress;
using uvmemu::mmu::internal::HostCloseWindow;
using uvmemu::mmu::internal::HostOpenWindow;
using uvmemu::mmu::internal::HostRuns;
using uvmemu::mmu::internal::Mapping;
using uvmemu::mmu::internal::PageStateOf;
using uvmemu::mmu::internal::S;
using uvmemu::mmu::internal::State;

namespace {

void CheckVa(const char* fn, const struct pmap* pmap, vaddr_t va) {
  if (pmap == nullptr) panic("%s: null pmap", fn);
  if ((va & PAGE_MASK) != 0 || va >= S().config.window_bytes) {
    panic("%s: va 0x%lx is not a page of the %zu-byte window", fn, va,
          S().config.window_bytes);
  }
}

void CheckRange(const char* fn, const struct pmap* pmap, vaddr_t sva,
                vaddr_t eva) {
  if (pmap == nullptr) panic("%s: null pmap", fn);
  if (((sva | eva) & PAGE_MASK) != 0 || sva > eva ||
      eva > S().config.window_bytes) {
    panic("%s: bad range [0x%lx, 0x%lx) for a %zu-byte window", fn, sva, eva,
          S().config.window_bytes);
  }
}

}  // namespace

struct pmap* pmap_create(void) {
  State& s = S();
  if (!s.initialized) panic("pmap_create: the MMU is not initialised");
  // The lowest free window, so that runs are reproducible.
  for (size_t i = 0; i < s.windows.size(); i++) {
    if (s.windows[i] != nullptr) continue;
    auto pmap = std::make_unique<struct pmap>(s.config.window_bytes);
    pmap->index = i;
    pmap->window = s.base + i * s.config.window_bytes;
    // Sparse windows: the window in use keeps no reservation (see
    // emu/host_vm.h); every page starts as a hole.
    if (s.sparse) HostOpenWindow(pmap->window, s.config.window_bytes);
    s.windows[i] = std::move(pmap);
    s.stats.pmaps++;
    return s.windows[i].get();
  }
  panic(
      "pmap_create: all %zu address-space windows are in use "
      "(KernelConfig::max_processes)",
      s.windows.size());
}

void pmap_destroy(struct pmap* pmap) {
  State& s = S();
  if (pmap == nullptr || !s.initialized || pmap->index >= s.windows.size() ||
      s.windows[pmap->index].get() != pmap) {
    panic("pmap_destroy: %p is not a pmap", static_cast<void*>(pmap));
  }
  if (!pmap->mappings.empty()) {
    panic(
        "pmap_destroy: pmap %p (process %d) still has %zu mappings, the "
        "first at va 0x%lx",
        static_cast<void*>(pmap), pmap->owner_id, pmap->mappings.size(),
        pmap->mappings.First()->va);
  }
  // No mapping is left: the window is all holes, and gets its
  // reservation back until a pmap takes it again.
  if (s.sparse) HostCloseWindow(pmap->window, s.config.window_bytes);
  s.windows[pmap->index].reset();
  s.stats.pmaps--;
}

int pmap_enter(struct pmap* pmap, vaddr_t va, paddr_t pa, vm_prot_t prot,
               unsigned int flags) {
  using namespace uvmemu::mmu::internal;
  CheckVa("pmap_enter", pmap, va);
  struct vm_page* pg = uvmemu::arena::PageByPhys(pa);
  if (pg == nullptr) panic("pmap_enter: pa 0x%lx is not a frame", pa);
  const vm_prot_t access = static_cast<vm_prot_t>(flags & PMAP_PROT_MASK);
  if ((access & ~prot) != 0) {
    panic("pmap_enter: access type 0x%x exceeds protection 0x%x", access, prot);
  }
  if ((prot & VM_PROT_ALL) == VM_PROT_NONE) {
    panic("pmap_enter: va 0x%lx entered with no protection", va);
  }

  // The access that caused the enter is the first reference (and, for a
  // write, the first modification): note it, so it does not fault again.
  PageState* ps = PageStateOf(pg);
  if (access != VM_PROT_NONE) ps->attrs |= kReferenced;
  if (access & VM_PROT_WRITE) ps->attrs |= kModified;

  auto [mp, inserted] = pmap->mappings.Insert(va);
  Mapping& m = *mp;
  bool remap = false;
  if (inserted) {
    m.pmap = pmap;
    m.pg = pg;
    PvInsert(m);
    S().stats.mappings++;
  } else if (m.pg != pg) {
    PvRemove(m);
    m.pg = pg;
    PvInsert(m);
    remap = true;
  }
  m.prot = prot & VM_PROT_ALL;
  m.wired = (flags & PMAP_WIRED) != 0;
  SetHostProt(m, HostProtFor(m.prot, ps->attrs), remap);
  return 0;
}

void pmap_remove(struct pmap* pmap, vaddr_t sva, vaddr_t eva) {
  using namespace uvmemu::mmu::internal;
  CheckRange("pmap_remove", pmap, sva, eva);
  // Every page of the range ends up reserved, so one re-reservation from
  // the first to the last established page covers them all.
  char* lo = nullptr;
  char* hi = nullptr;
  pmap->mappings.ForEach(sva, eva, [&](Mapping& m) {
    if (m.host_prot != VM_PROT_NONE) {
      RemoveResident(m);
      m.host_prot = VM_PROT_NONE;
      char* addr = HostAddress(pmap, m.va);
      if (lo == nullptr) lo = addr;
      hi = addr + PAGE_SIZE;
    }
    PvRemove(m);
    S().stats.mappings--;
  });
  if (lo != nullptr) HostReserve(lo, static_cast<size_t>(hi - lo), {});
  pmap->mappings.EraseRange(sva, eva);
}

void pmap_protect(struct pmap* pmap, vaddr_t sva, vaddr_t eva, vm_prot_t prot) {
  using namespace uvmemu::mmu::internal;
  CheckRange("pmap_protect", pmap, sva, eva);
  // As on x86: a protection without read access removes the mappings.
  if ((prot & VM_PROT_READ) == 0) {
    pmap_remove(pmap, sva, eva);
    return;
  }
  // pmap_protect only takes permission away: the new host protection is
  // what the current one and the reduced mapping have in common, so an
  // evicted or unreferenced page stays unmapped on the host.
  HostRuns runs(Exclusion{pmap, sva, eva});
  pmap->mappings.ForEach(sva, eva, [&](Mapping& m) {
    m.prot &= prot;
    const vm_prot_t want =
        m.host_prot & HostProtFor(m.prot, PageStateOf(m.pg)->attrs);
    if (want != m.host_prot) {
      // Only write permission can go: prot includes read.
      m.host_prot = want;
      runs.Add(HostAddress(pmap, m.va), want);
    } else if (m.host_prot != VM_PROT_NONE) {
      runs.Bridge(HostAddress(pmap, m.va), m.host_prot);
    }
  });
}

void pmap_unwire(struct pmap* pmap, vaddr_t va) {
  CheckVa("pmap_unwire", pmap, va);
  Mapping* m = pmap->mappings.Find(va);
  if (m == nullptr) panic("pmap_unwire: va 0x%lx is not mapped", va);
  m->wired = false;
}

bool pmap_extract(struct pmap* pmap, vaddr_t va, paddr_t* pap) {
  if (pmap == nullptr) panic("pmap_extract: null pmap");
  if (va >= S().config.window_bytes) return false;
  const Mapping* m = pmap->mappings.Find(trunc_page(va));
  if (m == nullptr) return false;
  if (pap != nullptr) *pap = VM_PAGE_TO_PHYS(m->pg) + (va & PAGE_MASK);
  return true;
}

// Every pmap operation takes effect at once on the host.
void pmap_update(struct pmap*) {}

char* pmap_window(struct pmap* pmap) { return pmap->window; }

vsize_t pmap_window_size(void) { return S().config.window_bytes; }

void pmap_set_owner(struct pmap* pmap, void* owner, int id) {
  pmap->owner = owner;
  pmap->owner_id = id;
}

void* pmap_owner(struct pmap* pmap) { return pmap->owner; }

int pmap_owner_id(struct pmap* pmap) { return pmap->owner_id; }
