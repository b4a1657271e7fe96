// The MMU's SIGSEGV handler: the emulated machine's page-fault trap.
//
// A fault inside the reservation is either referenced/modified emulation
// or the refill of an evicted host mapping (the pmap already allows the
// access: fix the host side and retry), or a real page fault, which goes
// to UVM through the fault hook.  What UVM refuses ends a CopyIn/CopyOut
// with EFAULT, or else kills the process as an emulated segmentation
// violation.  A fault outside the reservation is not ours: the previous
// action is put back and the access retried, so it crashes (or reaches a
// sanitizer's handler) exactly as it would have without the MMU.
//
// The handler runs with SA_NODEFER, so a fault inside it (a bug in the
// MMU or in UVM touching emulated memory) reaches the recursion guard
// instead of silently killing the process.
//
// Sanitizers: ASan and UBSan install their own SIGSEGV handler.  With
// GCC 12's libasan, handle_segv=1 (the default) lets a program replace
// it; handle_segv=2, or allow_user_segv_handler=0 (which upgrades 1 to
// 2), silently ignores the program's sigaction(), and Init then panics
// saying so.  The test presets set ASAN_OPTIONS=allow_user_segv_handler=1
// (deprecated, and with this libasan a no-op) to be explicit; a
// UBSan-only build reads the same options from UBSAN_OPTIONS.  The
// sanitizer's handler is then the "previous action" that genuine crashes
// are passed to, so they are still reported as sanitizer SEGVs.
//
// Fibers: the handler may sleep inside UVM (uvm_wait, a busy page) and
// the scheduler run other LWPs meanwhile; it keeps the alternate stack
// holding a sleeping handler's frames out of use until that LWP runs
// again (emu/sched_altstack.cc, docs/scheduler.md).
#include <sys/lwp.h>
#include <sys/mman.h>
#include <sys/systm.h>
#include <ucontext.h>
#include <unistd.h>
#include <uvm/uvm_pmap.h>
#if defined(__aarch64__)
#include <asm/sigcontext.h>  // _aarch64_ctx, ESR_MAGIC, esr_context
#endif

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "emu/gdb_support.h"
#include "emu/mmu_fault.h"
#include "emu/mmu_state.h"
#include "emu/sched_hooks.h"
#include "uvmemu/trace.h"

namespace uvmemu::mmu::internal {
namespace {

uvm_fault_hook_t g_hook = nullptr;
struct sigaction g_previous;  // the action InstallFaultHandler replaced
bool g_installed = false;

// Large enough for UVM's fault path, a panic report and sanitizer frames.
constexpr size_t kAltStackBytes = size_t{512} << 10;
constexpr size_t kTraceTail = 16;
// Faults UVM may "resolve" in a row at one va without mapping it before
// the handler calls it a livelock.
constexpr int kMaxFruitlessRetries = 1000;

enum class Access { kRead, kWrite, kUnknown };

// The access type of the faulting instruction, from the machine context.
Access DecodeAccess(const void* context) {
#if defined(__x86_64__)
  const auto* uc = static_cast<const ucontext_t*>(context);
  if (uc->uc_mcontext.gregs[REG_TRAPNO] != 14) return Access::kUnknown;
  return (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0 ? Access::kWrite
                                                   : Access::kRead;
#elif defined(__aarch64__)
  // The ESR record in __reserved: a data abort (EC 0x24/0x25) with WnR
  // set and CM (cache maintenance) clear is a write.
  const auto* uc = static_cast<const ucontext_t*>(context);
  const uint8_t* p = uc->uc_mcontext.__reserved;
  const uint8_t* end = p + sizeof(uc->uc_mcontext.__reserved);
  while (p + sizeof(_aarch64_ctx) <= end) {
    const auto* head = reinterpret_cast<const _aarch64_ctx*>(p);
    if (head->magic == 0 || head->size == 0) break;
    if (head->magic == ESR_MAGIC) {
      const uint64_t esr = reinterpret_cast<const esr_context*>(p)->esr;
      const uint64_t ec = esr >> 26;
      if (ec != 0x24 && ec != 0x25) return Access::kUnknown;
      return (esr & (1u << 6)) != 0 && (esr & (1u << 8)) == 0 ? Access::kWrite
                                                              : Access::kRead;
    }
    p += head->size;
  }
  return Access::kUnknown;
#else
  (void)context;
  return Access::kUnknown;
#endif
}

// The access to report: a page the host already lets us read can only
// fault on a write (this also corrects atomics that report as reads).
vm_prot_t AccessFor(Access decoded, vm_prot_t host_prot) {
  if (decoded == Access::kWrite || host_prot != VM_PROT_NONE) {
    return VM_PROT_WRITE;
  }
  return VM_PROT_READ;
}

// The recursion guard: an LWP that faults again while its own fault is
// being handled (a bug in the MMU or in UVM touching emulated memory)
// aborts.  Other LWPs may fault meanwhile: the handler can sleep inside
// UVM and the scheduler run them (docs/scheduler.md).  Per LWP, and a
// scope, so that a panic thrown out of UVM (ScopedPanicThrows) leaves
// the guard consistent.
class HandlerScope {
 public:
  explicit HandlerScope(uintptr_t addr);
  ~HandlerScope() { lwp_->l_sigdepth--; }
  HandlerScope(const HandlerScope&) = delete;
  HandlerScope& operator=(const HandlerScope&) = delete;

 private:
  struct lwp* const lwp_;
};

HandlerScope::HandlerScope(uintptr_t addr) : lwp_(curlwp) {
  if (lwp_->l_sigdepth > 0) {
    char msg[200];
    const int n =
        std::snprintf(msg, sizeof msg,
                      "mmu: fault at 0x%lx while handling the fault at 0x%lx "
                      "(recursive MMU fault); aborting\n",
                      static_cast<unsigned long>(addr),
                      static_cast<unsigned long>(lwp_->l_faultaddr));
    if (n > 0) (void)!write(STDERR_FILENO, msg, static_cast<size_t>(n));
    std::abort();
  }
  lwp_->l_sigdepth++;
  lwp_->l_faultaddr = addr;
}

// Counts hook "successes" that did not map the page: a hook that keeps
// returning 0 without mapping would otherwise retry forever, silently.
thread_local const struct pmap* t_fruitless_pmap = nullptr;
thread_local vaddr_t t_fruitless_va = 0;
thread_local int t_fruitless = 0;

void CheckProgress(struct pmap* pmap, vaddr_t va, vm_prot_t access) {
  const Mapping* m = pmap->mappings.Find(va);
  if (m != nullptr && ProtAllows(m->prot, access)) {
    t_fruitless = 0;
    return;
  }
  if (pmap != t_fruitless_pmap || va != t_fruitless_va) t_fruitless = 0;
  t_fruitless_pmap = pmap;
  t_fruitless_va = va;
  if (++t_fruitless == kMaxFruitlessRetries) {
    panic(
        "mmu: the fault hook resolved va 0x%lx (%s) %d times without "
        "mapping it",
        va, access & VM_PROT_WRITE ? "write" : "read", t_fruitless);
  }
}

// Referenced/modified emulation or a refill: the pmap allows the access,
// the host mapping did not.
void Emulate(Mapping& m, vm_prot_t access) {
  State& s = S();
  PageState* ps = PageStateOf(m.pg);
  ps->attrs |= kReferenced;
  if (access & VM_PROT_WRITE) ps->attrs |= kModified;
  const vm_prot_t want = HostProtFor(m.prot, ps->attrs);
  if (want == m.host_prot) {
    panic(
        "mmu: %s fault at va 0x%lx of process %d, but the host mapping "
        "already allows it (host 0x%x, pmap 0x%x)",
        access & VM_PROT_WRITE ? "write" : "read", m.va, m.pmap->owner_id,
        m.host_prot, m.prot);
  }
  if (m.evicted) {
    s.stats.refills++;
  } else {
    s.stats.refmod_faults++;
  }
  SetHostProt(m, want, false);
}

struct Fault {
  size_t window = 0;
  struct pmap* pmap = nullptr;
  vaddr_t va = 0;
  uintptr_t offset = 0;  // in the window, unrounded
  vm_prot_t access = VM_PROT_READ;
  int error = 0;
};

// Resolves a fault at addr inside the reservation.
Fault Resolve(uintptr_t addr, Access decoded) {
  State& s = S();
  s.stats.faults++;
  Fault f;
  const uintptr_t off = addr - reinterpret_cast<uintptr_t>(s.base);
  f.window = off / s.config.window_bytes;
  f.offset = off % s.config.window_bytes;
  f.va = trunc_page(f.offset);
  f.pmap = s.windows[f.window].get();
  if (f.pmap == nullptr) {
    f.access = AccessFor(decoded, VM_PROT_NONE);
    f.error = EFAULT;
    return f;
  }
  Mapping* m = f.pmap->mappings.Find(f.va);
  f.access = AccessFor(decoded, m != nullptr ? m->host_prot : VM_PROT_NONE);
  if (m != nullptr && ProtAllows(m->prot, f.access)) {
    Emulate(*m, f.access);
    return f;
  }
  s.stats.uvm_faults++;
  f.error = g_hook != nullptr ? g_hook(f.pmap, f.va, f.access) : EFAULT;
  if (f.error == 0) CheckProgress(f.pmap, f.va, f.access);
  return f;
}

// Reports an emulated segmentation violation and arranges for the
// process to die of SIGSEGV when the access is retried.
void Die(const Fault& f) {
  const char* kind = f.access & VM_PROT_WRITE ? "write" : "read";
  uvmemu_emulated_segv(f.offset, f.pmap != nullptr ? f.pmap->owner_id : 0,
                       (f.access & VM_PROT_WRITE) != 0);
  std::fflush(stdout);
  if (f.pmap != nullptr) {
    std::fprintf(stderr,
                 "emulated segmentation violation at va 0x%lx in process %d "
                 "(%s access): %s\n",
                 static_cast<unsigned long>(f.offset), f.pmap->owner_id, kind,
                 strerror(f.error));
  } else {
    std::fprintf(stderr,
                 "emulated segmentation violation at va 0x%lx in window %zu, "
                 "which has no address space (%s access): %s\n",
                 static_cast<unsigned long>(f.offset), f.window, kind,
                 strerror(f.error));
  }
  std::fprintf(stderr, "--- last %zu UVMHIST records, oldest first ---\n",
               kTraceTail);
  std::fflush(stderr);
  Trace::Print(std::cerr, kTraceTail);
  std::cerr.flush();
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGSEGV, &dfl, nullptr);
  g_installed = false;
}

void OnSigsegv(int, siginfo_t* info, void* context) {
  // Copy what we need before doing anything that could fault again.
  const int saved_errno = errno;
  const uintptr_t addr = reinterpret_cast<uintptr_t>(info->si_addr);
  const bool from_kernel = info->si_code > 0;  // not kill() or raise()
  const Access decoded = DecodeAccess(context);

  const State& s = S();
  const uintptr_t base = reinterpret_cast<uintptr_t>(s.base);
  if (!from_kernel || !s.initialized || addr < base ||
      addr - base >= s.reservation_bytes) {
    // Not ours: retry under the previous action, to crash genuinely,
    // after saying which schedule got here (a replay reproduces it).
    if (from_kernel) {
      sched::PrintPanicNote(stderr);
      uvmemu_foreign_segv(addr);
    }
    RestoreFaultHandler();
    errno = saved_errno;
    return;
  }

  Fault f;
  {
    HandlerScope scope(addr);
    f = Resolve(addr, decoded);
  }
  if (f.error != 0) {
    if (OnfaultArmed()) JumpToOnfault();
    Die(f);
  }
  errno = saved_errno;
}

// Gives the calling thread an alternate signal stack, once: the handler
// must run even when the fault is a stack overflow, and UVM's fault path
// must not run on a small fiber stack.  The stack is never freed (it must
// outlive any signal the thread takes).
void EnsureAltStack() {
  thread_local bool done = false;
  if (done) return;
  stack_t current;
  if (sigaltstack(nullptr, &current) == 0 &&
      (current.ss_flags & SS_DISABLE) == 0 &&
      current.ss_size >= kAltStackBytes) {
    done = true;
    return;
  }
  const size_t guard = PAGE_SIZE;
  void* mem = mmap(nullptr, guard + kAltStackBytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (mem == MAP_FAILED) panic("mmu: alternate stack: %s", strerror(errno));
  mprotect(mem, guard, PROT_NONE);  // overflow faults instead of corrupting
  stack_t ss = {};
  ss.ss_sp = static_cast<char*>(mem) + guard;
  ss.ss_size = kAltStackBytes;
  if (sigaltstack(&ss, nullptr) != 0) {
    panic("mmu: sigaltstack: %s", strerror(errno));
  }
  done = true;
}

}  // namespace

void InstallFaultHandler() {
  EnsureAltStack();
  struct sigaction sa = {};
  sa.sa_sigaction = OnSigsegv;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  struct sigaction previous;
  if (sigaction(SIGSEGV, &sa, &previous) != 0) {
    panic("mmu: sigaction(SIGSEGV): %s", strerror(errno));
  }
  const auto is_ours = [](const struct sigaction& action) {
    return (action.sa_flags & SA_SIGINFO) != 0 &&
           action.sa_sigaction == OnSigsegv;
  };
  if (!is_ours(previous)) g_previous = previous;
  // A sanitizer that keeps SIGSEGV for itself ignores sigaction() without
  // failing it; every emulated fault would then be reported as a crash.
  struct sigaction now = {};
  sigaction(SIGSEGV, nullptr, &now);
  if (!is_ours(now)) {
    panic(
        "mmu: the SIGSEGV handler did not take effect (a sanitizer "
        "keeps SIGSEGV? run with ASAN_OPTIONS=handle_segv=1 or "
        "allow_user_segv_handler=1, UBSAN_OPTIONS likewise)");
  }
  g_installed = true;
}

void RestoreFaultHandler() {
  if (!g_installed) return;
  sigaction(SIGSEGV, &g_previous, nullptr);
  g_installed = false;
}

}  // namespace uvmemu::mmu::internal

void pmap_set_fault_hook(uvm_fault_hook_t hook) {
  uvmemu::mmu::internal::g_hook = hook;
}
