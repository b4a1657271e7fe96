/*
 * NetBSD <uvm/uvm_stat.h>: UVMHIST, the kernel's function-call history.
 *
 * Records of a function name, a printf format and four arguments go to a
 * ring buffer (emu/hist.cc), written inline by UVMHIST_LOG.  Logging
 * costs one predictable branch when the history is disabled.
 */
#ifndef UVMEMU_UVM_STAT_H
#define UVMEMU_UVM_STAT_H

#include <sys/types.h>
#include <sys/cdefs.h>
#include <sys/lwp.h>
#include <stddef.h>
#include <stdint.h>
#include <type_traits>

struct kern_history {
	const char	*name;
};

/* emu/hist.cc */
extern bool uvmhist_enabled;
void	uvmhist_log(struct kern_history *, const char *fname,
	    const char *fmt, uint64_t, uint64_t, uint64_t, uint64_t);

/*
 * The ring itself (emu/hist.cc owns and sizes it), so that UVMHIST_LOG
 * records inline: no call, no formatting, a few stores.
 */
struct uvmhist_rec {
	uint64_t	seq;		/* global sequence number */
	int		lwp;		/* LWP id that logged it */
	const char	*history;	/* "maphist", ... */
	const char	*function;	/* UVMHIST_FUNC name */
	const char	*format;	/* printf-style format */
	uint64_t	args[4];
};
struct uvmhist_ring {
	struct uvmhist_rec *buf;	/* cap records */
	size_t		cap;
	size_t		next;		/* slot the next record goes to */
	size_t		count;		/* records held (<= cap) */
	uint64_t	seq;		/* sequence number of the newest record */
};
extern struct uvmhist_ring uvmhist_ring;

static inline void
uvmhist_record(const struct kern_history *hist, const char *fname,
    const char *fmt, uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	struct uvmhist_ring *r = &uvmhist_ring;
	struct uvmhist_rec *rec;
	const uint64_t seq = ++r->seq;

	if (r->cap == 0)
		return;
	rec = &r->buf[r->next];
	rec->seq = seq;
	rec->lwp = curlwp != NULL ? curlwp->l_lid : 0;
	rec->history = hist->name;
	rec->function = fname;
	rec->format = fmt;
	rec->args[0] = a;
	rec->args[1] = b;
	rec->args[2] = c;
	rec->args[3] = d;
	if (++r->next == r->cap)
		r->next = 0;
	if (r->count < r->cap)
		r->count++;
}

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
			uvmhist_record(&(NAME), _uvmhist_name, (FMT),	\
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
