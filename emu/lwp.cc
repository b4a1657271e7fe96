// The emulated machine's one CPU and its first LWP, preempt(), and the
// kernel's clock rate (sys/lwp.h, sys/kernel.h).
#include <cstdint>

#include <sys/kernel.h>
#include <sys/lwp.h>

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
};

uint64_t g_preempt_count = 0;
bool g_yield_sticky = false;

}  // namespace

// Constant-initialised, so valid before any static constructor runs.
struct lwp* uvmemu_curlwp = &lwp0;

void preempt(void) {
  g_preempt_count++;
  // The single-LWP machine has nobody to switch to; a switch would clear
  // the flag, so do that (unless the test asked for it to stay set).
  if (!g_yield_sticky)
    curcpu()->ci_schedstate.spc_flags &= ~SPCF_SHOULDYIELD;
}

namespace uvmemu::sched {

struct lwp* Lwp0() { return &lwp0; }

uint64_t PreemptCount() { return g_preempt_count; }

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
