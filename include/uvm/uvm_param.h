/*
 * NetBSD <uvm/uvm_param.h>: page size, protections and inheritance.
 */
#ifndef UVMEMU_UVM_PARAM_H
#define UVMEMU_UVM_PARAM_H

#include <sys/types.h>

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1 << PAGE_SHIFT)
#define PAGE_MASK	(PAGE_SIZE - 1)

#define atop(x)		((unsigned long)(x) >> PAGE_SHIFT)
#define ptoa(x)		((unsigned long)(x) << PAGE_SHIFT)
#define round_page(x)	(((unsigned long)(x) + PAGE_MASK) & ~(unsigned long)PAGE_MASK)
#define trunc_page(x)	((unsigned long)(x) & ~(unsigned long)PAGE_MASK)

#ifndef roundup
#define roundup(x, y)	((((x) + ((y) - 1)) / (y)) * (y))
#endif

typedef int vm_prot_t;
#define VM_PROT_NONE	((vm_prot_t)0x00)
#define VM_PROT_READ	((vm_prot_t)0x01)
#define VM_PROT_WRITE	((vm_prot_t)0x02)
#define VM_PROT_EXECUTE	((vm_prot_t)0x04)
#define VM_PROT_ALL	(VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXECUTE)

typedef int vm_inherit_t;
#define MAP_INHERIT_SHARE	((vm_inherit_t)0)
#define MAP_INHERIT_COPY	((vm_inherit_t)1)
#define MAP_INHERIT_NONE	((vm_inherit_t)2)
#define MAP_INHERIT_DONATE_COPY	((vm_inherit_t)3)

#endif
