// The differential harness: runs Ops on the emulator (uvmemu::Machine and
// its Processes) and on the reference model side by side, compares every
// status and every byte read, and after each step checks the emulator's
// pages against the model and the kernel's structures against their
// invariants (kernel_check.h).  With a schedule (RunOptions::schedule) the
// ops run in rounds, one op per process, each as an LWP under the
// scheduler.  docs/verification.md describes it all.
//
//   std::vector<Op> ops = GenerateOps(seed, 1000, DefaultWeights());
//   RunResult r = RunIsolated(ops, HarnessConfig());
//   if (!r.ok) std::cerr << FailureReport(ops, HarnessConfig(), r, seed);
#ifndef UVMEMU_TEST_MODEL_HARNESS_H
#define UVMEMU_TEST_MODEL_HARNESS_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "test/model/model.h"
#include "test/model/ops.h"
#include "uvmemu/inject.h"
#include "uvmemu/machine.h"
#include "uvmemu/scheduler.h"

namespace uvmemu::verify {

class Harness;

struct HarnessConfig {
  size_t max_processes = 6;
  // Fixed mappings and random operands fall in the first span_pages of
  // the user range, so that operations meet each other.
  uint64_t span_pages = 40;
  uint64_t max_map_pages = 8;
  uint64_t max_range_pages = 6;  // unmap/protect/inherit/wire ranges
  // One map in this many is of UVM_AMAP_LARGE pages or more (fork then
  // chunks its amap copies); 0: never.
  uint32_t large_map_one_in = 150;
  // The model is compared with every page of every process after every
  // step (not only on reads).
  bool check_contents = true;
  // The kernel structure invariants after every step.
  bool check_kernel = true;
  // Ops of one round never read and write one sharing group (their byte
  // order would be the schedule's).  false only to show that the
  // harness then diverges (a deliberately broken ordering).
  bool order_byte_groups = true;
  // Runs after every step (with a schedule: every round), before the
  // checks: the harness's own tests
  // plant a bug here to see it caught, shrunk and reported.
  std::function<void(Harness&)> after_step;
  // Physical memory for the worst case: every process wiring or
  // copying a large mapping (only pages in use cost host memory).
  MachineConfig machine = {.physical_pages = 8192,
                           .swap_slots = 256,
                           .host_mapping_budget = 30000,
                           .max_processes = 16,
                           .trace_records = 1024};
};

class Harness {
 public:
  // Boots a Machine (one may exist at a time) and spawns process p1.
  explicit Harness(const HarnessConfig& config);
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  // Runs one op on both sides, on the calling LWP; an error describes a
  // divergence.
  absl::Status Step(const Op& op);
  // Resolves a round of ops from ops[begin] on against the model and
  // applies their effect to it (in op order; a fork or exit when the
  // round has run): one op per process, up to the first op whose process
  // already has one, that would write bytes another op of the round
  // reads or writes (or read bytes it writes), or a second swap-off; a
  // fork or exit is the round's last op.  Returns one past the last op.
  size_t PlanRound(const std::vector<Op>& ops, size_t begin);
  // Runs the planned round on the emulator: each op as an LWP of `sched`
  // (RunRound), or, without one, each at once on the calling LWP; then
  // adds forked children and removes exited processes.  An error
  // describes the first op (in op order) that diverged; *failed is its
  // index in the round.
  absl::Status RunRound(Scheduler* sched, size_t* failed);
  // Pages against the model, and the kernel invariants.
  absl::Status Check();
  // Exits every process and checks that nothing is left.
  absl::Status Finish();

  // Allocation failures are being injected: a swap-off may then fail
  // (its page-ins wait for memory and give up).
  void set_allocations_may_fail(bool may) { allocations_may_fail_ = may; }

  // What the last op did, resolved ("p2 write [0x5123, +300)").
  const std::string& last() const { return last_; }
  // Each op of the last round, resolved, with its outcome.
  std::vector<std::string> RoundLog() const;
  // Swap-offs that ran concurrently with other ops and found slots held
  // by an anon outside every amap for a moment (EBUSY, as NetBSD's
  // swap_off): tolerated.
  size_t busy_swapoffs() const { return busy_swapoffs_; }
  // Every process's structure dump and the model's pages.
  std::string Dump() const;
  MemoryStats Stats() const { return machine_.Stats(); }
  // The live processes' address spaces (in the model's order).
  size_t process_count() const { return procs_.size(); }
  struct vmspace* space(size_t p) const {
    return procs_[p].vmspace();
  }

 private:
  struct Range {
    uint64_t page = 0, npages = 0;
  };
  struct Span {
    uint64_t va = 0, len = 0;
  };
  // An op resolved: the emulator side to run and compare (the model has
  // its effect already, fork and exit excepted).
  struct Planned {
    OpKind kind = OpKind::kRead;
    size_t p = 0;
    std::string what;  // resolved; run() appends the outcome
    std::function<absl::Status(Planned&)> run;
    absl::Status status;
    bool concurrent = false;       // ran as an LWP beside others
    bool exits = false;            // exit (not skipped)
    std::optional<Process> child;  // fork
  };
  // The sharing groups an op reads and writes (by Cell::group).
  struct Footprint {
    std::vector<uint64_t> reads, writes;
    bool swapoff = false;
  };

  Range PickRange(size_t p, uint32_t b, uint32_t c, bool whole,
                  const std::function<bool(const Page&)>& pick,
                  bool avoid_holes) const;
  uint64_t PickVa(size_t p, uint32_t b, uint32_t d, int need) const;
  Span AccessSpan(size_t p, const Op& op, int need) const;
  Footprint Touches(size_t p, const Op& op) const;
  static absl::Status Expected(Planned& pl, const absl::Status& got,
                               Expect want);

  Planned Plan(size_t p, const Op& op);
  Planned PlanMap(size_t p, const Op& op);
  Planned PlanRange(size_t p, const Op& op);
  Planned PlanFork(size_t p);
  Planned PlanExit(size_t p);
  Planned PlanRead(size_t p, const Op& op);
  Planned PlanWrite(size_t p, const Op& op);
  Planned PlanPageOut(size_t p, const Op& op);
  Planned PlanSwapOff(const Op& op);
  void Commit(Planned& pl);
  absl::Status CheckProcess(size_t p);

  HarnessConfig config_;
  Machine machine_;
  Model model_;
  std::vector<Process> procs_;  // procs_[i] is model_.process(i)
  std::vector<Planned> round_;  // the round planned (or run) last
  long process_kmem_objects_ = 0, process_kmem_bytes_ = 0;
  std::string last_;
  bool allocations_may_fail_ = false;
  size_t busy_swapoffs_ = 0;
};

struct RunResult {
  bool ok = true;
  size_t steps = 0;                // ops that ran
  size_t failed_op = 0;            // the op whose step or check failed
                                   // (with a schedule: its round's last)
  std::string message;             // what diverged (or how the run died)
  std::string dump;                // Harness::Dump() at the failure
  std::vector<std::string> log;    // each op resolved (with keep_log)
  uint64_t failure_points = 0;     // allocation failure points met
  uint64_t failures_injected = 0;  // of which the plan made fail
  // With a schedule:
  uint64_t rounds = 0;              // rounds run
  uint64_t concurrent_rounds = 0;   // of which had two ops or more
  uint64_t interleaved_rounds = 0;  // of which an op was preempted
                                    // mid-op while another one ran
  uint64_t preemptions = 0;         // such preemptions, in all
  uint64_t switch_points = 0;       // Scheduler::Steps() at the end
  uint64_t busy_swapoffs = 0;       // Harness::busy_swapoffs()
  // Paging, before the processes exit at the end (MemoryStats).
  uint64_t daemon_runs = 0, page_outs = 0, page_ins = 0;
  std::string replay;  // the schedule so far (at a failure:
                       // up to it), a replay string
};

// Page-outs that moved pages and swap-offs that found slots in use, read
// from a run's log (RunOptions::keep_log).  With `concurrent_only`, only
// ops of rounds that ran several ops (LWP runs).
struct PagingOps {
  size_t page_outs = 0;
  size_t swapoffs_with_pages = 0;
};
PagingOps CountPagingOps(const std::vector<std::string>& log,
                         bool concurrent_only);

struct RunOptions {
  // Active for the whole run (spawn excepted) when set.
  std::optional<FailurePlan> plan;
  // Run the ops in rounds, each op as an LWP, under this schedule
  // (kRandom or kPct with its seed; a replay string, or UVMEMU_REPLAY if
  // replay_from_env).  kPct with pct_steps 0: estimated from the ops.
  // Unset: each op at once on lwp0.
  std::optional<ScheduleOptions> schedule;
  bool keep_log = false;
  // Silence the child's stderr (panics while shrinking).
  bool quiet = false;
  // RunIsolated: a child still running after this long is killed and the
  // run reported as hung (an infinite loop in the kernel code).
  unsigned timeout_seconds = 120;
};

// "random seed 7" or "pct seed 7 depth 40 steps 60000", and
// UVMEMU_VERIFY_LWPS's form of it ("random:7", "pct:7:40:60000").
std::string ScheduleName(const ScheduleOptions& schedule);
std::string ScheduleArg(const ScheduleOptions& schedule);
std::optional<ScheduleOptions> ParseScheduleArg(std::string_view text);

// Runs `ops` in this process.  After a failure the machine is abandoned
// (it may be corrupt): a later Machine in this process is impossible, so
// callers that go on use RunIsolated.
RunResult RunOps(const std::vector<Op>& ops, const HarnessConfig& config,
                 const RunOptions& options = {},
                 volatile size_t* progress = nullptr);

// RunOps in a forked child: a panic, a hang, a leak or a corrupt kernel
// ends only the child.  The parent must not have a Machine.
RunResult RunIsolated(const std::vector<Op>& ops, const HarnessConfig& config,
                      const RunOptions& options = {});

// Delta debugging (Zeller's ddmin): a 1-minimal subsequence of `ops` for
// which `fails` still holds, with at most `max_tests` evaluations.
std::vector<Op> Shrink(const std::vector<Op>& ops,
                       const std::function<bool(const std::vector<Op>&)>& fails,
                       size_t max_tests = 3000);

// The seed, the failure, the shrunk sequence (each op raw and resolved),
// the replay command and the structure dump at the failure of the shrunk
// sequence.  Shrinks with isolated replays.
std::string FailureReport(const std::vector<Op>& ops,
                          const HarnessConfig& config,
                          const RunOptions& options, const RunResult& failed,
                          std::optional<uint64_t> seed);

}  // namespace uvmemu::verify

#endif  // UVMEMU_TEST_MODEL_HARNESS_H
