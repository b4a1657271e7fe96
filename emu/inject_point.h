// The single question every fallible allocation asks (emu/inject.cc).
#ifndef UVMEMU_EMU_INJECT_POINT_H
#define UVMEMU_EMU_INJECT_POINT_H

#include "uvmemu/inject.h"

struct kmem_site;

namespace uvmemu::inject {

// Called once per failure point (KM_NOSLEEP kmem, PR_NOWAIT pool, page
// allocation).  Returns true if the active plan makes this one fail.
bool ShouldFail(AllocKind kind, const kmem_site* site);

// Called at every allocation, fallible or not, before it is attempted:
// runs the ScopedAllocationHook, if any.
void OnAllocation(AllocKind kind, const kmem_site* site);

}  // namespace uvmemu::inject

#endif  // UVMEMU_EMU_INJECT_POINT_H
