/*
 * NetBSD <sys/kmem.h>: the kernel memory allocator, with per-call-site
 * accounting, failure injection and, with kmem debugging on (the
 * default), poisoning and a quarantine (emu/kmem.cc, emu/kmem_debug.h).
 *
 * kmem_alloc() returns a kmem_ptr rather than void *: C lets an untyped
 * allocation be assigned to any object pointer and the port's lines do
 * so, which C++ only allows through a conversion operator.
 */
#ifndef UVMEMU_SYS_KMEM_H
#define UVMEMU_SYS_KMEM_H

#include <sys/types.h>
#include <stddef.h>

typedef unsigned int km_flag_t;
#define KM_SLEEP	0x00000001	/* may sleep; never fails */
#define KM_NOSLEEP	0x00000002	/* must not sleep; may fail */

/* Where an allocation was made: the unit failure injection names. */
struct kmem_site {
	const char	*ks_file;
	const char	*ks_func;
	int		ks_line;
};

#define KMEM_SITE()							\
	({ static const struct kmem_site __kmem_site =			\
	    { __FILE__, __func__, __LINE__ }; &__kmem_site; })

struct kmem_ptr {
	void *kp_ptr;
	template <class T> operator T *() const
	{
		return static_cast<T *>(kp_ptr);
	}
};

struct kmem_ptr	kmem_alloc_site(size_t, km_flag_t, const struct kmem_site *);
struct kmem_ptr	kmem_zalloc_site(size_t, km_flag_t, const struct kmem_site *);
void		kmem_free_site(void *, size_t, const struct kmem_site *);
size_t		kmem_roundup_size(size_t);

#define kmem_alloc(sz, fl)	kmem_alloc_site((sz), (fl), KMEM_SITE())
#define kmem_zalloc(sz, fl)	kmem_zalloc_site((sz), (fl), KMEM_SITE())
#define kmem_free(p, sz)	kmem_free_site((p), (sz), KMEM_SITE())

#endif
