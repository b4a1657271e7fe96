/*
 * NetBSD <uvm/uvm_fault.h>: the page fault handler (lib/uvm_fault.cc),
 * for anonymous memory.
 */
#ifndef UVMEMU_UVM_FAULT_H
#define UVMEMU_UVM_FAULT_H

#include <sys/types.h>
#include <uvm/uvm_param.h>

struct vm_map;
struct vm_amap;
struct vm_anon;
struct uvm_faultinfo;

#ifndef ERESTART
#define ERESTART	(-1)	/* restart the fault */
#endif

/*
 * resolve a fault at va in map for access_type (VM_PROT_READ or
 * VM_PROT_WRITE): 0, or EFAULT (no entry), EACCES (protection), ENOMEM.
 */
int	uvm_fault(struct vm_map *, vaddr_t, vm_prot_t);

/*
 * get an anon's page, reading it back from swap if need be: 0 (page
 * resident and unbusy, everything still locked), or ERESTART (we slept:
 * everything was unlocked) or ENOMEM (no memory, and none can be
 * reclaimed: everything was unlocked).  ufi and amap may be NULL.
 */
int	uvmfault_anonget(struct uvm_faultinfo *, struct vm_amap *,
	    struct vm_anon *);

/* boot: register uvm_fault as the MMU's fault hook */
void	uvm_fault_init(void);

/* wire / unwire the pages of [start, end): fault them in, wired */
int	uvm_fault_wire(struct vm_map *, vaddr_t, vaddr_t, vm_prot_t);
void	uvm_fault_unwire(struct vm_map *, vaddr_t, vaddr_t);
/* the same with the map already locked by the caller */
void	uvm_fault_unwire_locked(struct vm_map *, vaddr_t, vaddr_t);

#endif
