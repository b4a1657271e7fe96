// Differential tests with processes' operations as LWPs: rounds of one op
// per process run under the random and PCT policies, and the result must
// still match the reference model (test/model/, docs/verification.md,
// "Processes as LWPs").
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/model/harness.h"

namespace uvmemu::verify {
namespace {

constexpr size_t kOpsPerSeed = 1000;

ScheduleOptions Schedule(SchedPolicy policy, uint64_t seed) {
  ScheduleOptions o;
  o.policy = policy;
  o.seed = seed;
  o.replay_from_env = false;
  if (policy == SchedPolicy::kPct) {
    // About one priority change point per ten ops, spread over the run.
    o.pct_depth = 1 + static_cast<int>(kOpsPerSeed / 10);
    o.pct_steps = 0;
  }
  return o;
}

RunOptions LwpOptions(SchedPolicy policy, uint64_t seed) {
  RunOptions options;
  options.schedule = Schedule(policy, seed);
  return options;
}

void PrintFigures(const char* what, uint64_t seed, const RunResult& r,
                  double secs) {
  std::printf(
      "%s seed %llu: %zu ops in %llu rounds (%llu with several ops, %llu "
      "interleaved, %llu preemptions), %llu switch points, %llu busy "
      "swap-offs%s\n",
      what, static_cast<unsigned long long>(seed), r.steps,
      static_cast<unsigned long long>(r.rounds),
      static_cast<unsigned long long>(r.concurrent_rounds),
      static_cast<unsigned long long>(r.interleaved_rounds),
      static_cast<unsigned long long>(r.preemptions),
      static_cast<unsigned long long>(r.switch_points),
      static_cast<unsigned long long>(r.busy_swapoffs),
      secs > 0 ? absl::StrFormat(", %.2f s", secs).c_str() : "");
}

RunResult RunSeed(SchedPolicy policy, uint64_t seed, size_t count,
                  const char* what) {
  const std::vector<Op> ops = GenerateOps(seed, count, DefaultWeights());
  const RunOptions options = LwpOptions(policy, seed);
  const auto start = std::chrono::steady_clock::now();
  const RunResult r = RunIsolated(ops, HarnessConfig(), options);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  EXPECT_TRUE(r.ok) << FailureReport(ops, HarnessConfig(), options, r, seed);
  if (r.ok) PrintFigures(what, seed, r, secs);
  return r;
}

// ---------------------------------------------------------------------------
// The default run: 12 seeds x 1000 ops under each policy.

class VerifyLwpRandom : public ::testing::TestWithParam<uint64_t> {};

TEST_P(VerifyLwpRandom, OpsAsLwps_MatchTheModelAndInterleave) {
  const RunResult r =
      RunSeed(SchedPolicy::kRandom, GetParam(), kOpsPerSeed, "random");
  if (!r.ok) return;
  EXPECT_EQ(r.steps, kOpsPerSeed);
  // Not vacuous: rounds ran several ops, and ops were overtaken mid-op.
  EXPECT_GT(r.concurrent_rounds, kOpsPerSeed / 10);
  EXPECT_GT(r.interleaved_rounds, r.concurrent_rounds / 4);
}

INSTANTIATE_TEST_SUITE_P(Seeds, VerifyLwpRandom,
                         ::testing::Range<uint64_t>(2001, 2013));

class VerifyLwpPct : public ::testing::TestWithParam<uint64_t> {};

TEST_P(VerifyLwpPct, OpsAsLwps_MatchTheModel) {
  const RunResult r =
      RunSeed(SchedPolicy::kPct, GetParam(), kOpsPerSeed, "pct");
  if (!r.ok) return;
  EXPECT_EQ(r.steps, kOpsPerSeed);
  EXPECT_GT(r.concurrent_rounds, kOpsPerSeed / 10);
}

INSTANTIATE_TEST_SUITE_P(Seeds, VerifyLwpPct,
                         ::testing::Range<uint64_t>(3001, 3013));

// Page-outs and swap-offs beside faults, forks and exits of processes
// sharing anons: the interleavings the page daemon meets in a kernel.
TEST(VerifyLwpPagingHeavy, PageOutsBesideFaults_MatchTheModel) {
  PagingOps paging;
  for (uint64_t seed = 2201; seed < 2205; seed++) {
    const std::vector<Op> ops = GenerateOps(seed, 400, PagingHeavyWeights());
    RunOptions options = LwpOptions(SchedPolicy::kRandom, seed);
    options.keep_log = true;
    const RunResult r = RunIsolated(ops, HarnessConfig(), options);
    ASSERT_TRUE(r.ok) << FailureReport(ops, HarnessConfig(), options, r, seed);
    PrintFigures("paging-heavy random", seed, r, 0);
    const PagingOps n = CountPagingOps(r.log, /*concurrent_only=*/true);
    paging.page_outs += n.page_outs;
    paging.swapoffs_with_pages += n.swapoffs_with_pages;
  }
  // Not vacuous: pages went to swap and came back beside other ops.
  EXPECT_GT(paging.page_outs, 10u);
  EXPECT_GT(paging.swapoffs_with_pages, 5u);
}

TEST(VerifyLwpForkHeavy, ForksBesideWrites_MatchTheModel) {
  for (uint64_t seed = 2301; seed < 2305; seed++) {
    for (SchedPolicy policy : {SchedPolicy::kRandom, SchedPolicy::kPct}) {
      const std::vector<Op> ops = GenerateOps(seed, 400, ForkHeavyWeights());
      const RunOptions options = LwpOptions(policy, seed);
      const RunResult r = RunIsolated(ops, HarnessConfig(), options);
      ASSERT_TRUE(r.ok) << FailureReport(ops, HarnessConfig(), options, r,
                                         seed);
    }
  }
}

TEST(VerifyLwpSplitHeavy, SplitsBesideFaults_MatchTheModel) {
  HarnessConfig config;
  config.span_pages = 16;
  config.max_map_pages = 4;
  for (uint64_t seed = 2401; seed < 2405; seed++) {
    const std::vector<Op> ops = GenerateOps(seed, 400, SplitHeavyWeights());
    const RunOptions options = LwpOptions(SchedPolicy::kRandom, seed);
    const RunResult r = RunIsolated(ops, config, options);
    ASSERT_TRUE(r.ok) << FailureReport(ops, config, options, r, seed);
  }
}

// The page daemon as a kernel thread, woken by page allocations when
// free memory falls below free_min (set high, so that it runs all the
// time without memory running out): it pages out beside the ops'
// faults, and Scheduler::Settle lets it finish before each check.  The
// explicit page-outs are off, so that every page-out is the daemon's.
TEST(VerifyLwpDaemonThread, DaemonPagesOutBesideOps_MatchTheModel) {
  HarnessConfig config;
  config.machine.pagedaemon_thread = true;
  config.machine.physical_pages = 256;
  config.machine.free_min = 236;
  config.machine.free_target = 246;
  for (uint64_t seed = 2501; seed < 2505; seed++) {
    for (SchedPolicy policy : {SchedPolicy::kRandom, SchedPolicy::kPct}) {
      Weights w = ForkHeavyWeights();
      w[static_cast<size_t>(OpKind::kPageOut)] = 0;
      w[static_cast<size_t>(OpKind::kSwapOff)] = 4;
      const std::vector<Op> ops = GenerateOps(seed, 400, w);
      const RunOptions options = LwpOptions(policy, seed);
      const RunResult r = RunIsolated(ops, config, options);
      ASSERT_TRUE(r.ok) << FailureReport(ops, config, options, r, seed);
      std::printf(
          "daemon thread, %s: %llu daemon runs, %llu page-outs, %llu "
          "page-ins\n",
          ScheduleName(*options.schedule).c_str(),
          static_cast<unsigned long long>(r.daemon_runs),
          static_cast<unsigned long long>(r.page_outs),
          static_cast<unsigned long long>(r.page_ins));
      // Not vacuous: the daemon paged out, and faults paged back in.
      EXPECT_GT(r.daemon_runs, 0u);
      EXPECT_GT(r.page_outs, 10u);
      EXPECT_GT(r.page_ins, 0u);
    }
  }
}

// One in twenty fallible allocations fails while the ops interleave:
// faults wait (uvm_wait) and retry beside other ops.
TEST(VerifyLwpFailures, RandomAllocationFailures_MatchTheModel) {
  for (uint64_t seed = 2601; seed < 2605; seed++) {
    for (SchedPolicy policy : {SchedPolicy::kRandom, SchedPolicy::kPct}) {
      RunOptions options = LwpOptions(policy, seed);
      options.plan = FailurePlan{};
      options.plan->probability = 0.05;
      options.plan->seed = seed;
      const std::vector<Op> ops = GenerateOps(seed, 300, DefaultWeights());
      const RunResult r = RunIsolated(ops, HarnessConfig(), options);
      ASSERT_TRUE(r.ok) << FailureReport(ops, HarnessConfig(), options, r,
                                         seed);
      EXPECT_GT(r.failures_injected, 0u);
    }
  }
}

// PCT changes priorities mid-op: over the seeds, some rounds interleave.
TEST(VerifyLwpPctPreempts, ChangePoints_InterleaveSomeRounds) {
  uint64_t interleaved = 0;
  for (uint64_t seed = 3101; seed < 3105; seed++) {
    const std::vector<Op> ops = GenerateOps(seed, 200, DefaultWeights());
    RunOptions options = LwpOptions(SchedPolicy::kPct, seed);
    options.schedule->pct_depth = 21;
    const RunResult r = RunIsolated(ops, HarnessConfig(), options);
    ASSERT_TRUE(r.ok) << FailureReport(ops, HarnessConfig(), options, r, seed);
    interleaved += r.interleaved_rounds;
  }
  EXPECT_GT(interleaved, 4u);
}

// ---------------------------------------------------------------------------
// The schedule is part of the run's inputs: the same policy and seed make
// the same run, and its replay string makes it again under FIFO.

TEST(VerifyLwpReplay, ReplayString_ReproducesTheRun) {
  const std::vector<Op> ops = GenerateOps(2101, 150, DefaultWeights());
  RunOptions options = LwpOptions(SchedPolicy::kRandom, 77);
  options.keep_log = true;
  const RunResult first = RunIsolated(ops, HarnessConfig(), options);
  ASSERT_TRUE(first.ok) << first.message;
  ASSERT_GT(first.interleaved_rounds, 0u);
  ASSERT_EQ(first.replay.rfind("uvmemu1:", 0), 0u);
  const RunResult again = RunIsolated(ops, HarnessConfig(), options);
  EXPECT_EQ(again.replay, first.replay);
  EXPECT_EQ(again.log, first.log);

  RunOptions replay = options;
  replay.schedule->policy = SchedPolicy::kFifo;
  replay.schedule->replay = first.replay;
  const RunResult replayed = RunIsolated(ops, HarnessConfig(), replay);
  ASSERT_TRUE(replayed.ok) << replayed.message;
  EXPECT_EQ(replayed.replay, first.replay);
  EXPECT_EQ(replayed.log, first.log);

  // Another seed, another schedule.
  const RunResult other =
      RunIsolated(ops, HarnessConfig(), LwpOptions(SchedPolicy::kRandom, 78));
  ASSERT_TRUE(other.ok) << other.message;
  EXPECT_NE(other.replay, first.replay);
}

// A replay string of another run diverges, and the run says so.
TEST(VerifyLwpReplay, ForeignReplayString_IsReportedAsDivergence) {
  const std::vector<Op> ops = GenerateOps(2102, 100, DefaultWeights());
  const RunResult first =
      RunIsolated(ops, HarnessConfig(), LwpOptions(SchedPolicy::kRandom, 5));
  ASSERT_TRUE(first.ok) << first.message;
  const std::vector<Op> other = GenerateOps(2103, 100, DefaultWeights());
  RunOptions replay = LwpOptions(SchedPolicy::kFifo, 1);
  replay.schedule->replay = first.replay;
  replay.quiet = true;
  const RunResult r = RunIsolated(other, HarnessConfig(), replay);
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.message, ::testing::HasSubstr("replay diverged"));
}

TEST(VerifyLwpSchedule, TextForm_RoundTrips) {
  for (const ScheduleOptions& o :
       {Schedule(SchedPolicy::kRandom, 12), Schedule(SchedPolicy::kPct, 13)}) {
    const std::optional<ScheduleOptions> back =
        ParseScheduleArg(ScheduleArg(o));
    ASSERT_TRUE(back.has_value()) << ScheduleArg(o);
    EXPECT_EQ(back->policy, o.policy);
    EXPECT_EQ(back->seed, o.seed);
    EXPECT_EQ(back->pct_depth, o.pct_depth);
    EXPECT_EQ(back->pct_steps, o.pct_steps);
  }
  EXPECT_EQ(ParseScheduleArg("random:9")->seed, 9u);
  EXPECT_EQ(ParseScheduleArg("pct:9")->policy, SchedPolicy::kPct);
  EXPECT_FALSE(ParseScheduleArg("dfs:1").has_value());
  EXPECT_FALSE(ParseScheduleArg("random:x").has_value());
  EXPECT_FALSE(ParseScheduleArg("pct:1:2").has_value());
}

// ---------------------------------------------------------------------------
// A deliberately broken harness: ops of one round may write and read one
// sharing group, whose byte order then depends on the schedule.  The
// model applies them in op order, so some schedule diverges, and the
// report carries the policy, the seed and the replay string.  With the
// ordering rule (the default) the same ops match the model.

std::vector<Op> WriteReadSameGroup() {
  // p1 maps one shared page, forks p2 (which shares it); then each round
  // p1 writes 4001 bytes from the start of the page and p2 reads them.
  std::vector<Op> ops = *ParseOps("map 0 0 0 261; fork 0 0 0 0");
  for (uint32_t i = 0; i < 8; i++) {
    ops.push_back({OpKind::kWrite, 0, 2, 16000, 2 * i + 3});
    ops.push_back({OpKind::kRead, 1, 2, 16000, 1});
  }
  return ops;
}

TEST(VerifyLwpPlanted, UnorderedWriteAndRead_IsCaughtAndReported) {
  const std::vector<Op> ops = WriteReadSameGroup();
  HarnessConfig broken;
  broken.order_byte_groups = false;
  const RunOptions options = LwpOptions(SchedPolicy::kRandom, 1);
  const RunResult r = RunIsolated(ops, broken, options);
  ASSERT_FALSE(r.ok);
  EXPECT_THAT(r.message, ::testing::HasSubstr("the model has"));
  const std::string report = FailureReport(ops, broken, options, r, 1);
  std::printf("%s", report.c_str());  // what a report looks like
  EXPECT_THAT(report, ::testing::HasSubstr("schedule random seed 1"));
  EXPECT_THAT(report, ::testing::HasSubstr("UVMEMU_VERIFY_LWPS=random:"));
  EXPECT_THAT(report, ::testing::HasSubstr("UVMEMU_REPLAY='uvmemu1:"));
  EXPECT_THAT(report, ::testing::Not(::testing::HasSubstr("no longer fails")));

  const RunResult ordered = RunIsolated(ops, HarnessConfig(), options);
  EXPECT_TRUE(ordered.ok) << ordered.message;
  EXPECT_EQ(ordered.concurrent_rounds, 0u);  // each write waits for a round
}

// ---------------------------------------------------------------------------
// The soak (label slow): 200 seeds x 1000 ops, random and PCT in turn,
// with the default, fork-heavy and paging-heavy weights in turn.

TEST(Slow_VerifyLwpSoak, OpsAsLwps_MatchTheModel) {
  const uint64_t seeds = 200, per_seed = 1000;
  const auto start = std::chrono::steady_clock::now();
  uint64_t ops_run = 0, rounds = 0, interleaved = 0, busy = 0;
  for (uint64_t seed = 4000000; seed < 4000000 + seeds; seed++) {
    const Weights weights = seed % 3 == 0   ? DefaultWeights()
                            : seed % 3 == 1 ? ForkHeavyWeights()
                                            : PagingHeavyWeights();
    const std::vector<Op> ops = GenerateOps(seed, per_seed, weights);
    const SchedPolicy policy =
        seed % 2 == 0 ? SchedPolicy::kRandom : SchedPolicy::kPct;
    RunOptions options = LwpOptions(policy, seed);
    if (policy == SchedPolicy::kPct)
      options.schedule->pct_depth = 1 + static_cast<int>(per_seed / 10);
    const RunResult r = RunIsolated(ops, HarnessConfig(), options);
    ops_run += r.steps;
    rounds += r.rounds;
    interleaved += r.interleaved_rounds;
    busy += r.busy_swapoffs;
    ASSERT_TRUE(r.ok) << FailureReport(ops, HarnessConfig(), options, r, seed);
    if ((seed + 1) % 20 == 0)
      std::printf("lwp soak: %llu seeds, %llu ops\n",
                  static_cast<unsigned long long>(seed + 1 - 4000000),
                  static_cast<unsigned long long>(ops_run));
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf(
      "lwp soak: %llu ops over %llu seeds in %.1f s: %.0f ops/s; %llu "
      "rounds, %llu interleaved, %llu busy swap-offs\n",
      static_cast<unsigned long long>(ops_run),
      static_cast<unsigned long long>(seeds), secs, ops_run / secs,
      static_cast<unsigned long long>(rounds),
      static_cast<unsigned long long>(interleaved),
      static_cast<unsigned long long>(busy));
  EXPECT_EQ(ops_run, seeds * per_seed);
}

}  // namespace
}  // namespace uvmemu::verify
