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

#include <sys/types.h>
#include <stdbool.h>

struct lwp;

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
void	mutex_enter(kmutex_t *);
void	mutex_exit(kmutex_t *);
int	mutex_tryenter(kmutex_t *);
int	mutex_owned(const kmutex_t *);
struct lwp *mutex_owner(const kmutex_t *);

#endif
