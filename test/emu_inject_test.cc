// Unit tests of failure injection (emu/inject.cc).
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <sys/kmem.h>

#include "emu/inject_point.h"
#include "uvmemu/inject.h"
#include "uvmemu/trace.h"

namespace {

using uvmemu::AllocKind;
using uvmemu::FailurePlan;
using uvmemu::ScopedFailurePlan;
using uvmemu::inject::ShouldFail;

const kmem_site kExtend504 = {"lib/uvm_amap.cc", "amap_extend", 504};
const kmem_site kExtend505 = {"lib/uvm_amap.cc", "amap_extend", 505};
const kmem_site kAlloc1 = {"lib/uvm_amap.cc", "amap_alloc1", 200};

// The decisions for `n` points at alternating sites.
std::vector<bool> Decisions(const FailurePlan& plan, int n) {
  ScopedFailurePlan scoped(plan);
  std::vector<bool> out;
  for (int i = 0; i < n; i++)
    out.push_back(ShouldFail(AllocKind::kKmem, i % 2 ? &kAlloc1 : &kExtend504));
  return out;
}

TEST(Inject, NoPlan_NeverFails) {
  for (int i = 0; i < 100; i++)
    EXPECT_FALSE(ShouldFail(AllocKind::kKmem, &kAlloc1));
}

TEST(Inject, FailNth_FailsExactlyTheNthPoint) {
  for (uint64_t n = 1; n <= 6; n++) {
    FailurePlan plan;
    plan.fail_nth = n;
    ScopedFailurePlan scoped(plan);
    for (uint64_t i = 1; i <= 8; i++)
      EXPECT_EQ(ShouldFail(AllocKind::kPool, &kAlloc1), i == n)
          << "n=" << n << " i=" << i;
    EXPECT_EQ(scoped.points_seen(), 8u);
    EXPECT_EQ(scoped.failures_injected(), 1u);
  }
}

TEST(Inject, FailSite_MatchesFunctionAndLine) {
  struct Case {
    const char* site;
    bool e504, e505, a200;
  } cases[] = {
      {"amap_extend", true, true, false},
      {"amap_extend:504", true, false, false},
      {"amap_extend:505", false, true, false},
      {"amap_alloc1:200", false, false, true},
      {"amap_alloc1", false, false, true},
      {"amap_ext", false, false, false},
      {"amap_extend:50", false, false, false},
      {"amap_extend:5045", false, false, false},
      {"uvm_amap.cc:504", false, false, false},
  };
  for (const Case& c : cases) {
    FailurePlan plan;
    plan.fail_site = c.site;
    ScopedFailurePlan scoped(plan);
    EXPECT_EQ(ShouldFail(AllocKind::kKmem, &kExtend504), c.e504) << c.site;
    EXPECT_EQ(ShouldFail(AllocKind::kKmem, &kExtend505), c.e505) << c.site;
    EXPECT_EQ(ShouldFail(AllocKind::kKmem, &kAlloc1), c.a200) << c.site;
    EXPECT_FALSE(ShouldFail(AllocKind::kPage, nullptr)) << c.site;
  }
}

// The algorithm documented in emu/inject.cc, written out independently.
uint64_t RefSplitMix64(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

TEST(Inject, Probability_IsReproducibleForASeed) {
  // SplitMix64's published first output for seed 0
  uint64_t s0 = 0;
  EXPECT_EQ(RefSplitMix64(s0), 0xe220a8397b1dcdafULL);

  FailurePlan plan;
  plan.probability = 0.3;
  plan.seed = 42;
  const std::vector<bool> a = Decisions(plan, 2000);
  const std::vector<bool> b = Decisions(plan, 2000);
  EXPECT_EQ(a, b);

  uint64_t state = plan.seed;
  int fails = 0;
  for (size_t i = 0; i < a.size(); i++) {
    const double u = static_cast<double>(RefSplitMix64(state) >> 11) /
                     9007199254740992.0;
    ASSERT_EQ(a[i], u < 0.3) << i;
    fails += a[i];
  }
  EXPECT_GT(fails, 500);
  EXPECT_LT(fails, 700);

  plan.seed = 43;
  EXPECT_NE(Decisions(plan, 2000), a);

  plan.probability = 0.0;
  for (bool d : Decisions(plan, 100)) EXPECT_FALSE(d);
  plan.probability = 1.0;
  for (bool d : Decisions(plan, 100)) EXPECT_TRUE(d);
}

TEST(Inject, Probability_DrawsAtEveryPointWhateverTheOtherRules) {
  FailurePlan plan;
  plan.probability = 0.5;
  plan.seed = 7;
  std::vector<bool> base = Decisions(plan, 50);
  plan.fail_nth = 10;
  std::vector<bool> with_nth = Decisions(plan, 50);
  base[9] = true;
  EXPECT_EQ(with_nth, base);
}

TEST(Inject, NestedPlan_RestoresOuter) {
  FailurePlan outer_plan;
  outer_plan.fail_nth = 3;
  ScopedFailurePlan outer(outer_plan);
  EXPECT_FALSE(ShouldFail(AllocKind::kKmem, &kAlloc1));  // outer #1
  {
    FailurePlan inner_plan;
    inner_plan.fail_site = "amap_alloc1";
    ScopedFailurePlan inner(inner_plan);
    EXPECT_TRUE(ShouldFail(AllocKind::kKmem, &kAlloc1));    // outer #2
    EXPECT_FALSE(ShouldFail(AllocKind::kKmem, &kExtend504));  // outer #3
    EXPECT_EQ(inner.points_seen(), 2u);
    EXPECT_EQ(inner.failures_injected(), 1u);
  }
  // the outer plan decides again; its count went on under the inner one
  EXPECT_EQ(outer.points_seen(), 3u);
  EXPECT_EQ(outer.failures_injected(), 1u);
  EXPECT_FALSE(ShouldFail(AllocKind::kKmem, &kAlloc1));  // outer #4
  EXPECT_EQ(outer.points_seen(), 4u);
}

TEST(Inject, FailurePointsSeen_IsMonotonic) {
  const uint64_t before = uvmemu::FailurePointsSeen();
  ShouldFail(AllocKind::kKmem, &kAlloc1);
  {
    ScopedFailurePlan scoped(FailurePlan{});
    ShouldFail(AllocKind::kPage, nullptr);
    ShouldFail(AllocKind::kPool, &kAlloc1);
  }
  EXPECT_EQ(uvmemu::FailurePointsSeen(), before + 3);
}

TEST(Inject, InjectedFailure_IsLoggedToTrace) {
  uvmemu::Trace::Clear();
  FailurePlan plan;
  plan.fail_nth = 2;
  {
    ScopedFailurePlan scoped(plan);
    ShouldFail(AllocKind::kKmem, &kAlloc1);
    ShouldFail(AllocKind::kPool, &kExtend504);
  }
  const auto tail = uvmemu::Trace::Tail();
  ASSERT_EQ(tail.size(), 1u);
  EXPECT_STREQ(tail[0].history, "maphist");
  EXPECT_STREQ(tail[0].function, "inject");
  EXPECT_EQ(uvmemu::Trace::Format(tail[0]),
            "#1 lwp1 inject: injected failure #1 at point #2 (kind 1), "
            "line 504");
}

}  // namespace
