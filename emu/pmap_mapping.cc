// Per-mapping primitives of the software MMU (see emu/mmu_state.h): the
// host protection a mapping should have, and changing it on the host.
#include <sys/systm.h>
#include <uvm/uvm_page.h>

#include <algorithm>

#include "emu/host_budget.h"
#include "emu/host_vm.h"
#include "emu/mmu_state.h"

namespace uvmemu::mmu::internal {

State& S() {
  static State state;
  return state;
}

char* HostAddress(const struct pmap* pmap, vaddr_t va) {
  return pmap->window + va;
}

PageState* PageStateOf(const struct vm_page* pg) {
  State& s = S();
  if (!s.initialized || pg < s.pages || pg >= s.pages + s.npages) {
    return nullptr;
  }
  return &s.page_state[static_cast<size_t>(pg - s.pages)];
}

vm_prot_t HostProtFor(vm_prot_t prot, uint8_t attrs) {
  if ((attrs & kReferenced) == 0 || prot == VM_PROT_NONE) {
    return VM_PROT_NONE;
  }
  if ((prot & VM_PROT_WRITE) != 0 && (attrs & kModified) != 0) {
    return VM_PROT_READ | VM_PROT_WRITE;
  }
  return VM_PROT_READ;
}

bool ProtAllows(vm_prot_t prot, vm_prot_t access) {
  if (access & VM_PROT_WRITE) return (prot & VM_PROT_WRITE) != 0;
  return prot != VM_PROT_NONE;
}

namespace {

// Whether m's frame can be mapped by extending the host mapping of the
// page before it (HostExtendMapping): sparse windows, and the previous
// page is on the host with the same protection and the frame before m's.
// The page allocator hands out ascending runs of frames, so a range
// faulted in address order meets this for all but its first page.
bool ExtendsPrevious(const Mapping& m, vm_prot_t want) {
  if (!S().sparse || m.va == 0) return false;
  const Mapping* prev = m.pmap->mappings.Find(m.va - PAGE_SIZE);
  return prev != nullptr && prev->host_prot == want &&
         VM_PAGE_TO_PHYS(prev->pg) + PAGE_SIZE == VM_PAGE_TO_PHYS(m.pg);
}

}  // namespace

void SetHostProt(Mapping& m, vm_prot_t want, bool remap) {
  char* const addr = HostAddress(m.pmap, m.va);
  const Exclusion keep{m.pmap, m.va, m.va + PAGE_SIZE};
  if (want == VM_PROT_NONE) {
    if (m.host_prot != VM_PROT_NONE) {
      RemoveResident(m);
      m.host_prot = VM_PROT_NONE;
      HostReserve(addr, PAGE_SIZE, keep);
    }
  } else if (m.host_prot == VM_PROT_NONE) {
    MakeRoom(1);  // may evict the previous page: ask after it
    if (!ExtendsPrevious(m, want) || !HostExtendMapping(addr)) {
      HostMapFrame(addr, want, VM_PAGE_TO_PHYS(m.pg), false, keep);
    }
    m.host_prot = want;
    AddResident(m);
  } else if (remap) {
    HostMapFrame(addr, want, VM_PAGE_TO_PHYS(m.pg), true, keep);
    m.host_prot = want;
    TouchResident(m);
  } else if (want != m.host_prot) {
    HostProtect(addr, PAGE_SIZE, want, keep);
    m.host_prot = want;
  }
  m.evicted = false;
}

void PvInsert(Mapping& m) { PageStateOf(m.pg)->pv.push_back(&m); }

void PvRemove(Mapping& m) {
  std::vector<Mapping*>& pv = PageStateOf(m.pg)->pv;
  auto it = std::find(pv.begin(), pv.end(), &m);
  if (it == pv.end()) {
    panic("mmu: va 0x%lx of pmap %p is missing from its page's pv list", m.va,
          static_cast<void*>(m.pmap));
  }
  pv.erase(it);  // keeps the others in order: deterministic walks
}

void ForgetMapping(Mapping& m) {
  if (m.host_prot != VM_PROT_NONE) {
    panic("mmu: forgetting va 0x%lx while it is mapped on the host", m.va);
  }
  PvRemove(m);
  S().stats.mappings--;
  m.pmap->mappings.Erase(m.va);
}

}  // namespace uvmemu::mmu::internal
