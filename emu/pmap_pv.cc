// Page-centric pmap operations (uvm/uvm_pmap.h) through each page's pv
// list: pmap_page_protect and the emulated referenced/modified bits, and
// the pmap_page_protect log of emu/pmap_log.h.
//
// Referenced/modified emulation, as on hardware without those bits: a
// page that is not referenced is not mapped on the host at all, and one
// that is not modified is mapped read-only, so the first access (the
// first write) faults and the handler notes the bit.  Clearing a bit
// takes the permission away again.
#include <sys/systm.h>
#include <uvm/uvm_page.h>
#include <uvm/uvm_pmap.h>

#include <deque>
#include <utility>
#include <vector>

#include "emu/mmu_state.h"
#include "emu/pmap_log.h"

using uvmemu::mmu::internal::Mapping;
using uvmemu::mmu::internal::PageState;
using uvmemu::mmu::internal::PageStateOf;

namespace {

constexpr size_t kMaxLog = 65536;

struct Log {
  std::deque<std::pair<const vm_page*, vm_prot_t>> calls;
  uint64_t total = 0;
};

Log& TheLog() {
  static Log log;
  return log;
}

void Record(const vm_page* pg, vm_prot_t prot) {
  Log& log = TheLog();
  log.total++;
  if (log.calls.size() == kMaxLog) log.calls.pop_front();
  log.calls.emplace_back(pg, prot);
}

}  // namespace

void pmap_page_protect(struct vm_page* pg, vm_prot_t prot) {
  using namespace uvmemu::mmu::internal;
  Record(pg, prot);
  // A page that is not in the arena (or any page while the MMU is down)
  // has no mappings.
  PageState* ps = PageStateOf(pg);
  if (ps == nullptr || (prot & VM_PROT_WRITE) != 0) return;

  if ((prot & (VM_PROT_READ | VM_PROT_EXECUTE)) != 0) {
    // Copy-on-write: every mapping loses write permission.
    for (Mapping* m : ps->pv) {
      m->prot &= ~VM_PROT_WRITE;
      if (m->host_prot & VM_PROT_WRITE) SetHostProt(*m, VM_PROT_READ, false);
    }
    return;
  }
  while (!ps->pv.empty()) {
    Mapping& m = *ps->pv.front();
    SetHostProt(m, VM_PROT_NONE, false);
    ForgetMapping(m);
  }
}

bool pmap_is_modified(struct vm_page* pg) {
  using namespace uvmemu::mmu::internal;
  const PageState* ps = PageStateOf(pg);
  return ps != nullptr && (ps->attrs & kModified) != 0;
}

bool pmap_is_referenced(struct vm_page* pg) {
  using namespace uvmemu::mmu::internal;
  const PageState* ps = PageStateOf(pg);
  return ps != nullptr && (ps->attrs & kReferenced) != 0;
}

bool pmap_clear_modify(struct vm_page* pg) {
  using namespace uvmemu::mmu::internal;
  PageState* ps = PageStateOf(pg);
  if (ps == nullptr) return false;
  const bool was = (ps->attrs & kModified) != 0;
  ps->attrs &= ~kModified;
  // The next write through any mapping must fault to set the bit again.
  for (Mapping* m : ps->pv) {
    if (m->host_prot & VM_PROT_WRITE) SetHostProt(*m, VM_PROT_READ, false);
  }
  return was;
}

bool pmap_clear_reference(struct vm_page* pg) {
  using namespace uvmemu::mmu::internal;
  PageState* ps = PageStateOf(pg);
  if (ps == nullptr) return false;
  const bool was = (ps->attrs & kReferenced) != 0;
  ps->attrs &= ~kReferenced;
  // The next access through any mapping must fault to set the bit again.
  for (Mapping* m : ps->pv) SetHostProt(*m, VM_PROT_NONE, false);
  return was;
}

namespace uvmemu::pmap {

std::vector<std::pair<const vm_page*, vm_prot_t>> ProtectLog() {
  const Log& log = TheLog();
  return {log.calls.begin(), log.calls.end()};
}

void ClearProtectLog() { TheLog().calls.clear(); }

uint64_t ProtectCount() { return TheLog().total; }

}  // namespace uvmemu::pmap
