/*
 * NetBSD <sys/atomic.h>: the atomic operations the port uses, on the
 * compiler's builtins.
 */
#ifndef UVMEMU_SYS_ATOMIC_H
#define UVMEMU_SYS_ATOMIC_H

#include <sys/types.h>

static inline void
atomic_add_int(volatile unsigned int *p, int v)
{
	__atomic_fetch_add(p, (unsigned int)v, __ATOMIC_RELAXED);
}

static inline void
atomic_inc_uint(volatile unsigned int *p)
{
	__atomic_fetch_add(p, 1u, __ATOMIC_RELAXED);
}

static inline void
atomic_dec_uint(volatile unsigned int *p)
{
	__atomic_fetch_sub(p, 1u, __ATOMIC_RELAXED);
}

#endif
