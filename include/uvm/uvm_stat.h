/*
 * NetBSD <uvm/uvm_stat.h>: UVMHIST, the kernel's function-call history.
 *
 * Records of a call site (history, function name, printf format) and four
 * arguments go to a ring buffer (emu/hist.cc), written inline by
 * UVMHIST_LOG.  Logging costs one predictable branch when the history is
 * disabled.
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
 * what one UVMHIST_LOG call site always logs: a constant of its own
 * (made by the macro), so that a record stores one pointer for it.
 */
struct uvmhist_site {
	const struct kern_history *history;
	const char	*function;	/* UVMHIST_FUNC name */
	const char	*format;	/* printf-style format */
};

/*
 * The ring itself (emu/hist.cc owns and sizes it), so that UVMHIST_LOG
 * records inline: no call, no formatting, six stores.  The record with
 * sequence number n is buf[n & mask]; it is not stored, nor is a count:
 * the ring holds the newest min(seq, cap) records (the buffer, a power
 * of 2 records, holds at least cap).
 */
struct uvmhist_rec {
	const struct uvmhist_site *site;
	int		lwp;		/* LWP id that logged it */
	uint64_t	args[4];
};
struct uvmhist_ring {
	struct uvmhist_rec *buf;	/* mask + 1 records */
	uint64_t	mask;
	size_t		cap;		/* records kept */
	uint64_t	seq;		/* sequence number of the newest record */
};
extern struct uvmhist_ring uvmhist_ring;

static inline void
uvmhist_record(const struct uvmhist_site *site,
    uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	struct uvmhist_ring *r = &uvmhist_ring;
	const uint64_t seq = ++r->seq;
	struct uvmhist_rec *rec = &r->buf[seq & r->mask];

	rec->site = site;
	rec->lwp = curlwp->l_lid;	/* never NULL: lwp0 from the start */
	rec->args[0] = a;
	rec->args[1] = b;
	rec->args[2] = c;
	rec->args[3] = d;
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
	static constexpr const char *_uvmhist_name = FNAME
#define UVMHIST_LOG(NAME, FMT, A, B, C, D)				\
	do {								\
		static constexpr struct uvmhist_site _uvmhist_site =	\
		    { &(NAME), _uvmhist_name, (FMT) };			\
		if (__builtin_expect(uvmhist_enabled, 1))			\
			uvmhist_record(&_uvmhist_site,			\
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
