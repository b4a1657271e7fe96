// The differential harness: runs Ops on the emulator (uvmemu::Machine and
// its Processes) and on the reference model side by side, compares every
// status and every byte read, and after each step checks the emulator's
// pages against the model and the kernel's structures against their
// invariants (kernel_check.h).  docs/verification.md describes it all.
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
#include <vector>

#include "absl/status/status.h"
#include "test/model/model.h"
#include "test/model/ops.h"
#include "uvmemu/inject.h"
#include "uvmemu/machine.h"

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
  // Runs after every step, before the checks: the harness's own tests
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

  // Runs one op on both sides; an error describes a divergence.
  absl::Status Step(const Op& op);
  // Pages against the model, and the kernel invariants.
  absl::Status Check();
  // Exits every process and checks that nothing is left.
  absl::Status Finish();

  // Allocation failures are being injected: a swap-off may then fail
  // (its page-ins wait for memory and give up).
  void set_allocations_may_fail(bool may) { allocations_may_fail_ = may; }

  // What the last Step did, resolved ("p2 write [0x5123, +300)").
  const std::string& last() const { return last_; }
  // Every process's structure dump and the model's pages.
  std::string Dump() const;
  // The live processes' address spaces (in the model's order).
  size_t process_count() const { return procs_.size(); }
  struct vmspace* space(size_t p) const {
    return procs_[p].vmspace();
  }

 private:
  struct Range {
    uint64_t page = 0, npages = 0;
  };
  Range PickRange(size_t p, uint32_t b, uint32_t c, bool whole,
                  const std::function<bool(const Page&)>& pick,
                  bool avoid_holes) const;
  uint64_t PickVa(size_t p, uint32_t b, uint32_t d, int need) const;
  absl::Status Expected(const absl::Status& got, Expect want);

  absl::Status DoMap(size_t p, const Op& op);
  absl::Status DoRange(size_t p, const Op& op);
  absl::Status DoFork(size_t p);
  absl::Status DoExit(size_t p);
  absl::Status DoRead(size_t p, const Op& op);
  absl::Status DoWrite(size_t p, const Op& op);
  absl::Status DoPageOut(size_t p, const Op& op);
  absl::Status DoSwapOff(const Op& op);
  absl::Status CheckProcess(size_t p);

  HarnessConfig config_;
  Machine machine_;
  Model model_;
  std::vector<Process> procs_;  // procs_[i] is model_.process(i)
  long process_kmem_objects_ = 0, process_kmem_bytes_ = 0;
  std::string last_;
  bool allocations_may_fail_ = false;
};

struct RunResult {
  bool ok = true;
  size_t steps = 0;                // ops that ran
  size_t failed_op = 0;            // the op whose step or check failed
  std::string message;             // what diverged (or how the run died)
  std::string dump;                // Harness::Dump() at the failure
  std::vector<std::string> log;    // each op resolved (with keep_log)
  uint64_t failure_points = 0;     // allocation failure points met
  uint64_t failures_injected = 0;  // of which the plan made fail
};

struct RunOptions {
  // Active for the whole run (spawn excepted) when set.
  std::optional<FailurePlan> plan;
  bool keep_log = false;
  // Silence the child's stderr (panics while shrinking).
  bool quiet = false;
  // RunIsolated: a child still running after this long is killed and the
  // run reported as hung (an infinite loop in the kernel code).
  unsigned timeout_seconds = 120;
};

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
