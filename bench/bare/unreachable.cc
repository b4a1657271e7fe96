// Stand-ins for the parts of the kernel the bare build leaves out (pages,
// pmaps, swap, faults).  The amap benchmarks never reach them: anons
// without pages, maps without pmaps.  Reaching one is a bug in a
// benchmark and panics, naming it.
#include <sys/mutex.h>
#include <sys/systm.h>

#include "uvm/uvm.h"

#define UNREACHABLE(what) panic("bare build: %s is not part of it", what)

struct uvmexp uvmexp;
unsigned int uvm_extrapages;
kmutex_t uvm_pageqlock;

struct pmap* pmap_create(void) {
  UNREACHABLE("pmap_create");
}
void pmap_destroy(struct pmap*) { UNREACHABLE("pmap_destroy"); }
void pmap_remove(struct pmap*, vaddr_t, vaddr_t) { UNREACHABLE("pmap_remove"); }
void pmap_protect(struct pmap*, vaddr_t, vaddr_t, vm_prot_t) {
  UNREACHABLE("pmap_protect");
}
void pmap_page_protect(struct vm_page*, vm_prot_t) {
  UNREACHABLE("pmap_page_protect");
}
void pmap_update(struct pmap*) { UNREACHABLE("pmap_update"); }
void pmap_set_owner(struct pmap*, void*, int) { UNREACHABLE("pmap_set_owner"); }

int uvm_fault_wire(struct vm_map*, vaddr_t, vaddr_t, vm_prot_t) {
  UNREACHABLE("uvm_fault_wire");
}
void uvm_fault_unwire_locked(struct vm_map*, vaddr_t, vaddr_t) {
  UNREACHABLE("uvm_fault_unwire_locked");
}

struct vm_page* uvm_pagealloc(struct uvm_object*, voff_t, struct vm_anon*,
                              int) {
  UNREACHABLE("uvm_pagealloc");
}
void uvm_pagefree(struct vm_page*) { UNREACHABLE("uvm_pagefree"); }
void uvm_pagecopy(struct vm_page*, struct vm_page*) {
  UNREACHABLE("uvm_pagecopy");
}
void uvm_pageactivate(struct vm_page*) { UNREACHABLE("uvm_pageactivate"); }
void uvm_pagedeactivate(struct vm_page*) { UNREACHABLE("uvm_pagedeactivate"); }
void uvm_page_own(struct vm_page*, const char*) { UNREACHABLE("uvm_page_own"); }
void* uvm_pagedata(struct vm_page*) { UNREACHABLE("uvm_pagedata"); }
void uvm_wait(const char*) { UNREACHABLE("uvm_wait"); }
void uvm_unlock_and_wait(void*, kmutex_t*, bool, const char*, int) {
  UNREACHABLE("uvm_unlock_and_wait");
}

void uvm_swap_free(int, int) { UNREACHABLE("uvm_swap_free"); }
void uvm_swap_get(int, void*) { UNREACHABLE("uvm_swap_get"); }
int uvmfault_anonget(struct uvm_faultinfo*, struct vm_amap*, struct vm_anon*) {
  UNREACHABLE("uvmfault_anonget");
}
