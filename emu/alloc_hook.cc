// ScopedAllocationHook (uvmemu/inject.h) and the call every allocator
// makes to it (emu/inject_point.h) while one is installed.
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
    : previous_(std::exchange(Hook(), std::move(hook))) {
  inject::internal::g_alloc_hook_set = static_cast<bool>(Hook());
}

ScopedAllocationHook::~ScopedAllocationHook() {
  Hook() = std::move(previous_);
  inject::internal::g_alloc_hook_set = static_cast<bool>(Hook());
}

namespace inject::internal {

void RunAllocationHook(AllocKind kind, const kmem_site* site) {
  if (!Hook() || in_hook) return;
  in_hook = true;
  Hook()({kind, site != nullptr ? site->ks_func : "?",
          site != nullptr ? site->ks_line : 0});
  in_hook = false;
}

}  // namespace inject::internal
}  // namespace uvmemu
