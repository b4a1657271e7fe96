// What the kernel services (mutexes, preempt, sleeps, failure points) ask
// of the scheduler (emu/sched.cc), and kernel threads.
//
// The machine has one CPU (cpu0).  lwp0 is the host thread that boots
// the kernel; other LWPs are fibers on the same thread (docs/scheduler.md).
#ifndef UVMEMU_EMU_SCHED_HOOKS_H
#define UVMEMU_EMU_SCHED_HOOKS_H

#include <sys/mutex.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

struct lwp;

namespace uvmemu::sched {

// mutex_enter() found `mtx` held by another LWP.  Returns when the caller
// should look again (the scheduler ran others meanwhile).  With no other
// LWP able to run this prints every LWP's state and panics:
//   "deadlock: mutex 0x... held by LWP 2, no other LWP can run"
void BlockOnMutex(kmutex_t* mtx);
// The current LWP took / released `mtx` (for the deadlock report).
// Releasing wakes the LWPs blocked on it; `switch_point` makes the
// release a switch point (mutex_exit may preempt).
void MutexAcquired(const kmutex_t* mtx);
// mutex_enter is about to take `mtx`: a switch point (another CPU could
// take it first).
void MutexEntering(kmutex_t* mtx);
void MutexReleased(kmutex_t* mtx, bool switch_point);

// The LWP that runs first (l_lid 1, "lwp0") on cpu0 (emu/lwp.cc).
struct lwp* Lwp0();

// Times preempt() has been called since the process started (emu/lwp.cc).
uint64_t PreemptCount();

// Set (on) or clear SPCF_SHOULDYIELD on the current CPU.  preempt() and
// a switch to another LWP clear the flag, as a real switch does, unless
// it was set `sticky`; then it stays set until SetShouldYield(false).
// (With a Scheduler whose YieldPolicy is not kManual, the policy sets
// the flag at every switch point instead.)
void SetShouldYield(bool on, bool sticky = false);
bool ShouldYieldSticky();

// A failure point decided `fail` (emu/inject.cc): logged as a decision;
// while a replay is followed, the replay's decision is returned instead.
bool FailureDecision(bool fail);

// Kernel threads: LWPs that are not waited for by Scheduler::Run and live
// across sessions (the page daemon).  The body should loop until
// StopRequested() and sleep between rounds; StopKernelThread() asks it
// to stop, wakes it (wakeup on the channel it sleeps on) and waits for it
// to end.  Returns the lid.
int SpawnKernelThread(const std::string& name, std::function<void()> body);
bool StopRequested();
void StopKernelThread(int lid);

// Gives a wait channel a name for deadlock reports ("uvmexp.free").
void NameChannel(const void* wchan, const char* name);

// Whether any LWP other than the current one exists (that could, some
// day, run and free what the current one waits for).
bool OtherLwpsExist();

// Called by panic(): prints the replay string of the session in progress.
void PrintPanicNote(std::FILE* out);

}  // namespace uvmemu::sched

#endif  // UVMEMU_EMU_SCHED_HOOKS_H
