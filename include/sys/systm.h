/*
 * NetBSD <sys/systm.h>: panic, KASSERT and the libkern string routines.
 */
#ifndef UVMEMU_SYS_SYSTM_H
#define UVMEMU_SYS_SYSTM_H

#include <sys/types.h>
#include <sys/cdefs.h>
#include <string.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>

/* emu/panic.cc: print the message, the UVMHIST tail and a backtrace. */
[[noreturn]] void panic(const char *fmt, ...)
    __attribute__((__format__(__printf__, 1, 2)));
[[noreturn]] void kern_assert_failed(const char *expr, const char *file,
    int line, const char *func);

#define KASSERT(e)							\
	(__builtin_expect((e) != 0, 1) ? (void)0 :					\
	    kern_assert_failed(#e, __FILE__, __LINE__, __func__))
#define KDASSERT(e)	KASSERT(e)

#endif
