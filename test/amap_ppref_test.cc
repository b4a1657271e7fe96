// Per-page reference counts: amap_pp_establish, amap_pp_adjref,
// amap_splitref, amap_ref and amap_unref on partial ranges.
#include <gtest/gtest.h>

#include <vector>

#include "test/amap_fixture.h"

namespace uvmemu::testing {
namespace {

using AmapPprefTest = AmapTest;
using Refs = std::vector<int>;

// Establishes ppref as the kernel does for an amap whose references all
// start at slot 0 (a partial amap_ref at offset N instead would count
// slots [0, N) as unreferenced).
void EstablishPpref(vm_amap* amap) {
  amap_lock(amap);
  amap_pp_establish(amap, 0);
  amap_unlock(amap);
}

TEST_F(AmapPprefTest, Ref_PartialRanges_BuildTheSeedCommentExample) {
  vm_amap* amap = amap_alloc(16 * kPage, 0, 0);
  amap_ref(amap, 0, 5, 0);  // establishes ppref: all 1, then [0,5) += 1
  amap_ref(amap, 4, 1, 0);
  for (int i = 0; i < 3; i++) amap_ref(amap, 10, 2, 0);
  amap_unref(amap, 7, 3, false);
  amap_unref(amap, 12, 1, false);
  ASSERT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_ref, 4);
  EXPECT_EQ(PpRefs(amap), (Refs{2, 2, 2, 2, 3, 1, 1, 0, 0, 0, 4, 4, 0, 1, 1, 1}));

  // uvm_amap.c's comment gives the encoding of exactly these counts:
  //   ppref: -3 4 x x 4 -2 2 -1 3 x -5 2 1 -2 3 x
  const int* pp = amap->am_ppref;
  const int expect[][2] = {{0, -3}, {1, 4},  {4, 4},   {5, -2},
                           {6, 2},  {7, -1}, {8, 3},   {10, -5},
                           {11, 2}, {12, 1}, {13, -2}, {14, 3}};
  for (const auto& [index, value] : expect)
    EXPECT_EQ(pp[index], value) << "ppref[" << index << "]";

  // the unrefs of [7,10) and [12,13) above stood for unmapping parts of
  // the original reference; drop the rest: three refs of [10,12), then
  // the last one frees the amap whatever its ppref says
  for (int i = 0; i < 3; i++) amap_unref(amap, 10, 2, false);
  EXPECT_EQ(PpRefs(amap), (Refs{2, 2, 2, 2, 3, 1, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1}));
  amap_unref(amap, 0, 16, true);
  EXPECT_EQ(amap_list_count(), 0);
}

TEST_F(AmapPprefTest, Establish_AtOffset_MarksLeadingSlotsUnreferenced) {
  vm_amap* amap = amap_alloc(10 * kPage, 0, 0);
  amap_lock(amap);
  amap_pp_establish(amap, 3);
  amap_unlock(amap);
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 3, 0}, {3, 7, 1}}));
  EXPECT_TRUE(AmapConsistent(amap));
  amap_unref(amap, 0, 10, true);
}

TEST_F(AmapPprefTest, Establish_AllocationFails_MarksPprefNone) {
  vm_amap* amap = amap_alloc(10 * kPage, 0, 0);
  {
    FailurePlan plan;
    plan.fail_site = "amap_pp_establish";
    ScopedFailurePlan scoped(plan);
    amap_ref(amap, 2, 3, 0);
    EXPECT_EQ(scoped.failures_injected(), 1u);
  }
  EXPECT_EQ(amap->am_ppref, PPREF_NONE);
  EXPECT_EQ(amap->am_ref, 2);
  EXPECT_TRUE(AmapConsistent(amap));
  amap_unref(amap, 2, 3, false);
  // without ppref nothing is tracked per page, and nothing retried
  EXPECT_EQ(amap->am_ppref, PPREF_NONE);
  amap_unref(amap, 0, 10, true);
}

TEST_F(AmapPprefTest, Adjref_RangeInsideOneRun_SplitsIntoThree) {
  vm_amap* amap = amap_alloc(10 * kPage, 0, 0);
  EstablishPpref(amap);
  amap_ref(amap, 3, 4, 0);
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 3, 1}, {3, 4, 2}, {7, 3, 1}}));
  EXPECT_TRUE(AmapConsistent(amap));
  amap_unref(amap, 3, 4, false);
  // back to equal counts, but runs are only merged with the run before
  EXPECT_EQ(PpRefs(amap), (Refs(10, 1)));
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 7, 1}, {7, 3, 1}}));
  amap_unref(amap, 0, 10, true);
}

TEST_F(AmapPprefTest, Adjref_RangeCrossingRuns_SplitsAtBothEnds) {
  vm_amap* amap = amap_alloc(12 * kPage, 0, 0);
  amap_ref(amap, 0, 4, 0);   // 2 2 2 2 1 ...
  amap_ref(amap, 8, 4, 0);   // ... 1 1 1 1 2 2 2 2
  amap_ref(amap, 2, 8, 0);   // starts inside run 1, ends inside run 3
  EXPECT_EQ(PpRefs(amap), (Refs{2, 2, 3, 3, 2, 2, 2, 2, 3, 3, 2, 2}));
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 2, 2},
                                            {2, 2, 3},
                                            {4, 4, 2},
                                            {8, 2, 3},
                                            {10, 2, 2}}));
  EXPECT_TRUE(AmapConsistent(amap));
  amap_unref(amap, 2, 8, false);
  amap_unref(amap, 8, 4, false);
  amap_unref(amap, 0, 4, false);
  amap_unref(amap, 0, 12, true);
}

TEST_F(AmapPprefTest, Adjref_ResultEqualsPreviousRun_MergesWithIt) {
  vm_amap* amap = amap_alloc(8 * kPage, 0, 0);
  EstablishPpref(amap);
  amap_ref(amap, 4, 2, 0);
  amap_ref(amap, 6, 2, 0);  // joins [4,6): 1 1 1 1 2 2 2 2
  ASSERT_EQ(PpRuns(amap), (Runs{{0, 4, 1}, {4, 4, 2}}));
  amap_unref(amap, 4, 2, false);  // [4,6) drops to 1: joins [0,4)
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 6, 1}, {6, 2, 2}}));
  EXPECT_TRUE(AmapConsistent(amap));
  amap_unref(amap, 6, 2, false);
  amap_unref(amap, 0, 8, true);
}

TEST_F(AmapPprefTest, Adjref_SingleSlotRuns_UsePositiveEncoding) {
  vm_amap* amap = amap_alloc(3 * kPage, 0, 0);
  EstablishPpref(amap);
  amap_ref(amap, 1, 1, 0);
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 1, 1}, {1, 1, 2}, {2, 1, 1}}));
  EXPECT_EQ(amap->am_ppref[0], 2);
  EXPECT_EQ(amap->am_ppref[1], 3);
  EXPECT_EQ(amap->am_ppref[2], 2);
  amap_unref(amap, 1, 1, false);
  amap_unref(amap, 0, 3, true);
}

TEST_F(AmapPprefTest, Unref_PartialRangeToZero_WipesThoseAnonsOnly) {
  vm_amap* amap = amap_alloc(6 * kPage, 0, 0);
  vm_aref aref{0, amap};
  vm_anon* anons[6];
  for (int s = 0; s < 6; s++) anons[s] = AddAnon(&aref, s, s);
  amap_ref(amap, 0, 6, 0);         // second whole reference, no ppref
  ASSERT_EQ(amap->am_ppref, nullptr);
  amap_unref(amap, 0, 6, true);    // back to one reference
  // a partial unmap of [2,4): establishes ppref, and those slots reach 0
  amap_ref(amap, 0, 2, 0);
  amap_ref(amap, 4, 2, 0);
  amap_unref(amap, 0, 6, true);    // drop the original whole reference
  EXPECT_EQ(PpRefs(amap), (Refs{1, 1, 0, 0, 1, 1}));
  EXPECT_EQ(amap->am_anon[2], nullptr);
  EXPECT_EQ(amap->am_anon[3], nullptr);
  EXPECT_EQ(amap->am_nused, 4);
  EXPECT_EQ(amap->am_anon[0], anons[0]);
  EXPECT_EQ(amap->am_anon[5], anons[5]);
  EXPECT_EQ(uvm_anon_count(), 4);
  EXPECT_TRUE(AmapConsistent(amap));
  amap_unref(amap, 0, 2, false);
  amap_unref(amap, 4, 2, false);
  EXPECT_EQ(uvm_anon_count(), 0);
}

TEST_F(AmapPprefTest, Unref_LastReferenceWithPpref_FreesEverything) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  vm_aref aref{0, amap};
  for (int s = 0; s < 4; s++) AddAnon(&aref, s);
  EstablishPpref(amap);
  amap_ref(amap, 1, 2, 0);
  ASSERT_NE(amap->am_ppref, nullptr);
  amap_unref(amap, 0, 4, true);
  ASSERT_EQ(amap->am_ref, 1);
  EXPECT_EQ(PpRefs(amap), (Refs{0, 1, 1, 0}));
  EXPECT_EQ(amap->am_nused, 2);
  amap_unref(amap, 1, 2, false);
  EXPECT_EQ(amap_list_count(), 0);
  EXPECT_EQ(uvm_anon_count(), 0);
}

TEST_F(AmapPprefTest, RefAll_WithPpref_AdjustsEverySlot) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  EstablishPpref(amap);
  amap_ref(amap, 1, 2, 0);
  amap_ref(amap, 0, 0, AMAP_REFALL);
  EXPECT_EQ(PpRefs(amap), (Refs{2, 3, 3, 2}));
  EXPECT_EQ(amap->am_ref, 3);
  amap_unref(amap, 0, 4, true);
  amap_unref(amap, 1, 2, false);
  amap_unref(amap, 0, 4, true);
  EXPECT_EQ(amap_list_count(), 0);
}

TEST_F(AmapPprefTest, RefShared_SetsSharedUntilOneReferenceLeft) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  amap_ref(amap, 0, 4, AMAP_SHARED);
  EXPECT_EQ(amap->am_flags & AMAP_SHARED, AMAP_SHARED);
  EXPECT_EQ(amap->am_ppref, nullptr);  // whole-amap reference: no ppref
  amap_ref(amap, 0, 4, AMAP_SHARED);
  amap_unref(amap, 0, 4, true);
  EXPECT_EQ(amap->am_flags & AMAP_SHARED, AMAP_SHARED);
  amap_unref(amap, 0, 4, true);
  EXPECT_EQ(amap->am_flags & AMAP_SHARED, 0);
  amap_unref(amap, 0, 4, true);
}

TEST_F(AmapPprefTest, Splitref_EveryOffset_SplitsReferenceAndEstablishesPpref) {
  constexpr int kSlots = 6;
  for (int left = 1; left < kSlots; left++) {
    SCOPED_TRACE(left);
    vm_amap* amap = amap_alloc(kSlots * kPage, 0, 0);
    vm_aref orig{0, amap};
    vm_aref split{0, amap};
    amap_splitref(&orig, &split, left * kPage);
    EXPECT_EQ(orig.ar_pageoff, 0);
    EXPECT_EQ(split.ar_pageoff, left);
    EXPECT_EQ(amap->am_ref, 2);
    // ppref was established before the duplicate reference: every slot 1
    EXPECT_EQ(PpRefs(amap), Refs(kSlots, 1));
    EXPECT_TRUE(AmapConsistent(amap));
    amap_unref(amap, 0, left, false);
    EXPECT_EQ(PpRefs(amap).front(), 0);
    amap_unref(amap, left, kSlots - left, false);
    EXPECT_EQ(amap_list_count(), 0);
  }
}

TEST_F(AmapPprefTest, Splitref_OfOffsetReference_KeepsPageoffArithmetic) {
  vm_amap* amap = amap_alloc(8 * kPage, 0, 0);
  vm_aref orig{0, amap};
  vm_aref right{0, amap};
  amap_splitref(&orig, &right, 3 * kPage);  // [0,3) and [3,8)
  vm_aref right2{0, amap};
  amap_splitref(&right, &right2, 2 * kPage);  // [3,5) and [5,8)
  EXPECT_EQ(right.ar_pageoff, 3);
  EXPECT_EQ(right2.ar_pageoff, 5);
  EXPECT_EQ(amap->am_ref, 3);
  EXPECT_EQ(PpRefs(amap), Refs(8, 1));
  amap_unref(amap, 3, 2, false);
  EXPECT_EQ(PpRefs(amap), (Refs{1, 1, 1, 0, 0, 1, 1, 1}));
  amap_unref(amap, 0, 3, false);
  amap_unref(amap, 5, 3, false);
  EXPECT_EQ(amap_list_count(), 0);
}

}  // namespace
}  // namespace uvmemu::testing
