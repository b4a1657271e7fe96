/*
 * NetBSD <sys/condvar.h>: condition variables, on the scheduler's sleep
 * queues (the condvar's address is the wait channel).
 */
#ifndef UVMEMU_SYS_CONDVAR_H
#define UVMEMU_SYS_CONDVAR_H

#include <sys/mutex.h>

typedef struct kcondvar {
	const char	*cv_wmesg;
} kcondvar_t;

void	cv_init(kcondvar_t *, const char *);
void	cv_destroy(kcondvar_t *);
/* release mtx, sleep until signalled, re-take mtx */
void	cv_wait(kcondvar_t *, kmutex_t *);
/* as cv_wait; EWOULDBLOCK after timo ticks (0: no timeout) */
int	cv_timedwait(kcondvar_t *, kmutex_t *, int);
void	cv_signal(kcondvar_t *);
void	cv_broadcast(kcondvar_t *);
bool	cv_has_waiters(kcondvar_t *);

#endif
