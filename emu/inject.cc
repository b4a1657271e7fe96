// Failure injection (include/uvmemu/inject.h, emu/inject_point.h).
//
// Plans form a stack: the innermost ScopedFailurePlan is the active one;
// when it ends the one it was nested in is active again.  Every failure
// point met is counted by every plan on the stack ("points met since this
// plan started") and by the process-wide FailurePointsSeen(); likewise
// every injected failure is counted by every plan on the stack.  Only the
// active plan decides.
//
// The decision at a point, for the active plan with n = points it has
// counted including this one:
//   - fail if plan.fail_nth != 0 and n == plan.fail_nth;
//   - fail if plan.fail_site names the site: equal to the site's function
//     name, or to "function:line" with the line in decimal;
//   - if plan.probability > 0, draw u from the plan's generator (a draw
//     is made at every point, whatever the other rules said, so the
//     sequence depends only on the seed and the point number) and fail
//     if u < plan.probability.
// The generator is SplitMix64 (Steele, Lea, Flood 2014) with its state
// starting at plan.seed:
//   state += 0x9e3779b97f4a7c15;
//   z = state;
//   z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
//   z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
//   return z ^ (z >> 31);
// and u = (next() >> 11) * 2^-53, uniform in [0, 1).
//
// Each injected failure is logged to maphist under the function name
// "inject": "injected failure #F at point #N (kind K), line L", where F
// and N count from the start of the active plan and K is the AllocKind
// (0 kmem, 1 pool, 2 page).  Every decision also goes to the scheduler's
// decision log (uvmemu::Scheduler), and a replay string (UVMEMU_REPLAY)
// replaces the plan's decisions with the recorded ones.
#include "uvmemu/inject.h"

#include <sys/kmem.h>
#include <uvm/uvm_stat.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "emu/inject_point.h"
#include "emu/sched_hooks.h"

namespace {

struct Frame {
  const uvmemu::ScopedFailurePlan* owner;
  uvmemu::FailurePlan plan;
  uint64_t points = 0;
  uint64_t failures = 0;
  uint64_t rng_state = 0;
};

std::vector<Frame>& Plans() {
  static std::vector<Frame>* plans = new std::vector<Frame>;
  return *plans;
}

uint64_t g_points_seen = 0;

uint64_t SplitMix64Next(uint64_t& state) {
  state += 0x9e3779b97f4a7c15ULL;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

bool SiteMatches(const std::string& want, const kmem_site* site) {
  if (want.empty() || site == nullptr || site->ks_func == nullptr) return false;
  const size_t colon = want.find(':');
  if (colon == std::string::npos) return want == site->ks_func;
  return want.compare(0, colon, site->ks_func) == 0 &&
         std::strlen(site->ks_func) == colon &&
         want.compare(colon + 1, std::string::npos,
                      std::to_string(site->ks_line)) == 0;
}

Frame* FindFrame(const uvmemu::ScopedFailurePlan* owner) {
  for (Frame& f : Plans())
    if (f.owner == owner) return &f;
  return nullptr;
}

}  // namespace

namespace uvmemu {

ScopedFailurePlan::ScopedFailurePlan(const FailurePlan& plan) {
  Frame f;
  f.owner = this;
  f.plan = plan;
  f.rng_state = plan.seed;
  Plans().push_back(std::move(f));
}

ScopedFailurePlan::~ScopedFailurePlan() {
  // Normally the top of the stack; erase wherever it is so an
  // out-of-order destruction leaves the others intact.
  std::vector<Frame>& plans = Plans();
  for (auto it = plans.end(); it != plans.begin();) {
    --it;
    if (it->owner == this) {
      plans.erase(it);
      break;
    }
  }
}

uint64_t ScopedFailurePlan::points_seen() const {
  const Frame* f = FindFrame(this);
  return f != nullptr ? f->points : 0;
}

uint64_t ScopedFailurePlan::failures_injected() const {
  const Frame* f = FindFrame(this);
  return f != nullptr ? f->failures : 0;
}

uint64_t FailurePointsSeen() { return g_points_seen; }

namespace inject {

bool ShouldFail(AllocKind kind, const kmem_site* site) {
  g_points_seen++;
  std::vector<Frame>& plans = Plans();
  if (plans.empty()) {
    if (!uvmemu::sched::FailureDecision(false)) return false;
    uvmhist_log(&maphist, "inject", "replayed failure (kind %d), line %d",
                static_cast<uint64_t>(kind),
                site != nullptr ? static_cast<uint64_t>(site->ks_line) : 0, 0,
                0);
    return true;
  }
  for (Frame& f : plans) f.points++;

  Frame& top = plans.back();
  const FailurePlan& plan = top.plan;
  bool fail = false;
  if (plan.fail_nth != 0 && top.points == plan.fail_nth) fail = true;
  if (!plan.fail_site.empty() && SiteMatches(plan.fail_site, site)) fail = true;
  if (plan.probability > 0.0) {
    const double u =
        static_cast<double>(SplitMix64Next(top.rng_state) >> 11) * 0x1.0p-53;
    if (u < plan.probability) fail = true;
  }
  // the scheduler's decision log records it (and a replay overrides it)
  fail = uvmemu::sched::FailureDecision(fail);
  if (!fail) return false;

  for (Frame& f : plans) f.failures++;
  uvmhist_log(&maphist, "inject",
              "injected failure #%d at point #%d (kind %d), line %d",
              top.failures, top.points, static_cast<uint64_t>(kind),
              site != nullptr
                  ? static_cast<uint64_t>(static_cast<int64_t>(site->ks_line))
                  : 0);
  return true;
}

}  // namespace inject
}  // namespace uvmemu
