// Kernel mutexes with real owner tracking (sys/mutex.h).
//
// The owner is the LWP (curlwp) that entered the mutex.  Misuse panics as
// a LOCKDEBUG kernel would: entering a mutex one owns, exiting one not
// owned, destroying a held mutex, or touching a mutex that was never
// initialised or has been destroyed (its magic is wrong).  A mutex held
// by another LWP is waited for through the scheduler
// (uvmemu::sched::BlockOnMutex), which reports a deadlock when no other
// LWP can run.  curlwp->l_nlocks counts the mutexes the LWP holds.
// mutex_enter (before taking the mutex) and mutex_exit are switch points:
// the scheduler may run another LWP there, as another CPU would.  While
// lwp0 runs alone outside a scheduling session nothing can switch or
// block, and sys/mutex.h does the uncontended case inline; these are
// the checked paths it falls back to.
//
// mutex_init() of a mutex that is already initialised simply
// re-initialises it: the kernel is rebooted per test and the port
// re-initialises its global locks (amap_list_lock) at every boot.
#include <sys/lwp.h>
#include <sys/mutex.h>
#include <sys/systm.h>

#include "emu/sched_hooks.h"

namespace {

int Lid(const struct lwp* l) { return l != nullptr ? l->l_lid : 0; }

void CheckMagic(const kmutex_t* mtx, const char* who) {
  if (mtx == nullptr) panic("%s: NULL mutex", who);
  if (mtx->mtx_magic != MUTEX_MAGIC)
    panic(
        "%s: mutex %p is not initialised (magic %#x): never "
        "mutex_init()ed, destroyed, or overwritten",
        who, static_cast<const void*>(mtx), mtx->mtx_magic);
}

}  // namespace

void mutex_init(kmutex_t* mtx, kmutex_type_t type, int ipl) {
  (void)type;
  if (mtx == nullptr) panic("mutex_init: NULL mutex");
  mtx->mtx_owner = nullptr;
  mtx->mtx_magic = MUTEX_MAGIC;
  mtx->mtx_ipl = ipl;
  mtx->mtx_waiters = 0;
}

void mutex_destroy(kmutex_t* mtx) {
  CheckMagic(mtx, "mutex_destroy");
  if (mtx->mtx_owner != nullptr)
    panic("mutex_destroy: mutex %p is held by LWP %d", static_cast<void*>(mtx),
          Lid(mtx->mtx_owner));
  mtx->mtx_magic = 0;
}

void uvmemu_mutex_enter_slow(kmutex_t* mtx) {
  CheckMagic(mtx, "mutex_enter");
  if (mtx->mtx_owner == curlwp)
    panic("mutex_enter: locking against myself: mutex %p, LWP %d",
          static_cast<void*>(mtx), Lid(curlwp));
  uvmemu::sched::MutexEntering(mtx);
  while (mtx->mtx_owner != nullptr) {
    uvmemu::sched::BlockOnMutex(mtx);
    CheckMagic(mtx, "mutex_enter");  // destroyed while we waited?
  }
  mtx->mtx_owner = curlwp;
  curlwp->l_nlocks++;
  uvmemu::sched::MutexAcquired(mtx);
}

void uvmemu_mutex_exit_slow(kmutex_t* mtx) {
  CheckMagic(mtx, "mutex_exit");
  if (mtx->mtx_owner != curlwp) {
    if (mtx->mtx_owner == nullptr)
      panic("mutex_exit: not owner: mutex %p is not held (exit by LWP %d)",
            static_cast<void*>(mtx), Lid(curlwp));
    panic("mutex_exit: not owner: mutex %p is held by LWP %d, exit by LWP %d",
          static_cast<void*>(mtx), Lid(mtx->mtx_owner), Lid(curlwp));
  }
  mtx->mtx_owner = nullptr;
  curlwp->l_nlocks--;
  uvmemu::sched::MutexReleased(mtx, /*switch_point=*/true);
}

int mutex_tryenter(kmutex_t* mtx) {
  CheckMagic(mtx, "mutex_tryenter");
  if (mtx->mtx_owner != nullptr) return 0;
  mtx->mtx_owner = curlwp;
  curlwp->l_nlocks++;
  uvmemu::sched::MutexAcquired(mtx);
  return 1;
}

int uvmemu_mutex_owned_slow(const kmutex_t* mtx) {
  CheckMagic(mtx, "mutex_owned");
  return mtx->mtx_owner != nullptr && mtx->mtx_owner == curlwp;
}

struct lwp* mutex_owner(const kmutex_t* mtx) {
  CheckMagic(mtx, "mutex_owner");
  return mtx->mtx_owner;
}
