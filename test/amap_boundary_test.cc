// Boundary sweeps of the amap operations (issue 5): amap_extend by every
// size across its case boundaries with ppref established, and
// amap_ref/amap_unref (amap_pp_adjref, amap_wiperange) over every range
// of an amap with several run layouts, each against a per-slot model.
// The focused tests in amap_extend_test.cc and amap_ppref_test.cc pin
// single cases; these sweep all of them.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "test/amap_fixture.h"

namespace uvmemu::testing {
namespace {

using Refs = std::vector<int>;

class AmapBoundaryTest : public AmapExtendFixture {
 protected:
  // The tag of the anon `page` pages into the entry, or -1.
  static int TagAt(LooseEntry* e, int page) {
    vm_amap* amap = e->entry.aref.ar_amap;
    amap_lock(amap);
    vm_anon* anon = amap_lookup(&e->entry.aref, page * kPage);
    amap_unlock(amap);
    return anon != nullptr ? AnonTag(anon) : -1;
  }

  // Per-slot references an entry covering [pageoff, pageoff + n) implies
  // in an amap of `nslot` slots that nothing else references.
  static Refs Covered(int nslot, int pageoff, int n) {
    Refs refs(nslot, 0);
    for (int s = pageoff; s < pageoff + n; s++) refs[s] = 1;
    return refs;
  }
};

// 4 slots + 4 of padding; the entry keeps [0, 2) after the right half is
// split off and unmapped (ppref [0,2) ref 1, [2,4) ref 0, anons 12 and 13
// wiped).  Growing it forwards by 1..10 pages crosses case 1 (<= 2: the
// slots exist), case 2 (<= 6: am_maxslot has room) and case 3.
TEST_F(AmapBoundaryTest,
       ExtendForwards_EverySizeWithPpref_NewSlotsEmptyRefOne) {
  for (int k = 1; k <= 10; k++) {
    SCOPED_TRACE(::testing::Message() << "extend by " << k);
    LooseEntry left(0, 0, nullptr);
    vm_amap* amap = Build(4, 4, {0, 1, 2, 3}, &left);
    ASSERT_EQ(amap->am_maxslot, 8);
    LooseEntry right = SplitLoose(&left, 2);
    UnrefEntry(&right.entry);
    ASSERT_EQ(PpRefs(amap), (Refs{1, 1, 0, 0}));

    ASSERT_EQ(Extend(&left, k, AMAP_EXTEND_FORWARDS), 0);
    EXPECT_TRUE(AmapConsistent(amap));
    EXPECT_EQ(amap->am_nslot, std::max(4, 2 + k));
    EXPECT_GE(amap->am_maxslot, amap->am_nslot);
    EXPECT_EQ(left.entry.aref.ar_pageoff, 0);
    EXPECT_EQ(PpRefs(amap), Covered(amap->am_nslot, 0, 2 + k));
    EXPECT_EQ(TagsBySlot(amap), (SlotTags{{0, 10}, {1, 11}}));
    for (int i = 2; i < 2 + k; i++) EXPECT_EQ(TagAt(&left, i), -1) << i;
    UnrefEntry(&left.entry);
    EXPECT_EQ(uvm_anon_count(), 0);
  }
}

// Mirror image: the entry keeps [2, 4) (ar_pageoff 2).  Backwards by
// 1..10 pages: case 1 (<= 2: slots below ar_pageoff), case 2 (<= 6:
// anons slide up within am_maxslot) and case 3.
TEST_F(AmapBoundaryTest,
       ExtendBackwards_EverySizeWithPpref_AnonsKeepTheirPages) {
  for (int k = 1; k <= 10; k++) {
    SCOPED_TRACE(::testing::Message() << "extend by " << k);
    LooseEntry left(0, 0, nullptr);
    vm_amap* amap = Build(4, 4, {0, 1, 2, 3}, &left);
    LooseEntry right = SplitLoose(&left, 2);
    UnrefEntry(&left.entry);
    ASSERT_EQ(PpRefs(amap), (Refs{0, 0, 1, 1}));
    ASSERT_EQ(right.entry.aref.ar_pageoff, 2);

    ASSERT_EQ(Extend(&right, k, AMAP_EXTEND_BACKWARDS), 0);
    EXPECT_TRUE(AmapConsistent(amap));
    const int pageoff = right.entry.aref.ar_pageoff;
    ASSERT_GE(pageoff, 0);
    ASSERT_LE(pageoff + 2 + k, amap->am_nslot);
    if (k <= 2) {
      EXPECT_EQ(pageoff, 2 - k);  // case 1 moves only ar_pageoff
    }
    EXPECT_EQ(PpRefs(amap), Covered(amap->am_nslot, pageoff, 2 + k));
    for (int i = 0; i < k; i++) EXPECT_EQ(TagAt(&right, i), -1) << i;
    EXPECT_EQ(TagAt(&right, k), 12);
    EXPECT_EQ(TagAt(&right, k + 1), 13);
    EXPECT_EQ(amap->am_nused, 2);
    UnrefEntry(&right.entry);
    EXPECT_EQ(uvm_anon_count(), 0);
  }
}

// A second reference to [start, start + len) and back, for every range
// of an 8-slot amap over several run layouts: the adjusted range starts
// and ends inside runs, on run boundaries, and merges with the run before
// it.  Each step against per-slot counts.
TEST_F(AmapBoundaryTest,
       RefUnref_EveryRangeOverRunLayouts_MatchesPerSlotCounts) {
  const std::vector<std::vector<std::pair<int, int>>> layouts = {
      {},
      {{2, 3}},
      {{0, 4}, {4, 4}},
      {{1, 1}, {3, 2}, {6, 2}},
      {{0, 8}, {2, 2}, {5, 1}},
      {{7, 1}, {0, 1}}};
  for (size_t l = 0; l < layouts.size(); l++) {
    for (int start = 0; start < 8; start++) {
      for (int len = 1; start + len <= 8; len++) {
        SCOPED_TRACE(::testing::Message()
                     << "layout " << l << " range [" << start << ", "
                     << start + len << ")");
        vm_amap* amap = amap_alloc(8 * kPage, 0, 0);
        amap_lock(amap);
        amap_pp_establish(amap, 0);
        amap_unlock(amap);
        Refs want(8, 1);
        for (auto [o, n] : layouts[l]) {
          amap_ref(amap, o, n, 0);
          for (int s = o; s < o + n; s++) want[s]++;
        }
        ASSERT_EQ(PpRefs(amap), want);
        amap_ref(amap, start, len, 0);
        for (int s = start; s < start + len; s++) want[s]++;
        EXPECT_EQ(PpRefs(amap), want);
        EXPECT_TRUE(AmapConsistent(amap));
        amap_unref(amap, start, len, false);
        for (int s = start; s < start + len; s++) want[s]--;
        EXPECT_EQ(PpRefs(amap), want);
        EXPECT_TRUE(AmapConsistent(amap));
        for (auto [o, n] : layouts[l]) amap_unref(amap, o, n, false);
        EXPECT_EQ(PpRefs(amap), Refs(8, 1));
        amap_unref(amap, 0, 8, true);
      }
    }
  }
  EXPECT_EQ(amap_list_count(), 0);
}

// Dropping the references of everything but [start, start + len) to 0
// wipes exactly the anons outside it: with anons in all 8 slots
// amap_wiperange walks am_anon (fewer slots than anons in use), with
// anons in 3 slots mostly am_slots; every range hits both ends of the
// amap, run splits and the boundary slots == am_nused.
TEST_F(AmapBoundaryTest, UnrefToZero_EveryRange_WipesExactlyTheUncoveredAnons) {
  const std::vector<std::vector<int>> anon_sets = {
      {0, 1, 2, 3, 4, 5, 6, 7}, {1, 4, 6}, {0, 7}};
  for (const std::vector<int>& used : anon_sets) {
    for (int start = 0; start < 8; start++) {
      for (int len = 1; start + len <= 8; len++) {
        SCOPED_TRACE(::testing::Message()
                     << used.size() << " anons, keep [" << start << ", "
                     << start + len << ")");
        vm_amap* amap = amap_alloc(8 * kPage, 0, 0);
        vm_aref whole{0, amap};
        for (int slot : used) AddAnon(&whole, slot, 10 + slot);
        amap_lock(amap);
        amap_pp_establish(amap, 0);
        amap_unlock(amap);
        amap_ref(amap, start, len, 0);  // [start, +len) ref 2
        amap_unref(amap, 0, 8, false);  // everything drops by one
        Refs want(8, 0);
        SlotTags tags;
        for (int s = start; s < start + len; s++) want[s] = 1;
        for (int slot : used)
          if (slot >= start && slot < start + len)
            tags.emplace_back(slot, 10 + slot);
        EXPECT_EQ(PpRefs(amap), want);
        EXPECT_EQ(TagsBySlot(amap), tags);
        EXPECT_TRUE(AmapConsistent(amap));
        EXPECT_EQ(uvm_anon_count(), static_cast<long>(tags.size()));
        // The last reference goes while ppref exists.
        amap_unref(amap, start, len, false);
        EXPECT_EQ(uvm_anon_count(), 0);
        EXPECT_EQ(amap_list_count(), 0);
      }
    }
  }
}

}  // namespace
}  // namespace uvmemu::testing
