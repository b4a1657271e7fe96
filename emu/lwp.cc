// The emulated machine's one CPU and its first LWP, preempt(), and the
// kernel's clock rate (sys/lwp.h, sys/kernel.h).  Other LWPs are fibers
// made by the scheduler (emu/sched.cc).
#include <sys/kernel.h>
#include <sys/lwp.h>

#include <cstdint>

#include "emu/sched_core.h"
#include "emu/sched_hooks.h"

int hz = 100;

namespace {

struct cpu_info cpu0 = {
    /* ci_schedstate */ {/* spc_flags */ 0},
    /* ci_index */ 0,
};

struct lwp lwp0 = {
    /* l_cpu */ &cpu0,
    /* l_lid */ 1,
    /* l_name */ "lwp0",
    /* l_nlocks */ 0,
    /* l_wchan */ nullptr,
    /* l_wmesg */ nullptr,
    /* l_sched */ nullptr,
    /* l_onfault */ nullptr,
    /* l_sigdepth */ 0,
    /* l_faultaddr */ 0,
};

uint64_t g_preempt_count = 0;
bool g_yield_sticky = false;

}  // namespace

// Constant-initialised, so valid before any static constructor runs.
struct lwp* uvmemu_curlwp = &lwp0;

void preempt(void) {
  g_preempt_count++;
  // Yielding clears the flag, as a switch does (unless the test asked for
  // it to stay set); then the scheduler may run another LWP and, under a
  // yield policy, set the flag again.
  if (!g_yield_sticky) curcpu()->ci_schedstate.spc_flags &= ~SPCF_SHOULDYIELD;
  uvmemu::sched::internal::SwitchPoint(uvmemu::Decision::Kind::kPreempt);
}

namespace uvmemu::sched {

struct lwp* Lwp0() {
  return &lwp0;
}

uint64_t PreemptCount() { return g_preempt_count; }

bool ShouldYieldSticky() { return g_yield_sticky; }

void SetShouldYield(bool on, bool sticky) {
  if (on) {
    curcpu()->ci_schedstate.spc_flags |= SPCF_SHOULDYIELD;
    g_yield_sticky = sticky;
  } else {
    curcpu()->ci_schedstate.spc_flags &= ~SPCF_SHOULDYIELD;
    g_yield_sticky = false;
  }
}

}  // namespace uvmemu::sched
