/*
 * NetBSD <uvm/uvm_stat.h>: UVMHIST, the kernel's function-call history.
 *
 * Records of a function name, a printf format and four arguments go to a
 * ring buffer (emu/hist.cc).  Logging costs one predictable branch when
 * the history is disabled.
 */
#ifndef UVMEMU_UVM_STAT_H
#define UVMEMU_UVM_STAT_H

#include <sys/types.h>
#include <sys/cdefs.h>
#include <stdint.h>
#include <type_traits>

struct kern_history {
	const char	*name;
};

/* emu/hist.cc */
extern bool uvmhist_enabled;
void	uvmhist_log(struct kern_history *, const char *fname,
	    const char *fmt, uint64_t, uint64_t, uint64_t, uint64_t);

/* Arguments are pointers or integers; store either as 64 bits. */
template <class T>
static inline uint64_t
uvmhist_arg(T v)
{
	if constexpr (std::is_pointer_v<T>)
		return (uint64_t)(uintptr_t)v;
	else if constexpr (std::is_enum_v<T>)
		return (uint64_t)(int64_t)v;
	else
		return (uint64_t)v;
}

extern struct kern_history maphist;
extern struct kern_history pdhist;

#define UVMHIST_DECL(NAME)	struct kern_history NAME = { #NAME }

/* the bare benchmark build (bench/bare) compiles the history out */
#ifdef UVMEMU_NO_UVMHIST
#undef UVMHIST
#endif

#ifdef UVMHIST
#define UVMHIST_FUNC(FNAME)						\
	static const char *const _uvmhist_name = FNAME
#define UVMHIST_LOG(NAME, FMT, A, B, C, D)				\
	do {								\
		if (__builtin_expect(uvmhist_enabled, 0))			\
			uvmhist_log(&(NAME), _uvmhist_name, (FMT),	\
			    uvmhist_arg(A), uvmhist_arg(B),		\
			    uvmhist_arg(C), uvmhist_arg(D));		\
	} while (/*CONSTCOND*/0)
#define UVMHIST_CALLED(NAME)						\
	UVMHIST_LOG(NAME, "called!", 0, 0, 0, 0)
#else
#define UVMHIST_FUNC(FNAME)
#define UVMHIST_LOG(NAME, FMT, A, B, C, D)	do { } while (0)
#define UVMHIST_CALLED(NAME)			do { } while (0)
#endif

#endif
