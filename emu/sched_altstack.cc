// Signal alternate stacks and fibers (docs/scheduler.md, "Faults on
// fibers").
//
// The MMU's SIGSEGV handler runs on the thread's alternate stack and may
// sleep inside UVM (uvm_wait, a busy page), switching to another LWP
// with its frames still there.  The host kernel puts a new signal frame
// at the top of the configured alternate stack whenever the interrupted
// code is not already on it, so a fault taken by the next LWP would
// overwrite those frames.  Hence: an LWP that leaves the CPU inside the
// handler keeps the alternate stack it is on, and the next LWP to run
// installs another one (from a pool); when the holder runs again it
// reinstalls its own.  Nothing is done (no system call) unless an LWP
// actually sleeps inside the handler.
#include <signal.h>
#include <sys/mman.h>
#include <sys/systm.h>
#include <uvm/uvm_param.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "emu/sched_core.h"

namespace uvmemu::sched::internal {

struct AltStack {
  void* base = nullptr;
  size_t size = 0;
  Rec* holder = nullptr;  // an LWP whose handler frames are on it
};

namespace {

// As emu/mmu_signal.cc's: UVM's fault path, a panic report, sanitizers.
constexpr size_t kAltStackBytes = size_t{512} << 10;

std::vector<AltStack*>& Stacks() {
  static auto* stacks = new std::vector<AltStack*>;
  return *stacks;
}

AltStack* g_configured = nullptr;

AltStack* Configured() {
  if (g_configured == nullptr) {
    stack_t cur = {};
    if (sigaltstack(nullptr, &cur) != 0 || (cur.ss_flags & SS_DISABLE) != 0)
      return nullptr;  // no alternate stack: handlers run on the LWP's own
    g_configured = new AltStack{cur.ss_sp, cur.ss_size, nullptr};
    Stacks().push_back(g_configured);
  }
  return g_configured;
}

void Install(AltStack* a) {
  stack_t ss = {};
  ss.ss_sp = a->base;
  ss.ss_size = a->size;
  if (sigaltstack(&ss, nullptr) != 0)
    panic("sched: sigaltstack: %s", strerror(errno));
  g_configured = a;
}

AltStack* Unheld() {
  for (AltStack* a : Stacks())
    if (a->holder == nullptr && a != g_configured) return a;
  const size_t guard = PAGE_SIZE;
  void* mem = mmap(nullptr, guard + kAltStackBytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (mem == MAP_FAILED) panic("sched: alternate stack: %s", strerror(errno));
  mprotect(mem, guard, PROT_NONE);
  auto* a =
      new AltStack{static_cast<char*>(mem) + guard, kAltStackBytes, nullptr};
  Stacks().push_back(a);
  return a;
}

}  // namespace

void AltStackLeaving(Rec* r) {
  if (r->l->l_sigdepth == 0) return;
  AltStack* a = Configured();
  if (a == nullptr) return;
  a->holder = r;
  r->held_alt = a;
}

void AltStackArrived(Rec* r) {
  if (r->held_alt != nullptr) {
    AltStack* a = r->held_alt;
    r->held_alt = nullptr;
    a->holder = nullptr;
    if (a != g_configured) Install(a);
    return;
  }
  if (g_configured != nullptr && g_configured->holder != nullptr)
    Install(Unheld());
}

}  // namespace uvmemu::sched::internal
