// What the kernel services (mutexes, preempt) ask of the scheduler.
//
// On today's machine there is one CPU (cpu0) and one LWP (lwp0,
// emu/lwp.cc); the scheduler issue replaces emu/sched_single.cc with the
// fiber scheduler behind the same hooks.
#ifndef UVMEMU_EMU_SCHED_HOOKS_H
#define UVMEMU_EMU_SCHED_HOOKS_H

#include <cstdint>

#include <sys/mutex.h>

struct lwp;

namespace uvmemu::sched {

// mutex_enter() found `mtx` held by another LWP.  Returns when the caller
// should look again (the scheduler ran others meanwhile).  With no other
// LWP able to run this panics:
//   "deadlock: mutex 0x... held by LWP 2, no other LWP can run"
// (emu/sched_single.cc)
void BlockOnMutex(kmutex_t* mtx);

// The LWP that runs first (l_lid 1, "lwp0") on cpu0 (emu/lwp.cc).
struct lwp* Lwp0();

// Times preempt() has been called since the process started (emu/lwp.cc).
uint64_t PreemptCount();

// Set (on) or clear SPCF_SHOULDYIELD on the current CPU.  preempt()
// clears the flag, as a real switch does, unless it was set `sticky`;
// then it stays set until SetShouldYield(false).
void SetShouldYield(bool on, bool sticky = false);

}  // namespace uvmemu::sched

#endif  // UVMEMU_EMU_SCHED_HOOKS_H
