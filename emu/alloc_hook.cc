// ScopedAllocationHook (uvmemu/inject.h) and the call every allocator
// makes to it (emu/inject_point.h).
#include <sys/kmem.h>

#include <utility>

#include "emu/inject_point.h"
#include "uvmemu/inject.h"

namespace uvmemu {
namespace {

std::function<void(const AllocationSite&)>& Hook() {
  static std::function<void(const AllocationSite&)> hook;
  return hook;
}

bool in_hook = false;

}  // namespace

ScopedAllocationHook::ScopedAllocationHook(
    std::function<void(const AllocationSite&)> hook)
    : previous_(std::exchange(Hook(), std::move(hook))) {}

ScopedAllocationHook::~ScopedAllocationHook() { Hook() = std::move(previous_); }

namespace inject {

void OnAllocation(AllocKind kind, const kmem_site* site) {
  if (!Hook() || in_hook) return;
  in_hook = true;
  Hook()({kind, site != nullptr ? site->ks_func : "?",
          site != nullptr ? site->ks_line : 0});
  in_hook = false;
}

}  // namespace inject
}  // namespace uvmemu
