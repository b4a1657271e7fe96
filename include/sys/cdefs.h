/*
 * NetBSD <sys/cdefs.h> additions on top of glibc's header of the same name.
 * glibc includes <sys/cdefs.h> itself, so this wrapper must stay harmless
 * for host code: the NetBSD macros are only added for kernel code.
 */
#include_next <sys/cdefs.h>

#if defined(_KERNEL) && !defined(UVMEMU_SYS_CDEFS_H)
#define UVMEMU_SYS_CDEFS_H

#define __KERNEL_RCSID(n, s)	\
	static const char __attribute__((__used__)) __rcsid_##n[] = s
#ifndef __predict_true
#define __predict_true(exp)	__builtin_expect((exp) != 0, 1)
#define __predict_false(exp)	__builtin_expect((exp) != 0, 0)
#endif
#define __UNCONST(a)		((void *)(unsigned long)(const void *)(a))
#define __unused		__attribute__((__unused__))
#define __cacheline_aligned	__attribute__((__aligned__(64)))

#endif
