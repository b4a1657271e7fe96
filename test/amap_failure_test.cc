// Allocation-failure sweeps over the amap operations that may fail:
// every failure point of an operation is made to fail in turn (and, for
// a mixed sequence, at random with fixed seeds); each run must either
// succeed or fail cleanly, keep every amap consistent and leak nothing.
//
// The harness is SweepFailurePoints() in test/amap_fixture.h: it counts
// the points of the scenario's Armed() region with an inactive plan,
// then reruns the scenario once per point with FailurePlan::fail_nth.
#include <gtest/gtest.h>

#include <cerrno>
#include <vector>

#include "test/amap_fixture.h"

namespace uvmemu::testing {
namespace {

using AmapFailureTest = AmapTest;

constexpr vaddr_t kBase = 0x100000;

// An amap of `slots` (+ `pad`) slots with anons tagged 10 + slot at each
// of `used`.
vm_amap* BuildAmap(int slots, int pad, const std::vector<int>& used) {
  vm_amap* amap = amap_alloc(slots * kPage, pad * kPage, 0);
  EXPECT_NE(amap, nullptr);
  vm_aref whole{0, amap};
  for (int slot : used) AddAnon(&whole, slot, 10 + slot);
  return amap;
}

// ---------------------------------------------------------------------------
// amap_alloc with UVM_FLAG_NOWAIT: pool_cache_get, then am_slots,
// am_bckptr and am_anon.

TEST_F(AmapFailureTest,
       AllocNowait_EachFailurePoint_ReturnsNullLeakingNothing) {
  const uint64_t points = SweepFailurePoints([](SweepRun& run) {
    vm_amap* amap =
        run.Armed([] { return amap_alloc(10 * kPage, 0, UVM_FLAG_NOWAIT); });
    if (run.injected()) {
      EXPECT_EQ(amap, nullptr);
      EXPECT_EQ(amap_list_count(), 0);
      return;
    }
    ASSERT_NE(amap, nullptr);
    EXPECT_TRUE(AmapConsistent(amap));
    EXPECT_EQ(amap->am_nslot, 10);
    EXPECT_EQ(amap->am_maxslot, 10);
    EXPECT_EQ(amap->am_ref, 1);
    EXPECT_EQ(amap_list_count(), 1);
    amap_unref(amap, 0, 10, true);
  });
  EXPECT_EQ(points, 4u);
}

TEST_F(AmapFailureTest, AllocNowait_ArrayAllocationFails_AddsExtrapagesHint) {
  // 1024 slots need (2 * sizeof(int) + sizeof(vm_anon *)) * 1024 = 16 KiB
  // of arrays: a failed array allocation asks the pagedaemon for 4 more
  // pages; a failed pool_cache_get returns before the hint.
  const uint64_t points = SweepFailurePoints([](SweepRun& run) {
    const unsigned int extra = uvm_extrapages;
    vm_amap* amap =
        run.Armed([] { return amap_alloc(1024 * kPage, 0, UVM_FLAG_NOWAIT); });
    const unsigned int added = uvm_extrapages - extra;
    if (run.fail_nth() == 1) {
      EXPECT_EQ(amap, nullptr);
      EXPECT_EQ(added, 0u);
    } else if (run.injected()) {
      EXPECT_EQ(amap, nullptr);
      EXPECT_EQ(added, 4u);
    } else {
      ASSERT_NE(amap, nullptr);
      EXPECT_EQ(added, 0u);
      amap_unref(amap, 0, 1024, true);
    }
  });
  EXPECT_EQ(points, 4u);
}

// ---------------------------------------------------------------------------
// amap_extend case 3 with AMAP_EXTEND_NOWAIT.

TEST_F(AmapFailureTest,
       ExtendBackwardsNowait_EachFailurePoint_EnomemLeavesAmapUnchanged) {
  const uint64_t points = SweepFailurePoints([](SweepRun& run) {
    vm_amap* amap = BuildAmap(4, 0, {0, 1, 3});
    LooseEntry e(kBase, kBase + 4 * kPage, amap);
    const AmapSnapshot before = Snapshot(amap);
    const ResourceCounts counts = Kernel::Counts();

    const int error = run.Armed([&] {
      return amap_extend(&e.entry, 3 * kPage,
                         AMAP_EXTEND_BACKWARDS | AMAP_EXTEND_NOWAIT);
    });
    EXPECT_TRUE(AmapConsistent(amap));
    if (run.injected()) {
      EXPECT_EQ(error, ENOMEM);
      EXPECT_EQ(Snapshot(amap), before);
      EXPECT_EQ(e.entry.aref.ar_pageoff, 0);
      EXPECT_EQ(Kernel::Counts(), counts);
    } else {
      EXPECT_EQ(error, 0);
      EXPECT_EQ(amap->am_nslot, 8);
      EXPECT_EQ(e.entry.aref.ar_pageoff, 1);
      EXPECT_EQ(TagsBySlot(amap), (SlotTags{{4, 10}, {5, 11}, {7, 13}}));
    }
    amap_unref(amap, 0, amap->am_nslot, true);
  });
  EXPECT_EQ(points, 3u);
}

TEST_F(AmapFailureTest,
       ExtendBackwardsNowaitWithPpref_EachFailurePoint_PprefOptional) {
  const uint64_t points = SweepFailurePoints([](SweepRun& run) {
    vm_amap* amap = BuildAmap(4, 0, {0, 1, 2, 3});
    LooseEntry left(kBase, kBase + 4 * kPage, amap);
    LooseEntry right = SplitLoose(&left, 2);
    UnrefEntry(&left.entry);
    const AmapSnapshot before = Snapshot(amap);
    const ResourceCounts counts = Kernel::Counts();

    const int error = run.Armed([&] {
      return amap_extend(&right.entry, 4 * kPage,
                         AMAP_EXTEND_BACKWARDS | AMAP_EXTEND_NOWAIT);
    });
    EXPECT_TRUE(AmapConsistent(amap));
    if (run.fail_nth() >= 2) {  // am_slots, am_bckptr or am_anon
      EXPECT_EQ(error, ENOMEM);
      EXPECT_EQ(Snapshot(amap), before);
      EXPECT_EQ(right.entry.aref.ar_pageoff, 2);
      EXPECT_EQ(Kernel::Counts(), counts);
    } else {  // success, or only the (optional) ppref array failed
      EXPECT_EQ(error, 0);
      EXPECT_EQ(amap->am_nslot, 6);
      EXPECT_EQ(amap->am_maxslot, 6);
      EXPECT_EQ(right.entry.aref.ar_pageoff, 0);
      EXPECT_EQ(TagsBySlot(amap), (SlotTags{{4, 12}, {5, 13}}));
      if (run.fail_nth() == 1) {
        EXPECT_EQ(amap->am_ppref, PPREF_NONE);
      } else {
        EXPECT_EQ(PpRuns(amap), (Runs{{0, 4, 1}, {4, 2, 1}}));
      }
      right.entry.start -= 4 * kPage;
    }
    UnrefEntry(&right.entry);
  });
  EXPECT_EQ(points, 4u);
}

// ---------------------------------------------------------------------------
// amap_pp_establish (always KM_NOSLEEP): failure leaves PPREF_NONE and
// the amap works on without per-page counts.

TEST_F(AmapFailureTest, SplitrefEstablishFails_PprefNoneAndUnmapKeepsAnons) {
  const uint64_t points = SweepFailurePoints([](SweepRun& run) {
    vm_amap* amap = BuildAmap(8, 0, {0, 1, 2, 3, 4, 5, 6, 7});
    LooseEntry left(kBase, kBase + 8 * kPage, amap);
    LooseEntry right = run.Armed([&] { return SplitLoose(&left, 4); });
    EXPECT_TRUE(AmapConsistent(amap));
    EXPECT_EQ(amap->am_ref, 2);  // the split happens either way
    EXPECT_EQ(right.entry.aref.ar_pageoff, 4);
    if (run.injected()) {
      EXPECT_EQ(amap->am_ppref, PPREF_NONE);
    } else {
      EXPECT_EQ(PpRuns(amap), (Runs{{0, 8, 1}}));
    }

    UnrefEntry(&right.entry);  // unmap the right half
    EXPECT_TRUE(AmapConsistent(amap));
    EXPECT_EQ(amap->am_ref, 1);
    if (run.injected()) {
      // without ppref nothing can tell [4, 8) is free: its anons stay
      // until the amap goes
      EXPECT_EQ(amap->am_ppref, PPREF_NONE);
      EXPECT_EQ(amap->am_nused, 8);
      EXPECT_EQ(uvm_anon_count(), 8);
    } else {
      EXPECT_EQ(PpRuns(amap), (Runs{{0, 4, 1}, {4, 4, 0}}));
      EXPECT_EQ(amap->am_nused, 4);
      EXPECT_EQ(uvm_anon_count(), 4);
    }
    // the left half reads its own pages either way
    amap_lock(amap);
    for (int page = 0; page < 4; page++)
      EXPECT_EQ(AnonTag(amap_lookup(&left.entry.aref, page * kPage)),
                10 + page);
    amap_unlock(amap);

    UnrefEntry(&left.entry);  // last reference: everything goes
    EXPECT_EQ(uvm_anon_count(), 0);
  });
  EXPECT_EQ(points, 1u);
}

TEST_F(AmapFailureTest, PartialRefEstablishFails_PprefNoneIsNotRetried) {
  const uint64_t points = SweepFailurePoints([](SweepRun& run) {
    vm_amap* amap = BuildAmap(8, 0, {0, 5});
    run.Armed([&] { amap_ref(amap, 0, 4, 0); });
    EXPECT_TRUE(AmapConsistent(amap));
    EXPECT_EQ(amap->am_ref, 2);
    if (run.injected()) {
      EXPECT_EQ(amap->am_ppref, PPREF_NONE);
    } else {
      EXPECT_EQ(PpRuns(amap), (Runs{{0, 4, 2}, {4, 4, 1}}));
    }

    // more partial references: PPREF_NONE is final, nothing allocates
    {
      ScopedFailurePlan counting(FailurePlan{});
      amap_ref(amap, 2, 2, 0);
      amap_unref(amap, 2, 2, false);
      EXPECT_EQ(counting.points_seen(), 0u);
    }
    EXPECT_EQ(amap->am_ref, 2);
    EXPECT_TRUE(AmapConsistent(amap));

    amap_unref(amap, 0, 4, false);
    EXPECT_EQ(amap->am_ref, 1);
    EXPECT_EQ(TagsBySlot(amap), (SlotTags{{0, 10}, {5, 15}}));
    if (!run.injected()) {
      EXPECT_EQ(PpRefs(amap), (std::vector<int>{1, 1, 1, 1, 1, 1, 1, 1}));
    }
    amap_unref(amap, 0, 8, false);
  });
  EXPECT_EQ(points, 1u);
}

// ---------------------------------------------------------------------------
// amap_copy with AMAP_COPY_NOWAIT after a clip: the clip's ppref
// (point 1) and the copy's amap_alloc1 (points 2-5).

TEST_F(AmapFailureTest, ClipThenCopyNowait_EachFailurePoint_FailsCleanly) {
  const uint64_t points = SweepFailurePoints([](SweepRun& run) {
    TestMap m;
    vm_amap* amap = BuildAmap(8, 0, {0, 1, 2, 3, 4, 5, 6, 7});
    vm_map_entry* left = m.Add(kBase, kBase + 8 * kPage, amap);
    vm_map_entry* right = nullptr;
    run.Armed([&] {
      mutex_enter(&m.map()->lock);
      uvm_map_clip_end(m.map(), left, kBase + 4 * kPage, nullptr);
      mutex_exit(&m.map()->lock);
      right = m.Entries()[1];
      m.Copy(right, AMAP_COPY_NOWAIT, right->start, right->end);
    });
    ASSERT_EQ(m.Entries().size(), 2u);
    EXPECT_TRUE(AmapConsistent(amap));
    EXPECT_TRUE(UVM_ET_ISNEEDSCOPY(left));
    const bool ppref_failed = run.fail_nth() == 1;
    const bool copy_failed = run.fail_nth() >= 2;
    if (copy_failed) {
      EXPECT_EQ(right->aref.ar_amap, amap);
      EXPECT_TRUE(UVM_ET_ISNEEDSCOPY(right));
      EXPECT_EQ(right->aref.ar_pageoff, 4);
      EXPECT_EQ(amap->am_ref, 2);
      EXPECT_EQ(PpRuns(amap), (Runs{{0, 8, 1}}));
      EXPECT_EQ(amap->am_nused, 8);
    } else {
      vm_amap* copy = right->aref.ar_amap;
      ASSERT_NE(copy, amap);
      EXPECT_TRUE(AmapConsistent(copy));
      EXPECT_FALSE(UVM_ET_ISNEEDSCOPY(right));
      EXPECT_EQ(TagsBySlot(copy),
                (SlotTags{{0, 14}, {1, 15}, {2, 16}, {3, 17}}));
      EXPECT_EQ(amap->am_ref, 1);
      if (ppref_failed) {
        // the source cannot drop the right half's slots: their anons are
        // shared by source and copy until the source goes
        EXPECT_EQ(amap->am_ppref, PPREF_NONE);
        EXPECT_EQ(amap->am_nused, 8);
        EXPECT_EQ(copy->am_anon[0]->an_ref, 2);
      } else {
        EXPECT_EQ(PpRuns(amap), (Runs{{0, 4, 1}, {4, 4, 0}}));
        EXPECT_EQ(amap->am_nused, 4);
        EXPECT_EQ(copy->am_anon[0]->an_ref, 1);
      }
    }
    EXPECT_EQ(uvm_anon_count(), 8);
  });
  EXPECT_EQ(points, 5u);
}

// ---------------------------------------------------------------------------
// A mixed sequence under random failures: every page keeps its data.

// Expects every page of every entry of `m` to hold the anon tagged
// 10 + (page - kBase) / kPage if that page is below kBase + 4 pages, and
// no anon above (pages added later were never written).
void ExpectPagesIntact(const TestMap& m) {
  for (vm_map_entry* e : m.Entries()) {
    vm_amap* amap = e->aref.ar_amap;
    if (amap == nullptr) continue;
    EXPECT_TRUE(AmapConsistent(amap));
    amap_lock(amap);
    for (int page = 0; page < EntrySlots(e); page++) {
      const long va_page = static_cast<long>((e->start - kBase) / kPage) + page;
      vm_anon* anon = amap_lookup(&e->aref, page * kPage);
      if (va_page < 4) {
        ASSERT_NE(anon, nullptr) << "page " << va_page;
        EXPECT_EQ(AnonTag(anon), 10 + va_page) << "page " << va_page;
      } else {
        EXPECT_EQ(anon, nullptr) << "page " << va_page;
      }
    }
    amap_unlock(amap);
  }
}

TEST_F(AmapFailureTest, MixedSequence_RandomFailures_ConsistentAndLeakFree) {
  uint64_t injected = 0;
  for (uint64_t seed = 1; seed <= 40; seed++) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    FailurePlan plan;
    plan.probability = 0.3;
    plan.seed = seed;
    {
      TestMap m;
      vm_map_entry* e = m.Add(kBase, kBase + 4 * kPage);
      {
        ScopedFailurePlan scoped(plan);
        m.Copy(e, AMAP_COPY_NOWAIT, e->start, e->end);
        injected += scoped.failures_injected();
      }
      if (e->aref.ar_amap == nullptr) m.Copy(e, 0, e->start, e->end);
      ASSERT_NE(e->aref.ar_amap, nullptr);
      for (int slot = 0; slot < 4; slot++) AddAnon(&e->aref, slot, 10 + slot);
      ExpectPagesIntact(m);

      {
        ScopedFailurePlan scoped(plan);
        const int error = amap_extend(
            e, 4 * kPage, AMAP_EXTEND_FORWARDS | AMAP_EXTEND_NOWAIT);
        EXPECT_TRUE(error == 0 || error == ENOMEM) << error;
        if (error == 0) {
          mutex_enter(&m.map()->lock);
          uvm_map_entry_unlink(m.map(), e);
          e->end += 4 * kPage;
          uvm_map_entry_link(m.map(), e);
          mutex_exit(&m.map()->lock);
        }
        injected += scoped.failures_injected();
      }
      ExpectPagesIntact(m);

      {
        ScopedFailurePlan scoped(plan);
        mutex_enter(&m.map()->lock);
        uvm_map_clip_end(m.map(), e, kBase + 2 * kPage, nullptr);
        mutex_exit(&m.map()->lock);
        injected += scoped.failures_injected();
      }
      ExpectPagesIntact(m);

      for (vm_map_entry* entry : m.Entries()) {
        ScopedFailurePlan scoped(plan);
        m.Copy(entry, AMAP_COPY_NOWAIT, entry->start, entry->end);
        injected += scoped.failures_injected();
      }
      ExpectPagesIntact(m);
    }
    const absl::Status leaks = Kernel::CheckNoLeaks();
    ASSERT_TRUE(leaks.ok()) << leaks.message();
  }
  // the seeds are fixed: this only checks the test exercises failures
  EXPECT_GT(injected, 10u);
}

}  // namespace
}  // namespace uvmemu::testing
