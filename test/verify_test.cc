// Differential tests against the reference model (test/model/,
// docs/verification.md): random operation sequences, allocation-failure
// sweeps, the shrinker, the checks themselves, a replay of a reported
// sequence, and the soak (Slow_).
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/model/harness.h"
#include "test/model/kernel_check.h"
#include "uvm/uvm.h"

namespace uvmemu::verify {
namespace {

FailurePlan NthFails(uint64_t n) {
  FailurePlan plan;
  plan.fail_nth = n;
  return plan;
}

FailurePlan RandomFails(double probability, uint64_t seed) {
  FailurePlan plan;
  plan.probability = probability;
  plan.seed = seed;
  return plan;
}

// Runs `ops` isolated; on a divergence fails with the full report
// (shrunk sequence, replay command, structure dump).
::testing::AssertionResult Matches(const std::vector<Op>& ops,
                                   const HarnessConfig& config,
                                   std::optional<uint64_t> seed,
                                   const RunOptions& options = {}) {
  const RunResult r = RunIsolated(ops, config, options);
  if (r.ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << FailureReport(ops, config, options, r, seed);
}

// ---------------------------------------------------------------------------
// Random sequences (the default run: 16 seeds x 1000 ops).

class VerifyRandom : public ::testing::TestWithParam<uint64_t> {};

TEST_P(VerifyRandom, RandomOps_MatchTheModelAndKeepEveryInvariant) {
  const std::vector<Op> ops = GenerateOps(GetParam(), 1000, DefaultWeights());
  EXPECT_TRUE(Matches(ops, HarnessConfig(), GetParam()));
}

INSTANTIATE_TEST_SUITE_P(Seeds, VerifyRandom,
                         ::testing::Range<uint64_t>(1, 17));

HarnessConfig SplitHeavyConfig() {
  HarnessConfig config;
  config.span_pages = 16;
  config.max_map_pages = 4;
  return config;
}

TEST(VerifyRandomForkHeavy, ForksAndWrites_MatchTheModel) {
  for (uint64_t seed = 100; seed < 104; seed++)
    ASSERT_TRUE(Matches(GenerateOps(seed, 250, ForkHeavyWeights()),
                        HarnessConfig(), seed));
}

TEST(VerifyRandomPagingHeavy, PageOutsAndSwapOffs_MatchTheModel) {
  PagingOps paging;
  for (uint64_t seed = 400; seed < 404; seed++) {
    const std::vector<Op> ops = GenerateOps(seed, 250, PagingHeavyWeights());
    RunOptions options;
    options.keep_log = true;
    const RunResult r = RunIsolated(ops, HarnessConfig(), options);
    ASSERT_TRUE(r.ok) << FailureReport(ops, HarnessConfig(), options, r, seed);
    const PagingOps n = CountPagingOps(r.log, /*concurrent_only=*/false);
    paging.page_outs += n.page_outs;
    paging.swapoffs_with_pages += n.swapoffs_with_pages;
  }
  // Not vacuous: pages went to swap, and swap-offs had some to bring back.
  EXPECT_GT(paging.page_outs, 10u);
  EXPECT_GT(paging.swapoffs_with_pages, 5u);
}

TEST(VerifyRandomSplitHeavy, SplitsAndMerges_MatchTheModel) {
  for (uint64_t seed = 200; seed < 204; seed++)
    ASSERT_TRUE(Matches(GenerateOps(seed, 250, SplitHeavyWeights()),
                        SplitHeavyConfig(), seed));
}

// One in twenty fallible allocations fails: faults wait and retry,
// per-page counts may be missing (PPREF_NONE), merges are skipped; none
// of it may show.
TEST(VerifyRandomFailures, RandomAllocationFailures_MatchTheModel) {
  for (uint64_t seed = 300; seed < 303; seed++) {
    RunOptions options;
    options.plan = RandomFails(0.05, seed);
    const std::vector<Op> ops = GenerateOps(seed, 300, DefaultWeights());
    const RunResult r = RunIsolated(ops, HarnessConfig(), options);
    ASSERT_TRUE(r.ok) << FailureReport(ops, HarnessConfig(), options, r, seed);
    EXPECT_GT(r.failure_points, 0u);
  }
}

// ---------------------------------------------------------------------------
// Allocation-failure sweep: each failure point of a scenario fails in
// turn (FailurePlan::fail_nth); every run must match the model, keep the
// invariants and end with nothing leaked.

void SweepScenario(uint64_t seed, size_t nops, const Weights& weights,
                   const HarnessConfig& config) {
  const std::vector<Op> ops = GenerateOps(seed, nops, weights);
  const RunResult counted = RunIsolated(ops, config);
  ASSERT_TRUE(counted.ok) << FailureReport(ops, config, {}, counted, seed);
  ASSERT_GT(counted.failure_points, 0u) << "seed " << seed;
  std::printf("seed %llu: %zu ops, %llu failure points\n",
              static_cast<unsigned long long>(seed), nops,
              static_cast<unsigned long long>(counted.failure_points));
  for (uint64_t n = 1; n <= counted.failure_points; n++) {
    RunOptions options;
    options.plan = NthFails(n);
    const RunResult r = RunIsolated(ops, config, options);
    ASSERT_TRUE(r.ok) << "failure point " << n << " of "
                      << counted.failure_points << ":\n"
                      << FailureReport(ops, config, options, r, seed);
    // The Nth point was met and failed (the run is not vacuous).
    EXPECT_EQ(r.failures_injected, 1u) << "failure point " << n;
  }
}

TEST(VerifyFailureSweep, EveryNthAllocationFailing_MatchesTheModel) {
  // Seed 400 allocates nothing fallible since the paging kinds joined.
  for (uint64_t seed : {403, 401, 402})
    SweepScenario(seed, 40, DefaultWeights(), HarnessConfig());
  SweepScenario(410, 100, ForkHeavyWeights(), HarnessConfig());
  SweepScenario(420, 60, SplitHeavyWeights(), SplitHeavyConfig());
  SweepScenario(430, 60, PagingHeavyWeights(), HarnessConfig());
}

// ---------------------------------------------------------------------------
// The harness itself.

TEST(VerifyShrink, Ddmin_FindsTheTwoOpsThatTogetherFail) {
  std::vector<Op> ops = GenerateOps(7, 200, DefaultWeights());
  for (Op& op : ops) op.d = 0;
  ops[37].d = 1;
  ops[150].d = 2;
  size_t tests = 0;
  const std::vector<Op> shrunk = Shrink(ops, [&](const std::vector<Op>& sub) {
    tests++;
    bool one = false, two = false;
    for (const Op& op : sub) {
      one |= op.d == 1;
      two |= op.d == 2;
    }
    return one && two;
  });
  ASSERT_EQ(shrunk.size(), 2u);
  EXPECT_EQ(shrunk[0], ops[37]);
  EXPECT_EQ(shrunk[1], ops[150]);
  EXPECT_LT(tests, 100u);
}

// A planted copy-on-write bug: once an anon is shared by two amaps, a
// byte of its page changes behind the model's back.  The report must
// carry a shrunk sequence that still fails, the replay line and the dump.
TEST(VerifyReport, PlantedCowBug_IsShrunkAndReported) {
  HarnessConfig config;
  config.after_step = [](Harness& h) {
    for (size_t p = 0; p < h.process_count(); p++) {
      vm_map* map = &h.space(p)->vm_map;
      for (vm_map_entry* e = uvm_map_first(map); e != nullptr;
           e = uvm_map_next(map, e)) {
        const vm_amap* amap = e->aref.ar_amap;
        for (int s = 0; amap != nullptr && s < amap->am_nslot; s++) {
          vm_anon* anon = amap->am_anon[s];
          if (anon != nullptr && anon->an_ref > 1 && anon->an_page != nullptr) {
            static_cast<char*>(uvm_pagedata(anon->an_page))[7] ^= 0x40;
            return;
          }
        }
      }
    }
  };
  const std::vector<Op> ops = GenerateOps(11, 300, DefaultWeights());
  const RunResult r = RunIsolated(ops, config);
  ASSERT_FALSE(r.ok);
  const std::string report = FailureReport(ops, config, {}, r, 11);
  std::printf("%s", report.c_str());  // what a report looks like
  EXPECT_THAT(report, ::testing::HasSubstr("seed 11: divergence at op"));
  EXPECT_THAT(report, ::testing::HasSubstr("replay: UVMEMU_VERIFY_OPS='"));
  EXPECT_THAT(report, ::testing::HasSubstr("structure dump at the failure"));
  EXPECT_THAT(report, ::testing::HasSubstr("amap: ref"));
  EXPECT_THAT(report, ::testing::Not(::testing::HasSubstr("no longer fails")));
  // map, write, fork and a fault that copies the amap: a handful of ops.
  const size_t at = report.find("shrunk to ");
  ASSERT_NE(at, std::string::npos);
  const int shrunk = std::atoi(report.c_str() + at + 10);
  EXPECT_GE(shrunk, 3);
  EXPECT_LE(shrunk, 8) << report;
  EXPECT_LT(static_cast<size_t>(shrunk), r.failed_op + 1);
}

TEST(VerifyOps, TextAndBytes_RoundTrip) {
  const std::vector<Op> ops = GenerateOps(9, 50, DefaultWeights());
  EXPECT_EQ(ParseOps(OpsToString(ops)), ops);
  EXPECT_FALSE(ParseOps("map 1 2 3").has_value());
  EXPECT_FALSE(ParseOps("jump 1 2 3 4").has_value());
  std::vector<Op> small = ops;
  for (Op& op : small) {
    op.a &= 0xff;
    op.b &= 0xff;
    op.c &= 0xff;
    op.d &= 0xffff;
  }
  const std::vector<uint8_t> bytes = EncodeOps(small);
  EXPECT_EQ(DecodeOps(bytes.data(), bytes.size(), DefaultWeights()), small);
}

// A corrupted kernel is caught: each corruption below must fail Check().
class VerifyChecks : public ::testing::Test {
 protected:
  // Runs a few ops that leave a written, forked mapping, corrupts with
  // `corrupt`, and returns what Check() says (in a child process: the
  // kernel is left corrupt).
  static std::string CheckAfter(void (*corrupt)(vmspace*)) {
    int fds[2];
    if (pipe(fds) != 0) return "pipe failed";
    const pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      auto h = std::make_unique<Harness>(HarnessConfig());
      std::string out;
      for (const char* text : {"map 0 0 3 1", "write 0 1 4 1", "write 0 17 4 3",
                               "fork 0 0 0 0", "read 1 1 0 1"}) {
        const absl::Status s = h->Step(ParseOps(text)->front());
        if (!s.ok()) out += "setup: " + std::string(s.message());
      }
      if (absl::Status s = h->Check(); !s.ok())
        out += "before: " + std::string(s.message());
      // The child's process (index 1) is the one to corrupt.
      corrupt(h->space(1));
      const absl::Status s = h->Check();
      out += s.ok() ? std::string("OK") : std::string(s.message());
      (void)write(fds[1], out.data(), out.size());
      _exit(0);
    }
    close(fds[1]);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;)
      out.append(buf, n);
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    return out;
  }
};

vm_map_entry* FirstEntry(vmspace* vm) { return uvm_map_first(&vm->vm_map); }

TEST_F(VerifyChecks, AnonReferenceOff_IsCaught) {
  EXPECT_THAT(CheckAfter([](vmspace* vm) {
                vm_map_entry* e = FirstEntry(vm);
                e->aref.ar_amap->am_anon[e->aref.ar_pageoff]->an_ref++;
              }),
              ::testing::HasSubstr("an_ref"));
}

TEST_F(VerifyChecks, PageByteChanged_IsCaught) {
  EXPECT_THAT(CheckAfter([](vmspace* vm) {
                vm_map_entry* e = FirstEntry(vm);
                vm_anon* anon = e->aref.ar_amap->am_anon[e->aref.ar_pageoff];
                static_cast<char*>(uvm_pagedata(anon->an_page))[100] ^= 1;
              }),
              ::testing::HasSubstr("byte 100"));
}

TEST_F(VerifyChecks, AmapReferenceOff_IsCaught) {
  EXPECT_THAT(
      CheckAfter([](vmspace* vm) { FirstEntry(vm)->aref.ar_amap->am_ref++; }),
      ::testing::HasSubstr("am_ref"));
}

TEST_F(VerifyChecks, EntryProtectionChanged_IsCaught) {
  EXPECT_THAT(CheckAfter([](vmspace* vm) {
                FirstEntry(vm)->protection = VM_PROT_READ;
              }),
              ::testing::HasSubstr("the model rw-"));
}

// ---------------------------------------------------------------------------
// Replays a sequence from a report: UVMEMU_VERIFY_OPS='map 1 2 3 4; ...'
// (and UVMEMU_VERIFY_FAIL_NTH=n for a sweep's failure), or a generated
// one: UVMEMU_VERIFY_SEED=s [UVMEMU_VERIFY_COUNT=n]
// [UVMEMU_VERIFY_WEIGHTS=default|fork|paging|split].  With
// UVMEMU_VERIFY_LWPS=random:<seed> or pct:<seed>[:<depth>:<steps>] the ops
// run as LWPs under that schedule (UVMEMU_REPLAY=<string> to follow a
// replay string instead, decision by decision).

TEST(VerifyReplay, FromEnvironment_MatchesTheModel) {
  const char* text = std::getenv("UVMEMU_VERIFY_OPS");
  const char* seed = std::getenv("UVMEMU_VERIFY_SEED");
  if (text == nullptr && seed == nullptr)
    GTEST_SKIP() << "set UVMEMU_VERIFY_OPS or UVMEMU_VERIFY_SEED";
  std::vector<Op> ops;
  std::optional<uint64_t> s;
  if (text != nullptr) {
    std::optional<std::vector<Op>> parsed = ParseOps(text);
    ASSERT_TRUE(parsed.has_value()) << "cannot parse UVMEMU_VERIFY_OPS";
    ops = *parsed;
  } else {
    s = std::strtoull(seed, nullptr, 0);
    const char* count = std::getenv("UVMEMU_VERIFY_COUNT");
    const std::string weights = std::getenv("UVMEMU_VERIFY_WEIGHTS")
                                    ? std::getenv("UVMEMU_VERIFY_WEIGHTS")
                                    : "default";
    Weights w = DefaultWeights();
    if (weights == "fork")
      w = ForkHeavyWeights();
    else if (weights == "paging")
      w = PagingHeavyWeights();
    else if (weights == "split")
      w = SplitHeavyWeights();
    else
      ASSERT_EQ(weights, "default")
          << "UVMEMU_VERIFY_WEIGHTS: default, fork, paging or split";
    ops = GenerateOps(*s, count ? std::strtoull(count, nullptr, 0) : 1000, w);
  }
  RunOptions options;
  if (const char* nth = std::getenv("UVMEMU_VERIFY_FAIL_NTH"))
    options.plan = NthFails(std::strtoull(nth, nullptr, 0));
  if (const char* lwps = std::getenv("UVMEMU_VERIFY_LWPS")) {
    options.schedule = ParseScheduleArg(lwps);
    ASSERT_TRUE(options.schedule.has_value())
        << "UVMEMU_VERIFY_LWPS: random:<seed> or pct:<seed>[:<depth>:<steps>]";
  }
  options.keep_log = true;
  const RunResult r = RunIsolated(ops, HarnessConfig(), options);
  for (size_t i = 0; i < r.log.size(); i++)
    std::printf("%4zu %s\n", i, r.log[i].c_str());
  if (options.schedule)
    std::printf("%llu rounds, %llu interleaved; schedule %s\n",
                static_cast<unsigned long long>(r.rounds),
                static_cast<unsigned long long>(r.interleaved_rounds),
                r.replay.c_str());
  EXPECT_TRUE(r.ok) << FailureReport(ops, HarnessConfig(), options, r, s);
}

// ---------------------------------------------------------------------------
// The soak: 10^6 operations over 1000 seeds (label slow).

TEST(Slow_VerifySoak, MillionOps_MatchTheModel) {
  const uint64_t seeds = 1000, per_seed = 1000;
  const auto start = std::chrono::steady_clock::now();
  uint64_t ops_run = 0;
  for (uint64_t seed = 1000000; seed < 1000000 + seeds; seed++) {
    const std::vector<Op> ops = GenerateOps(seed, per_seed, DefaultWeights());
    const RunResult r = RunIsolated(ops, HarnessConfig());
    ops_run += r.steps;
    ASSERT_TRUE(r.ok) << FailureReport(ops, HarnessConfig(), {}, r, seed);
    if ((seed + 1) % 100 == 0)
      std::printf("soak: %llu seeds, %llu ops\n",
                  static_cast<unsigned long long>(seed + 1 - 1000000),
                  static_cast<unsigned long long>(ops_run));
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf("soak: %llu ops over %llu seeds in %.1f s: %.0f ops/s\n",
              static_cast<unsigned long long>(ops_run),
              static_cast<unsigned long long>(seeds), secs, ops_run / secs);
  EXPECT_EQ(ops_run, seeds * per_seed);
}

}  // namespace
}  // namespace uvmemu::verify
