// One pmap-level mapping of a page (see emu/mmu_state.h), and the
// budget's list of the mappings established on the host.
#ifndef UVMEMU_EMU_MMU_MAPPING_H
#define UVMEMU_EMU_MMU_MAPPING_H

#include <sys/types.h>
#include <uvm/uvm_param.h>

#include <boost/intrusive/list.hpp>

struct pmap;
struct vm_page;

namespace uvmemu::mmu::internal {

using ListHook = boost::intrusive::list_member_hook<
    boost::intrusive::link_mode<boost::intrusive::safe_link>>;

// One pmap-level mapping of a page at a va.  Lives in its pmap's page
// table (emu/pmap_table.h), at an address that is stable while it exists.
struct Mapping {
  ListHook resident_hook;  // on the budget's FIFO while host-mapped
  struct pmap* pmap = nullptr;
  vaddr_t va = 0;
  struct vm_page* pg = nullptr;
  vm_prot_t prot = VM_PROT_NONE;       // pmap-level protection
  vm_prot_t host_prot = VM_PROT_NONE;  // NONE, READ or READ|WRITE
  bool wired = false;
  bool evicted = false;  // host mapping dropped for the budget
};

using ResidentList = boost::intrusive::list<
    Mapping,
    boost::intrusive::member_hook<Mapping, ListHook, &Mapping::resident_hook>>;

}  // namespace uvmemu::mmu::internal

#endif  // UVMEMU_EMU_MMU_MAPPING_H
