// CopyIn/CopyOut (emu/mmu.h): copies through a pmap's window with
// onfault recovery, as the kernel's copyin/copyout.
//
// The copy touches the window like any raw pointer would, so faults are
// resolved by UVM through the SIGSEGV handler; if UVM refuses one, the
// handler jumps back here instead of killing the process.
#include <sys/lwp.h>
#include <sys/systm.h>
#include <uvm/uvm_param.h>

#include <atomic>
#include <csetjmp>
#include <cstring>

#include "emu/mmu.h"
#include "emu/mmu_fault.h"
#include "emu/mmu_state.h"

namespace uvmemu::mmu {
namespace {

// The recovery point is per LWP (as the kernel's pcb_onfault): a copy
// may sleep in a fault while another LWP copies.
sigjmp_buf*& Onfault() {
  return *reinterpret_cast<sigjmp_buf**>(&curlwp->l_onfault);
}

// memcpy with onfault recovery: 0, or EFAULT if a fault was refused.
int GuardedCopy(void* dst, const void* src, size_t len) {
  sigjmp_buf env;
  sigjmp_buf* const outer = Onfault();
  // Saving the signal mask restores it after a jump out of the handler.
  if (sigsetjmp(env, 1) != 0) {
    Onfault() = outer;
    return EFAULT;
  }
  // The fences keep the compiler from moving the copy out from between
  // arming and disarming (or dropping the arming store as dead): the
  // handler, which reads the recovery point, runs "between" them.
  Onfault() = &env;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  std::memcpy(dst, src, len);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  Onfault() = outer;
  return 0;
}

// Whether [va, va + len) lies inside a window.
bool InWindow(struct pmap* pmap, vaddr_t va, size_t len) {
  const size_t window = internal::S().config.window_bytes;
  return pmap != nullptr && internal::S().initialized && len <= window &&
         va <= window - len;
}

}  // namespace

namespace internal {

bool OnfaultArmed() { return Onfault() != nullptr; }

void JumpToOnfault() { siglongjmp(*Onfault(), 1); }

}  // namespace internal

int CopyIn(struct pmap* pmap, vaddr_t va, void* dst, size_t len) {
  if (len == 0) return 0;
  if (!InWindow(pmap, va, len)) return EFAULT;
  return GuardedCopy(dst, internal::HostAddress(pmap, va), len);
}

int CopyOut(struct pmap* pmap, const void* src, vaddr_t va, size_t len) {
  if (len == 0) return 0;
  if (!InWindow(pmap, va, len)) return EFAULT;
  return GuardedCopy(internal::HostAddress(pmap, va), src, len);
}

}  // namespace uvmemu::mmu
