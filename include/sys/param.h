/*
 * NetBSD <sys/param.h>: glibc's header plus the kernel's page constants.
 */
#include_next <sys/param.h>

#if defined(_KERNEL) && !defined(UVMEMU_SYS_PARAM_H)
#define UVMEMU_SYS_PARAM_H

#include <sys/types.h>
#include <sys/cdefs.h>
#include <uvm/uvm_param.h>

#endif
