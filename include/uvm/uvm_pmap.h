/*
 * NetBSD <uvm/uvm_pmap.h>: the machine-dependent layer, implemented by
 * the software MMU (emu/pmap*.cc).
 *
 * Each pmap owns a window of a large PROT_NONE host reservation: va in a
 * pmap lives at host address pmap_window(pmap) + va.  A mapping is a real
 * mmap(MAP_FIXED | MAP_SHARED) of the page's frame in the physical
 * arena's memfd, so one frame can be mapped in several pmaps at once.
 * (With sparse windows, the default, a window in use keeps no
 * reservation where nothing is mapped; see docs/mmu.md.)
 * Referenced and modified bits are emulated by withholding permission.
 */
#ifndef UVMEMU_UVM_PMAP_H
#define UVMEMU_UVM_PMAP_H

#include <sys/types.h>
#include <stdbool.h>
#include <uvm/uvm_param.h>

struct vm_page;
struct pmap;

/* pmap_enter flags: the low bits are the access type that caused it */
#define PMAP_PROT_MASK	VM_PROT_ALL
#define PMAP_WIRED	0x00000010	/* wired mapping */
#define PMAP_CANFAIL	0x00000020	/* can fail if resource shortage */

struct pmap	*pmap_create(void);
void		pmap_destroy(struct pmap *);	/* must hold no mappings */
int		pmap_enter(struct pmap *, vaddr_t, paddr_t, vm_prot_t,
		    unsigned int);
void		pmap_remove(struct pmap *, vaddr_t, vaddr_t);
void		pmap_protect(struct pmap *, vaddr_t, vaddr_t, vm_prot_t);
void		pmap_page_protect(struct vm_page *, vm_prot_t);
void		pmap_unwire(struct pmap *, vaddr_t);
bool		pmap_extract(struct pmap *, vaddr_t, paddr_t *);
bool		pmap_is_modified(struct vm_page *);
bool		pmap_is_referenced(struct vm_page *);
bool		pmap_clear_modify(struct vm_page *);
bool		pmap_clear_reference(struct vm_page *);
void		pmap_update(struct pmap *);

/* uvmemu: where a pmap's window starts, and how large windows are */
char		*pmap_window(struct pmap *);
vsize_t		pmap_window_size(void);
/* uvmemu: an owner cookie and name for fault routing and messages */
void		pmap_set_owner(struct pmap *, void *, int);
void		*pmap_owner(struct pmap *);
int		pmap_owner_id(struct pmap *);

/*
 * uvmemu: the single upward call from the MMU into UVM.  The SIGSEGV
 * handler calls it for a fault the pmap cannot satisfy from its own
 * state (no mapping, or one whose protection forbids the access); 0
 * means resolved (retry the access), an errno means refused.
 */
typedef int (*uvm_fault_hook_t)(struct pmap *, vaddr_t, vm_prot_t);
void		pmap_set_fault_hook(uvm_fault_hook_t);

#endif
