/*
 * NetBSD <sys/pool.h>: pool caches of fixed-size objects, accounted and
 * failure-injected like kmem (emu/kmem.cc).
 */
#ifndef UVMEMU_SYS_POOL_H
#define UVMEMU_SYS_POOL_H

#include <sys/types.h>
#include <sys/kmem.h>

#define PR_WAITOK	0x01
#define PR_NOWAIT	0x02

struct pool_allocator;

struct pool_cache {
	const char	*pc_wchan;	/* name given at bootstrap */
	size_t		pc_size;	/* object size */
	long		pc_nout;	/* objects outstanding */
	long		pc_nget;	/* successful gets */
	long		pc_nfail;	/* failed (injected) gets */
	int		pc_ctor_called;	/* bootstrap done */
	int		(*pc_ctor)(void *, void *, int);
	void		(*pc_dtor)(void *, void *);
	void		*pc_arg;
	struct pool_cache *pc_next;	/* all pool caches */
};
typedef struct pool_cache *pool_cache_t;

void	pool_cache_bootstrap(struct pool_cache *, size_t, unsigned int,
	    unsigned int, int, const char *, struct pool_allocator *, int,
	    int (*)(void *, void *, int), void (*)(void *, void *), void *);
void	pool_cache_destroy(struct pool_cache *);
struct kmem_ptr	pool_cache_get_site(struct pool_cache *, int,
	    const struct kmem_site *);
void	pool_cache_put_site(struct pool_cache *, void *,
	    const struct kmem_site *);

#define pool_cache_get(pc, fl)	pool_cache_get_site((pc), (fl), KMEM_SITE())
#define pool_cache_put(pc, p)	pool_cache_put_site((pc), (p), KMEM_SITE())

#endif
