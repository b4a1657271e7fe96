// The deterministic scheduler: LWPs as fibers on one host thread.
//
// The emulated machine has one CPU.  The thread that boots the kernel is
// lwp0; more LWPs run as fibers, switched only at the kernel's switch
// points (mutex_enter, before taking the mutex and when it is held,
// mutex_exit, preempt(), sleeps, LWP exit): every interleaving of lock
// operations that several CPUs could produce is a schedule.  Which LWP runs at
// each point, and whether SPCF_SHOULDYIELD is set, is chosen by a policy from a
// seed, so a run is a pure function of (test, options) and can be replayed from
// a one-line string.
//
//   uvmemu::Scheduler sched({.policy = uvmemu::SchedPolicy::kRandom,
//                            .seed = 7});
//   sched.Spawn("a", [&] { mutex_enter(&m); ...; mutex_exit(&m); });
//   sched.Spawn("b", [&] { ... });
//   absl::Status s = sched.Run();        // lwp0 waits for a and b
//   std::string replay = sched.ReplayString();
//
// Explore() runs a test body under many schedules and reports the first
// failing one with its replay string; UVMEMU_REPLAY=<string> in the
// environment makes Explore (and every Scheduler) follow that string.
// See docs/scheduler.md.
#ifndef UVMEMU_SCHEDULER_H
#define UVMEMU_SCHEDULER_H

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace uvmemu {

enum class SchedPolicy {
  kFifo,    // run to block; preempt() yields to the head of the run queue
  kRandom,  // uniform choice at every switch point (seeded)
  kPct,     // probabilistic concurrency testing with depth pct_depth
  kDfs,     // systematic: only through Explore()
};

// When SPCF_SHOULDYIELD is set for the LWP that runs after a switch point.
enum class YieldPolicy {
  kManual,  // left to sched::SetShouldYield (the default)
  kNever,
  kAlways,
  kEveryN,    // at every yield_every-th switch point
  kClock,     // after the LWP ran yield_every switch points with others
              // runnable (sched_tick's time slice on the virtual clock)
  kExplorer,  // chosen by the policy (coin flip, or a DFS branch)
};

struct ScheduleOptions {
  SchedPolicy policy = SchedPolicy::kFifo;
  uint64_t seed = 1;
  // PCT: bug depth d (d - 1 priority change points) and the expected
  // number of switch points k the change points are drawn from.
  int pct_depth = 2;
  uint64_t pct_steps = 100;
  YieldPolicy yield = YieldPolicy::kManual;
  uint64_t yield_every = 1;
  // Follow this replay string.  Empty: UVMEMU_REPLAY from the
  // environment, if set and replay_from_env.
  std::string replay = {};
  bool replay_from_env = true;
  // A run taking more switch points than this is reported as a livelock.
  uint64_t max_steps = 2'000'000;
};

// One decision of a run.
struct Decision {
  enum class Kind : char {
    kBlock = 'b',      // mutex_enter found the mutex held
    kEnter = 'e',      // mutex_enter, before taking the mutex (another
                       // CPU may take it first)
    kMutexExit = 'm',  // mutex_exit (may preempt)
    kPreempt = 'p',    // preempt(), or uvm_wait returning at once
    kSleep = 's',      // tsleep/mtsleep/cv_wait/uvm_wait/kpause
    kExit = 'x',       // an LWP ended
    kFailure = 'F',    // an allocation failure was injected
  };
  uint64_t step = 0;  // switch point number (failure point for kFailure)
  Kind kind = Kind::kPreempt;
  int lid = 0;                // the LWP chosen to run
  std::vector<int> runnable;  // the LWPs it was chosen from
  bool should_yield = false;  // SPCF_SHOULDYIELD set for it
};

// A scheduling session: installs the policy for its lifetime (one at a
// time), spawns LWPs and runs them.  LWP ids start at 2 in each session
// (1 is lwp0, kernel threads take the next ones).
class Scheduler {
 public:
  explicit Scheduler(const ScheduleOptions& options = {});
  // Every LWP spawned must have ended (call Run()); else panics.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Creates a runnable LWP running `body`; returns its lid.  It runs
  // when the policy picks it (at the latest when lwp0 calls Run()).
  int Spawn(const std::string& name, std::function<void()> body);
  // lwp0 sleeps until every LWP spawned here has ended.  A deadlock or
  // livelock panics with a report.  Returns FailedPrecondition if a
  // replay no longer matched the run (the run went on under kFifo).
  absl::Status Run();
  // Run() for one round of a session that goes on afterwards (more
  // Spawn()s, then RunRound() or Run() again): a replay being followed
  // may have tokens left for the rounds to come, so only Run() (at the
  // end) reports tokens left over.  Decisions, steps and LWP ids carry
  // on across rounds, so one replay string covers the whole session.
  absl::Status RunRound();
  // lwp0 lets the LWPs that can run (kernel threads woken meanwhile, such
  // as the page daemon) run until none can: each has ended or sleeps.
  // Run() and RunRound() wait only for the LWPs spawned here; this makes
  // the point after them quiescent.  Each yield is a decision (replayed).
  void Settle();

  // The run so far as a replay string ("uvmemu1:..."), and as decisions.
  std::string ReplayString() const;
  const std::vector<Decision>& Decisions() const;
  // The decisions one per line, for a human.
  std::string DecisionLog() const;
  // Switch points met so far in this session.
  uint64_t Steps() const;
  // Why a replay stopped matching, or empty.
  const std::string& Divergence() const;
};

struct ExploreOptions {
  SchedPolicy policy = SchedPolicy::kRandom;
  uint64_t seed = 1;         // run i uses seed + i (random, PCT)
  uint64_t max_runs = 1000;  // DFS stops earlier when it has seen all
  int pct_depth = 2;
  uint64_t pct_steps = 0;    // 0: the steps of the first run
  int preemption_bound = 2;  // DFS: non-default choices per run
  YieldPolicy yield = YieldPolicy::kManual;
  uint64_t yield_every = 1;
  bool print_failure = true;  // print the failing replay string to stderr
};

struct ExploreResult {
  uint64_t runs = 0;       // schedules run
  bool exhausted = false;  // DFS: every schedule within the bound was run
  bool failed = false;
  std::string failure;     // the failing run's status message
  std::string replay;      // the failing run's replay string
  uint64_t max_steps = 0;  // most switch points in one run
};

// Runs `body` once per schedule with a fresh Scheduler configured from
// `options`; the body sets up, spawns, calls Run() and checks, returning
// a non-OK status on failure (and must free what it allocated either
// way).  Stops at the first failure.  With UVMEMU_REPLAY set, runs only
// that schedule.
ExploreResult Explore(const ExploreOptions& options,
                      const std::function<absl::Status(Scheduler&)>& body);

}  // namespace uvmemu

#endif  // UVMEMU_SCHEDULER_H
