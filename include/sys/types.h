/*
 * NetBSD <sys/types.h> additions: the VM address and size types.
 */
#include_next <sys/types.h>

#ifndef UVMEMU_SYS_TYPES_H
#define UVMEMU_SYS_TYPES_H

#include <stdint.h>

typedef unsigned long	vaddr_t;	/* virtual address */
typedef unsigned long	vsize_t;	/* virtual size */
typedef unsigned long	paddr_t;	/* physical address */
typedef unsigned long	psize_t;	/* physical size */
typedef int64_t		voff_t;		/* offset into a uvm object */

#endif
