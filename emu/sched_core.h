// The scheduler's internals, shared by its parts: the LWP records and run
// queue (emu/sched.cc), the policies (emu/sched_policy.cc), the sessions,
// decision log and replay (emu/sched_session.cc) and the signal stacks
// (emu/sched_altstack.cc).
#ifndef UVMEMU_EMU_SCHED_CORE_H
#define UVMEMU_EMU_SCHED_CORE_H

#include <sys/lwp.h>
#include <sys/mutex.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "emu/fiber.h"
#include "uvmemu/scheduler.h"

// Every LWP's struct lwp in AllLwps() order, republished at spawn and
// exit for debuggers (gdb's uvm-lwps, tools/gdb/uvmemu.py).
extern "C" {
extern struct lwp** uvmemu_lwps;
extern int uvmemu_nlwps;
}

namespace uvmemu::sched::internal {

using Kind = Decision::Kind;

enum class State { kRunning, kRunnable, kSleeping, kMutexWait, kExited };

struct AltStack;

// The scheduler's record of an LWP.
struct Rec {
  struct lwp* l = nullptr;  // &own, or lwp0
  struct lwp own = {};
  std::string name;
  fiber::Context ctx;
  std::function<void()> body;
  State state = State::kRunnable;
  bool kernel_thread = false;
  bool stop_requested = false;
  uint64_t session = 0;  // the session that spawned it
  const kmutex_t* waiting_mutex = nullptr;
  uint64_t wake_at = 0;  // virtual tick; 0: no timeout
  bool timed_out = false;
  std::vector<const kmutex_t*> held;  // in acquisition order
  uint64_t run_steps = 0;             // switch points since it ran
  int64_t priority = 0;               // PCT
  AltStack* held_alt = nullptr;       // its handler frames live there
};

// A choice point as a policy sees it.  cands: the current LWP first if
// it can go on running, then the run queue in order.
struct Choice {
  Kind kind;
  uint64_t step;
  const std::vector<Rec*>& cands;
  bool cur_runnable;
  size_t fifo;  // what run-to-block FIFO would pick
};

class Policy {
 public:
  virtual ~Policy() = default;
  // Index into c.cands (called only when there are two or more).
  virtual size_t Choose(const Choice& c) = 0;
  // YieldPolicy::kExplorer: whether the chosen LWP gets SHOULDYIELD.
  virtual bool Yield(const Choice& c, size_t chosen) = 0;
  virtual void OnSpawn(Rec* r) { (void)r; }
  // Whether the policy must see every switch point, even those with one
  // candidate (Observe), where nothing is chosen.
  virtual bool ObservesEveryStep() const { return false; }
  virtual void Observe(const Choice& c) { (void)c; }
};

std::unique_ptr<Policy> MakeFifo();
std::unique_ptr<Policy> MakeRandom(uint64_t seed);
std::unique_ptr<Policy> MakePct(uint64_t seed, int depth, uint64_t steps);

// Bounded exhaustive search: one object lives across the runs of an
// Explore(); each run follows a prefix of the previous one's choices,
// takes the next alternative at the deepest point that has one within
// the preemption bound, and then the default choices.
class DfsPolicy : public Policy {
 public:
  DfsPolicy(int preemption_bound, bool branch_yield);
  size_t Choose(const Choice& c) override;
  bool Yield(const Choice& c, size_t chosen) override;
  // Before a run (resets the position in the tree).
  void BeginRun();
  // After a run: move to the next schedule; false when all were run.
  bool Advance();

 private:
  struct Node {
    std::vector<int> lids;      // the candidates (checked on re-execution)
    std::vector<size_t> order;  // alternatives, default first
    std::vector<int> cost;      // preemptions each alternative costs
    size_t pos = 0;             // the alternative taken
    int spent_before = 0;       // preemptions spent above this node
  };
  size_t Take(std::vector<int> lids, std::vector<size_t> order,
              std::vector<int> cost);
  int bound_;
  bool branch_yield_;
  std::vector<Node> nodes_;
  size_t depth_ = 0;
};

// SplitMix64, as emu/inject.cc (the project's one generator).
uint64_t SplitMix64(uint64_t& state);

// --- sched.cc ---------------------------------------------------------
// The running LWP's record, or nullptr if curlwp is not one (a test may
// point curlwp at an LWP of its own).
Rec* Current();
// Sets uvmemu_mutex_fast (sys/mutex.h): lwp0 alone, no session.  Called
// whenever the set of LWPs or the active session changes.
void UpdateMutexFastPath();
Rec* SpawnLwp(const std::string& name, std::function<void()> body,
              bool kernel_thread, uint64_t session);
// A switch point of the current LWP; if it blocks, it has already been
// taken off the CPU (state not kRunning) and this returns once it runs.
void SwitchPoint(Kind kind);
// Sleep on wchan (releasing interlock once asleep); EWOULDBLOCK on
// timeout, else 0.
int Sleep(const void* wchan, const char* wmesg, int timo, kmutex_t* interlock);
void Wakeup(const void* wchan, bool one);
// Live LWPs spawned by a session that have not ended.
int LiveLwps(uint64_t session);
// LWPs waiting in the run queue (not the one running).
size_t RunnableLwps();
// All records in lid order (lwp0 first).
const std::vector<Rec*>& AllLwps();
// Lids restart after the highest live one.
void ResetLids();

// --- sched_session.cc -------------------------------------------------
// The decision at a switch point: an index into cands, and whether the
// LWP chosen gets SPCF_SHOULDYIELD (-1: leave the flag to
// SetShouldYield).
struct Verdict {
  size_t index;
  int yield;
};
Verdict Decide(const Choice& c);
uint64_t NextStep();
uint64_t MaxSteps();
// True when a switch point with one candidate decides nothing (no yield
// policy, no replay): it is then only counted.
bool QuietSwitchPoints();
// A Scheduler's session is active.
bool SessionActive();

// --- sched_altstack.cc ------------------------------------------------
// Keep the signal alternate stack consistent with fibers: an LWP that
// leaves the CPU inside the SIGSEGV handler keeps the alternate stack its
// frames are on; the next LWP gets another one.
void AltStackLeaving(Rec* r);
void AltStackArrived(Rec* r);

}  // namespace uvmemu::sched::internal

#endif  // UVMEMU_EMU_SCHED_CORE_H
