/*
 * NetBSD <sys/proc.h>: sleeping on a wait channel and waking it.
 *
 * The scheduler (emu/sched.cc) runs LWPs as fibers; a sleep is a switch
 * point.  Wait channels are compared for equality only, never ordered,
 * so no decision depends on an address.  Timeouts are in ticks of the
 * scheduler's virtual clock, which advances only when no LWP can run.
 */
#ifndef UVMEMU_SYS_PROC_H
#define UVMEMU_SYS_PROC_H

#include <sys/lwp.h>
#include <sys/mutex.h>

typedef const void *wchan_t;

/* sleep priorities (only PNORELOCK changes behaviour here) */
#define PVM		4
#define PRIBIO		16
#define PPAUSE		40
#define PNORELOCK	0x100	/* mtsleep: don't re-take the interlock */

/*
 * sleep on chan until woken or timo ticks pass (0: no timeout).
 * mtsleep releases mtx once asleep (no wakeup can be lost in between)
 * and re-takes it on waking unless PNORELOCK.  they return 0 when
 * woken, EWOULDBLOCK on timeout.
 */
int	tsleep(wchan_t, int, const char *, int);
int	mtsleep(wchan_t, int, const char *, int, kmutex_t *);
/* make every (wakeup) or the first (wakeup_one) sleeper on chan runnable */
void	wakeup(wchan_t);
void	wakeup_one(wchan_t);
/* sleep for timo ticks, releasing mtx (if any) meanwhile */
int	kpause(const char *, bool, int, kmutex_t *);

#endif
