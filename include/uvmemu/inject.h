// Failure injection for the emulated kernel's allocations.
//
// Every allocation that is allowed to fail (kmem with KM_NOSLEEP, pool
// caches with PR_NOWAIT, and page allocation) is a "failure point".  The
// plan decides at each point whether it fails.  KM_SLEEP / PR_WAITOK
// allocations are never failure points: in the kernel they cannot fail.
//
//   uvmemu::FailurePlan plan;
//   plan.fail_nth = 3;                        // the third point fails
//   uvmemu::ScopedFailurePlan scoped(plan);   // active until scope exit
//   ... run kernel code ...
//   scoped.points_seen();                     // how many points were met
#ifndef UVMEMU_INJECT_H
#define UVMEMU_INJECT_H

#include <cstdint>
#include <functional>
#include <string>

namespace uvmemu {

// The kind of allocation a failure point belongs to.
enum class AllocKind { kKmem, kPool, kPage };

struct FailurePlan {
  // Fail the Nth failure point met (1-based); 0 disables.
  uint64_t fail_nth = 0;
  // Fail every point whose call site matches: a function name
  // ("amap_extend") or "function:line" ("amap_alloc1:204").  Empty
  // disables.
  std::string fail_site;
  // Fail each point with this probability, drawn from a generator seeded
  // with `seed` (the project's own SplitMix64, reproducible everywhere).
  double probability = 0.0;
  uint64_t seed = 0;
};

// Installs a plan for its lifetime; restores the previous one after.
class ScopedFailurePlan {
 public:
  explicit ScopedFailurePlan(const FailurePlan& plan);
  ~ScopedFailurePlan();
  ScopedFailurePlan(const ScopedFailurePlan&) = delete;
  ScopedFailurePlan& operator=(const ScopedFailurePlan&) = delete;

  // Failure points met and failures injected since this plan started.
  uint64_t points_seen() const;
  uint64_t failures_injected() const;
};

// Where the kernel is allocating, for an allocation hook.
struct AllocationSite {
  AllocKind kind;
  const char* function;  // the allocating function, e.g. "amap_alloc1"
  int line;
};

// Runs a callback at every allocation the kernel makes, sleeping or not,
// before it is satisfied: the moment at which a kernel path that dropped
// its locks to allocate is exposed to other LWPs.  With one LWP, a test
// uses it to play the other LWP (amap_copy allocates with the source
// amap unlocked; another reference may go away meanwhile).  The hook is
// not re-entered for allocations it makes itself.
class ScopedAllocationHook {
 public:
  explicit ScopedAllocationHook(std::function<void(const AllocationSite&)> hook);
  ~ScopedAllocationHook();
  ScopedAllocationHook(const ScopedAllocationHook&) = delete;
  ScopedAllocationHook& operator=(const ScopedAllocationHook&) = delete;

 private:
  std::function<void(const AllocationSite&)> previous_;
};

// Counts failure points met while no plan (or any plan) is active; used
// by sweeps to learn how many points an operation has.
uint64_t FailurePointsSeen();

}  // namespace uvmemu

#endif  // UVMEMU_INJECT_H
