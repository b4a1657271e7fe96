/*
 * NetBSD <sys/lwp.h> and <sys/sched.h>: the LWP and per-CPU scheduler
 * state the port reads (curlwp->l_cpu->ci_schedstate.spc_flags) and
 * preempt().  On this single-CPU emulated machine the scheduler
 * (emu/sched.cc) runs LWPs as fibers on one host thread: it sets curlwp
 * and SPCF_SHOULDYIELD at every switch (docs/scheduler.md).
 */
#ifndef UVMEMU_SYS_LWP_H
#define UVMEMU_SYS_LWP_H

#include <sys/types.h>

#define SPCF_SEENRR		0x0001
#define SPCF_SHOULDYIELD	0x0002

struct schedstate_percpu {
	int	spc_flags;
};

struct cpu_info {
	struct schedstate_percpu ci_schedstate;
	int	ci_index;
};

struct lwp {
	struct cpu_info	*l_cpu;
	int		l_lid;		/* LWP id, as shown in traces */
	const char	*l_name;
	int		l_nlocks;	/* kmutexes held */
	const void	*l_wchan;	/* wait channel, if sleeping */
	const char	*l_wmesg;	/* wait message, if sleeping */
	void		*l_sched;	/* the scheduler's record (emu/sched) */
	void		*l_onfault;	/* copyin/copyout recovery (pcb_onfault) */
	int		l_sigdepth;	/* SIGSEGV handler frames on the alt stack */
	uintptr_t	l_faultaddr;	/* address of the fault being handled */
};

/* The running LWP; set by the scheduler at every switch. */
extern struct lwp *uvmemu_curlwp;
#define curlwp		uvmemu_curlwp
#define curcpu()	(curlwp->l_cpu)

/* Offer the CPU to another LWP (a switch point). */
void	preempt(void);

#endif
