// The scheduler of the single-LWP machine: nobody else can run, so
// waiting for a mutex held by another LWP can never end.
#include <sys/lwp.h>
#include <sys/mutex.h>
#include <sys/systm.h>

#include "emu/sched_hooks.h"

namespace uvmemu::sched {

void BlockOnMutex(kmutex_t* mtx) {
  const struct lwp* owner = mtx->mtx_owner;
  panic("deadlock: mutex %p held by LWP %d, no other LWP can run",
        static_cast<void*>(mtx), owner != nullptr ? owner->l_lid : 0);
}

}  // namespace uvmemu::sched
