// The single question every fallible allocation asks (emu/inject.cc).
#ifndef UVMEMU_EMU_INJECT_POINT_H
#define UVMEMU_EMU_INJECT_POINT_H

#include "uvmemu/inject.h"

struct kmem_site;

namespace uvmemu::inject {

// Called once per failure point (KM_NOSLEEP kmem, PR_NOWAIT pool, page
// allocation).  Returns true if the active plan makes this one fail.
bool ShouldFail(AllocKind kind, const kmem_site* site);

namespace internal {
// Whether a ScopedAllocationHook is installed (emu/alloc_hook.cc): read
// inline so that an allocation with no hook makes no call.
inline bool g_alloc_hook_set = false;
void RunAllocationHook(AllocKind kind, const kmem_site* site);
}  // namespace internal

// Called at every allocation, fallible or not, before it is attempted:
// runs the ScopedAllocationHook, if any.
inline void OnAllocation(AllocKind kind, const kmem_site* site) {
  if (internal::g_alloc_hook_set) internal::RunAllocationHook(kind, site);
}

}  // namespace uvmemu::inject

#endif  // UVMEMU_EMU_INJECT_POINT_H
