/*
 * NetBSD <sys/mutex.h>: kernel mutexes with real owner tracking.
 *
 * mutex_owned() is true only for the owning LWP; entering a mutex one
 * already owns, or exiting one owned by another LWP, panics.  Contention
 * is handed to the scheduler (emu/sched), which on a machine without
 * other runnable LWPs reports the deadlock instead of hanging.
 */
#ifndef UVMEMU_SYS_MUTEX_H
#define UVMEMU_SYS_MUTEX_H

#include <sys/lwp.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum kmutex_type_t {
	MUTEX_DEFAULT = 0,
	MUTEX_SPIN = 1,
	MUTEX_ADAPTIVE = 2
} kmutex_type_t;

#define IPL_NONE	0
#define IPL_VM		6

/* kept trivial: the port memset()s structures that embed a kmutex */
typedef struct kmutex {
	struct lwp	*mtx_owner;
	unsigned int	mtx_magic;	/* MUTEX_MAGIC while initialised */
	int		mtx_ipl;
	int		mtx_waiters;	/* LWPs blocked in mutex_enter */
} kmutex_t;

#define MUTEX_MAGIC	0x6d757478u	/* "mutx" */

void	mutex_init(kmutex_t *, kmutex_type_t, int);
void	mutex_destroy(kmutex_t *);
int	mutex_tryenter(kmutex_t *);
struct lwp *mutex_owner(const kmutex_t *);

#ifdef UVMEMU_BARE
/* the bare benchmark build's floor: record the owner, check nothing */
static inline void
mutex_enter(kmutex_t *mtx)
{
	mtx->mtx_owner = curlwp;
}

static inline void
mutex_exit(kmutex_t *mtx)
{
	mtx->mtx_owner = NULL;
}

static inline int
mutex_owned(const kmutex_t *mtx)
{
	return mtx->mtx_owner == curlwp;
}
#else
/*
 * nonzero while lwp0 is the only LWP and no scheduling session runs
 * (set by emu/sched.cc): a mutex operation then is no switch point and
 * cannot block, so the uncontended case is done inline.  anything else
 * (misuse included, which panics there) takes the checked path.
 */
extern int uvmemu_mutex_fast;

void	uvmemu_mutex_enter_slow(kmutex_t *);
void	uvmemu_mutex_exit_slow(kmutex_t *);
int	uvmemu_mutex_owned_slow(const kmutex_t *);

static inline void
mutex_enter(kmutex_t *mtx)
{
	struct lwp *l = curlwp;

	if (__builtin_expect(uvmemu_mutex_fast && mtx != NULL &&
	    mtx->mtx_magic == MUTEX_MAGIC && mtx->mtx_owner == NULL, 1)) {
		mtx->mtx_owner = l;
		l->l_nlocks++;
		return;
	}
	uvmemu_mutex_enter_slow(mtx);
}

/*
 * owned by us implies initialised (a held mutex cannot be destroyed, and
 * an overwritten one has lost its owner too), and with lwp0 alone nobody
 * can be waiting: the owner is all there is to check.
 */
static inline void
mutex_exit(kmutex_t *mtx)
{
	struct lwp *l = curlwp;

	if (__builtin_expect(uvmemu_mutex_fast && mtx != NULL &&
	    mtx->mtx_owner == l, 1)) {
		mtx->mtx_owner = NULL;
		l->l_nlocks--;
		return;
	}
	uvmemu_mutex_exit_slow(mtx);
}

static inline int
mutex_owned(const kmutex_t *mtx)
{
	if (__builtin_expect(mtx != NULL && mtx->mtx_magic == MUTEX_MAGIC, 1))
		return mtx->mtx_owner != NULL && mtx->mtx_owner == curlwp;
	return uvmemu_mutex_owned_slow(mtx);
}
#endif

#endif
