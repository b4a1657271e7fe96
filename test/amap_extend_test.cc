// amap_extend: growing an amap forwards or backwards through its three
// cases (enough nslot, enough maxslot, reallocate), with and without
// ppref, its E2BIG limit and its allocation failures.
//
// amap_extend only changes the amap and the entry's ar_pageoff; uvm_map
// moves the entry's start or end after a successful extend.  Extend()
// below does that, so a later extend sees the state uvm_map would leave.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "test/amap_fixture.h"

namespace uvmemu::testing {
namespace {

constexpr int kFwd = AMAP_EXTEND_FORWARDS;
constexpr int kBack = AMAP_EXTEND_BACKWARDS;
constexpr int kNowait = AMAP_EXTEND_NOWAIT;

// Entries start here, leaving room below for backwards extends.
constexpr vaddr_t kBase = AmapExtendFixture::kExtendBase;

class AmapExtendTest : public AmapExtendFixture {
 protected:
  // The anon `page` pages into the entry (amap_lookup through its aref).
  static vm_anon* Lookup(LooseEntry* e, int page) {
    vm_amap* amap = e->entry.aref.ar_amap;
    amap_lock(amap);
    vm_anon* anon = amap_lookup(&e->entry.aref, page * kPage);
    amap_unlock(amap);
    return anon;
  }
};

// ---------------------------------------------------------------------------
// Case 1: the amap already has the slots.

TEST_F(AmapExtendTest, Forwards_WithinNslot_Case1OnlyBumpsPpref) {
  LooseEntry left(0, 0, nullptr);
  vm_amap* amap = Build(8, 0, {0, 1, 2, 3, 4, 5, 6, 7}, &left);
  LooseEntry right = SplitLoose(&left, 4);
  UnrefEntry(&right.entry);  // unmap [4, 8): ppref wipes its anons
  ASSERT_TRUE(AmapConsistent(amap));
  ASSERT_EQ(amap->am_ref, 1);
  ASSERT_EQ(PpRuns(amap), (Runs{{0, 4, 1}, {4, 4, 0}}));
  ASSERT_EQ(uvm_anon_count(), 4);
  const AmapSnapshot before = Snapshot(amap);

  EXPECT_EQ(Extend(&left, 2, kFwd), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 8);
  EXPECT_EQ(amap->am_maxslot, 8);
  EXPECT_EQ(amap->am_nused, 4);
  EXPECT_EQ(left.entry.aref.ar_pageoff, 0);
  EXPECT_EQ(static_cast<const void*>(amap->am_anon), before.anon);
  EXPECT_EQ(static_cast<const void*>(amap->am_slots), before.slots);
  EXPECT_EQ(static_cast<const void*>(amap->am_ppref), before.ppref);
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 6, 1}, {6, 2, 0}}));
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{0, 10}, {1, 11}, {2, 12}, {3, 13}}));
  // the pages re-added were wiped when unmapped: they read as zero-fill
  EXPECT_EQ(Lookup(&left, 4), nullptr);
  EXPECT_EQ(Lookup(&left, 5), nullptr);

  // up to exactly am_nslot: still case 1; the runs merge
  EXPECT_EQ(Extend(&left, 2, kFwd), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 8);
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 8, 1}}));
  EXPECT_EQ(static_cast<const void*>(amap->am_anon), before.anon);

  // one more: case 3, and the new slot is referenced once
  EXPECT_EQ(Extend(&left, 1, kFwd), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 9);
  EXPECT_EQ(amap->am_maxslot, 10);
  EXPECT_NE(static_cast<const void*>(amap->am_anon), before.anon);
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 8, 1}, {8, 1, 1}}));
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{0, 10}, {1, 11}, {2, 12}, {3, 13}}));
  EXPECT_EQ(EntrySlots(&left.entry), 9);

  UnrefEntry(&left.entry);
  EXPECT_EQ(amap_list_count(), 0);
}

TEST_F(AmapExtendTest, Forwards_WithinNslotWithoutPpref_Case1ChangesNothing) {
  LooseEntry e(0, 0, nullptr);
  vm_amap* amap = Build(8, 0, {0, 3}, &e);
  e.entry.end = kBase + 4 * kPage;  // the entry maps only [0, 4)
  const AmapSnapshot before = Snapshot(amap);

  EXPECT_EQ(Extend(&e, 3, kFwd), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(Snapshot(amap), before);
  EXPECT_EQ(amap->am_ppref, nullptr);
  EXPECT_EQ(e.entry.aref.ar_pageoff, 0);
  EXPECT_EQ(EntrySlots(&e.entry), 7);

  UnrefEntry(&e.entry);
}

TEST_F(AmapExtendTest, Backwards_WithinPageoff_Case1MovesPageoffAndBumpsPpref) {
  LooseEntry left(0, 0, nullptr);
  vm_amap* amap = Build(8, 0, {0, 1, 2, 3, 4, 5, 6, 7}, &left);
  LooseEntry right = SplitLoose(&left, 4);
  UnrefEntry(&left.entry);  // unmap [0, 4)
  ASSERT_TRUE(AmapConsistent(amap));
  ASSERT_EQ(PpRuns(amap), (Runs{{0, 4, 0}, {4, 4, 1}}));
  ASSERT_EQ(right.entry.aref.ar_pageoff, 4);
  const AmapSnapshot before = Snapshot(amap);

  EXPECT_EQ(Extend(&right, 3, kBack), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(right.entry.aref.ar_pageoff, 1);
  EXPECT_EQ(right.entry.start, kBase + 1 * kPage);
  EXPECT_EQ(amap->am_nslot, 8);
  EXPECT_EQ(amap->am_maxslot, 8);
  EXPECT_EQ(static_cast<const void*>(amap->am_anon), before.anon);
  EXPECT_EQ(before.used,
            std::vector<int>(amap->am_slots, amap->am_slots + amap->am_nused));
  // anons do not move in case 1
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{4, 14}, {5, 15}, {6, 16}, {7, 17}}));
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 1, 0}, {1, 3, 1}, {4, 4, 1}}));
  EXPECT_EQ(Lookup(&right, 0), nullptr);
  EXPECT_EQ(AnonTag(Lookup(&right, 3)), 14);

  // exactly the rest of the pageoff (slotadj == 0): still case 1
  EXPECT_EQ(Extend(&right, 1, kBack), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(right.entry.aref.ar_pageoff, 0);
  EXPECT_EQ(right.entry.start, kBase);
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 1, 1}, {1, 3, 1}, {4, 4, 1}}));
  EXPECT_EQ(static_cast<const void*>(amap->am_anon), before.anon);
  EXPECT_EQ(AnonTag(Lookup(&right, 4)), 14);

  UnrefEntry(&right.entry);
  EXPECT_EQ(uvm_anon_count(), 0);
}

TEST_F(AmapExtendTest,
       Backwards_WithinPageoffWithoutPpref_Case1OnlyMovesPageoff) {
  vm_amap* amap = amap_alloc(8 * kPage, 0, 0);
  vm_aref whole{0, amap};
  AddAnon(&whole, 5, 15);
  AddAnon(&whole, 7, 17);
  LooseEntry e(kBase + 4 * kPage, kBase + 8 * kPage, amap, 4);
  const AmapSnapshot before = Snapshot(amap);

  EXPECT_EQ(Extend(&e, 4, kBack), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(Snapshot(amap), before);
  EXPECT_EQ(e.entry.aref.ar_pageoff, 0);
  EXPECT_EQ(e.entry.start, kBase);
  EXPECT_EQ(AnonTag(Lookup(&e, 5)), 15);

  UnrefEntry(&e.entry);
}

// ---------------------------------------------------------------------------
// Case 2: am_maxslot has room beyond am_nslot.

TEST_F(AmapExtendTest, Forwards_WithinMaxslot_Case2GrowsNslotInPlace) {
  LooseEntry e(0, 0, nullptr);
  vm_amap* amap = Build(4, 4, {0, 2}, &e);
  ASSERT_EQ(amap->am_nslot, 4);
  ASSERT_EQ(amap->am_maxslot, 8);
  const AmapSnapshot before = Snapshot(amap);

  EXPECT_EQ(Extend(&e, 2, kFwd), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 6);
  EXPECT_EQ(amap->am_maxslot, 8);
  EXPECT_EQ(amap->am_nused, 2);
  EXPECT_EQ(amap->am_ppref, nullptr);
  EXPECT_EQ(static_cast<const void*>(amap->am_anon), before.anon);
  EXPECT_EQ(static_cast<const void*>(amap->am_slots), before.slots);
  EXPECT_EQ(static_cast<const void*>(amap->am_bckptr), before.bckptr);
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{0, 10}, {2, 12}}));
  EXPECT_EQ(Lookup(&e, 5), nullptr);

  // up to exactly am_maxslot
  EXPECT_EQ(Extend(&e, 2, kFwd), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 8);
  EXPECT_EQ(amap->am_maxslot, 8);
  EXPECT_EQ(static_cast<const void*>(amap->am_anon), before.anon);

  // past it: case 3
  EXPECT_EQ(Extend(&e, 1, kFwd), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 9);
  EXPECT_EQ(amap->am_maxslot, 10);
  EXPECT_NE(static_cast<const void*>(amap->am_anon), before.anon);
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{0, 10}, {2, 12}}));
  EXPECT_EQ(amap->am_ppref, nullptr);

  UnrefEntry(&e.entry);
}

TEST_F(AmapExtendTest, Forwards_Chain_Case1ThenCase2ThenCase3ThenCase2) {
  // 3 slots round up to a maxslot of 4; the entry maps only 2 of them
  LooseEntry e(0, 0, nullptr);
  vm_amap* amap = Build(3, 0, {0, 1}, &e);
  e.entry.end = kBase + 2 * kPage;
  ASSERT_EQ(amap->am_maxslot, 4);
  const AmapSnapshot before = Snapshot(amap);

  EXPECT_EQ(Extend(&e, 1, kFwd), 0);  // case 1: slotneed 3 <= nslot 3
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(Snapshot(amap), before);

  EXPECT_EQ(Extend(&e, 1, kFwd), 0);  // case 2: slotneed 4 <= maxslot 4
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 4);
  EXPECT_EQ(amap->am_maxslot, 4);
  EXPECT_EQ(static_cast<const void*>(amap->am_anon), before.anon);

  EXPECT_EQ(Extend(&e, 1, kFwd), 0);  // case 3: slotneed 5
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 5);
  EXPECT_EQ(amap->am_maxslot, 6);
  const void* realloced = amap->am_anon;
  EXPECT_NE(realloced, before.anon);

  EXPECT_EQ(Extend(&e, 1, kFwd), 0);  // case 2 in the reallocated arrays
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 6);
  EXPECT_EQ(amap->am_maxslot, 6);
  EXPECT_EQ(static_cast<const void*>(amap->am_anon), realloced);
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{0, 10}, {1, 11}}));
  EXPECT_EQ(EntrySlots(&e.entry), 6);
  EXPECT_EQ(e.entry.aref.ar_pageoff, 0);

  UnrefEntry(&e.entry);
}

TEST_F(AmapExtendTest, Forwards_WithinMaxslotWithPpref_Case2MarksNewSlots) {
  LooseEntry left(0, 0, nullptr);
  vm_amap* amap = Build(4, 4, {0, 1, 2, 3}, &left);
  LooseEntry right = SplitLoose(&left, 2);
  UnrefEntry(&right.entry);
  ASSERT_TRUE(AmapConsistent(amap));
  ASSERT_EQ(PpRuns(amap), (Runs{{0, 2, 1}, {2, 2, 0}}));
  const AmapSnapshot before = Snapshot(amap);

  // slotneed 6: beyond nslot 4, within maxslot 8
  EXPECT_EQ(Extend(&left, 4, kFwd), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 6);
  EXPECT_EQ(amap->am_maxslot, 8);
  EXPECT_EQ(static_cast<const void*>(amap->am_anon), before.anon);
  EXPECT_EQ(static_cast<const void*>(amap->am_ppref), before.ppref);
  // [2, 4) was unreferenced: bumped and merged; [4, 6) is new, ref 1
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 4, 1}, {4, 2, 1}}));
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{0, 10}, {1, 11}}));

  UnrefEntry(&left.entry);
  EXPECT_EQ(uvm_anon_count(), 0);
}

TEST_F(AmapExtendTest, Forwards_ChainWithPpref_Case1ThenCase2ThenCase3) {
  LooseEntry left(0, 0, nullptr);
  vm_amap* amap = Build(4, 2, {0, 1, 2, 3}, &left);
  ASSERT_EQ(amap->am_maxslot, 6);
  LooseEntry right = SplitLoose(&left, 2);
  UnrefEntry(&right.entry);
  ASSERT_EQ(PpRuns(amap), (Runs{{0, 2, 1}, {2, 2, 0}}));
  const AmapSnapshot before = Snapshot(amap);

  EXPECT_EQ(Extend(&left, 1, kFwd), 0);  // case 1
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 4);
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 3, 1}, {3, 1, 0}}));

  EXPECT_EQ(Extend(&left, 2, kFwd), 0);  // case 2: slotneed 5
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 5);
  EXPECT_EQ(amap->am_maxslot, 6);
  EXPECT_EQ(static_cast<const void*>(amap->am_ppref), before.ppref);
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 4, 1}, {4, 1, 1}}));

  EXPECT_EQ(Extend(&left, 2, kFwd), 0);  // case 3: slotneed 7
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 7);
  EXPECT_EQ(amap->am_maxslot, 8);
  EXPECT_NE(static_cast<const void*>(amap->am_ppref), before.ppref);
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 4, 1}, {4, 1, 1}, {5, 2, 1}}));
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{0, 10}, {1, 11}}));
  EXPECT_EQ(EntrySlots(&left.entry), 7);

  UnrefEntry(&left.entry);
}

TEST_F(AmapExtendTest, Backwards_WithinMaxslot_Case2SlidesAnonsUp) {
  LooseEntry e(0, 0, nullptr);
  vm_amap* amap = Build(4, 4, {0, 1, 3}, &e);
  const AmapSnapshot before = Snapshot(amap);

  // slotneed 6 <= maxslot 8: the mapped slots slide to the top
  // (slotspace = 8 - 4 = 4) and the entry starts 2 slots below them
  EXPECT_EQ(Extend(&e, 2, kBack), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 8);
  EXPECT_EQ(amap->am_maxslot, 8);
  EXPECT_EQ(amap->am_nused, 3);
  EXPECT_EQ(e.entry.aref.ar_pageoff, 2);
  EXPECT_EQ(e.entry.start, kBase - 2 * kPage);
  EXPECT_EQ(static_cast<const void*>(amap->am_anon), before.anon);
  EXPECT_EQ(amap->am_ppref, nullptr);
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{4, 10}, {5, 11}, {7, 13}}));
  EXPECT_EQ(std::vector<int>(amap->am_slots, amap->am_slots + 3),
            (std::vector<int>{4, 5, 7}));
  EXPECT_EQ(Lookup(&e, 0), nullptr);
  EXPECT_EQ(Lookup(&e, 1), nullptr);
  EXPECT_EQ(AnonTag(Lookup(&e, 2)), 10);
  EXPECT_EQ(AnonTag(Lookup(&e, 5)), 13);

  // the 2 free slots left at the front: case 1
  EXPECT_EQ(Extend(&e, 2, kBack), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(e.entry.aref.ar_pageoff, 0);
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{4, 10}, {5, 11}, {7, 13}}));

  // no room at all: case 3 (slotalloc 10, everything slides by 2)
  EXPECT_EQ(Extend(&e, 1, kBack), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 10);
  EXPECT_EQ(amap->am_maxslot, 10);
  EXPECT_EQ(e.entry.aref.ar_pageoff, 1);
  EXPECT_EQ(e.entry.start, kBase - 5 * kPage);
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{6, 10}, {7, 11}, {9, 13}}));
  EXPECT_EQ(AnonTag(Lookup(&e, 5)), 10);
  EXPECT_EQ(AnonTag(Lookup(&e, 8)), 13);

  UnrefEntry(&e.entry);
  EXPECT_EQ(uvm_anon_count(), 0);
}

TEST_F(AmapExtendTest, Backwards_WithinMaxslotWithPpref_Case2SlidesPprefToo) {
  LooseEntry left(0, 0, nullptr);
  vm_amap* amap = Build(4, 4, {0, 1, 2, 3}, &left);
  LooseEntry right = SplitLoose(&left, 2);
  UnrefEntry(&left.entry);
  ASSERT_TRUE(AmapConsistent(amap));
  ASSERT_EQ(PpRuns(amap), (Runs{{0, 2, 0}, {2, 2, 1}}));
  ASSERT_EQ(right.entry.aref.ar_pageoff, 2);
  const AmapSnapshot before = Snapshot(amap);

  // slotoff 2, slotmapped 2, slotadd 4: slotneed 6, slotspace 6
  EXPECT_EQ(Extend(&right, 4, kBack), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 8);
  EXPECT_EQ(amap->am_maxslot, 8);
  EXPECT_EQ(right.entry.aref.ar_pageoff, 2);
  EXPECT_EQ(right.entry.start, kBase - 2 * kPage);
  EXPECT_EQ(static_cast<const void*>(amap->am_ppref), before.ppref);
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 2, 0}, {2, 4, 1}, {6, 2, 1}}));
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{6, 12}, {7, 13}}));
  EXPECT_EQ(Lookup(&right, 3), nullptr);
  EXPECT_EQ(AnonTag(Lookup(&right, 4)), 12);
  EXPECT_EQ(AnonTag(Lookup(&right, 5)), 13);

  UnrefEntry(&right.entry);
  EXPECT_EQ(uvm_anon_count(), 0);
}

TEST_F(AmapExtendTest, Backwards_ChainWithPpref_Case1ThenCase2ThenCase3) {
  LooseEntry left(0, 0, nullptr);
  vm_amap* amap = Build(4, 4, {0, 1, 2, 3}, &left);
  LooseEntry right = SplitLoose(&left, 2);
  UnrefEntry(&left.entry);
  ASSERT_EQ(PpRuns(amap), (Runs{{0, 2, 0}, {2, 2, 1}}));

  EXPECT_EQ(Extend(&right, 1, kBack), 0);  // case 1: pageoff 2 -> 1
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(right.entry.aref.ar_pageoff, 1);
  EXPECT_EQ(amap->am_nslot, 4);
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 1, 0}, {1, 1, 1}, {2, 2, 1}}));
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{2, 12}, {3, 13}}));

  // case 2: slotoff 1, slotmapped 3, slotadd 3: slotspace 5, shift 4
  EXPECT_EQ(Extend(&right, 3, kBack), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(right.entry.aref.ar_pageoff, 2);
  EXPECT_EQ(amap->am_nslot, 8);
  EXPECT_EQ(amap->am_maxslot, 8);
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 2, 0}, {2, 3, 1}, {5, 1, 1}, {6, 2, 1}}));
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{6, 12}, {7, 13}}));

  // case 3: slotoff 2, slotmapped 6, slotadd 3: slotneed 9, slotalloc 10,
  // slotspace 4, shift 2
  EXPECT_EQ(Extend(&right, 3, kBack), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(right.entry.aref.ar_pageoff, 1);
  EXPECT_EQ(amap->am_nslot, 10);
  EXPECT_EQ(amap->am_maxslot, 10);
  EXPECT_EQ(PpRuns(amap),
            (Runs{{0, 1, 0}, {1, 3, 1}, {4, 3, 1}, {7, 1, 1}, {8, 2, 1}}));
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{8, 12}, {9, 13}}));
  EXPECT_EQ(EntrySlots(&right.entry), 9);
  EXPECT_EQ(right.entry.start, kBase + 2 * kPage - 7 * kPage);
  EXPECT_EQ(AnonTag(Lookup(&right, 7)), 12);

  UnrefEntry(&right.entry);
  EXPECT_EQ(uvm_anon_count(), 0);
}

// ---------------------------------------------------------------------------
// Case 3: reallocate.

TEST_F(AmapExtendTest, Forwards_BeyondMaxslot_Case3ReallocatesKeepingSlots) {
  LooseEntry e(0, 0, nullptr);
  vm_amap* amap = Build(4, 0, {0, 3}, &e);
  ASSERT_EQ(amap->am_maxslot, 4);
  const AmapSnapshot before = Snapshot(amap);

  EXPECT_EQ(Extend(&e, 3, kFwd), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 7);
  EXPECT_EQ(amap->am_maxslot, 8);
  EXPECT_EQ(amap->am_nused, 2);
  EXPECT_EQ(amap->am_ref, 1);
  EXPECT_EQ(amap->am_ppref, nullptr);
  EXPECT_NE(static_cast<const void*>(amap->am_anon), before.anon);
  EXPECT_NE(static_cast<const void*>(amap->am_slots), before.slots);
  EXPECT_NE(static_cast<const void*>(amap->am_bckptr), before.bckptr);
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{0, 10}, {3, 13}}));
  EXPECT_EQ(std::vector<int>(amap->am_slots, amap->am_slots + 2), before.used);
  EXPECT_EQ(amap->am_anon[0]->an_ref, 1);
  EXPECT_EQ(e.entry.aref.ar_pageoff, 0);
  EXPECT_EQ(Lookup(&e, 6), nullptr);

  UnrefEntry(&e.entry);
}

TEST_F(AmapExtendTest, Forwards_BeyondMaxslotWithPpref_Case3CopiesPpref) {
  LooseEntry left(0, 0, nullptr);
  vm_amap* amap = Build(4, 0, {0, 1, 2, 3}, &left);
  LooseEntry right = SplitLoose(&left, 2);
  UnrefEntry(&right.entry);
  ASSERT_EQ(PpRuns(amap), (Runs{{0, 2, 1}, {2, 2, 0}}));
  const AmapSnapshot before = Snapshot(amap);

  EXPECT_EQ(Extend(&left, 4, kFwd), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 6);
  EXPECT_EQ(amap->am_maxslot, 6);
  EXPECT_NE(static_cast<const void*>(amap->am_ppref), before.ppref);
  EXPECT_NE(amap->am_ppref, PPREF_NONE);
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 4, 1}, {4, 2, 1}}));
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{0, 10}, {1, 11}}));
  EXPECT_EQ(Lookup(&left, 2), nullptr);

  UnrefEntry(&left.entry);
}

TEST_F(AmapExtendTest, Backwards_BeyondMaxslot_Case3SlidesAnons) {
  LooseEntry e(0, 0, nullptr);
  vm_amap* amap = Build(4, 0, {0, 1, 3}, &e);
  const AmapSnapshot before = Snapshot(amap);

  // slotneed 7, slotalloc 8, slotspace 8 - 4 = 4: slots slide up by 4
  EXPECT_EQ(Extend(&e, 3, kBack), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 8);
  EXPECT_EQ(amap->am_maxslot, 8);
  EXPECT_EQ(amap->am_nused, 3);
  EXPECT_EQ(e.entry.aref.ar_pageoff, 1);
  EXPECT_EQ(e.entry.start, kBase - 3 * kPage);
  EXPECT_NE(static_cast<const void*>(amap->am_anon), before.anon);
  EXPECT_EQ(amap->am_ppref, nullptr);
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{4, 10}, {5, 11}, {7, 13}}));
  EXPECT_EQ(std::vector<int>(amap->am_slots, amap->am_slots + 3),
            (std::vector<int>{4, 5, 7}));
  EXPECT_EQ(Lookup(&e, 2), nullptr);
  EXPECT_EQ(AnonTag(Lookup(&e, 3)), 10);
  EXPECT_EQ(AnonTag(Lookup(&e, 6)), 13);

  UnrefEntry(&e.entry);
  EXPECT_EQ(uvm_anon_count(), 0);
}

TEST_F(AmapExtendTest, Backwards_BeyondMaxslotWithPpref_Case3SlidesPpref) {
  LooseEntry left(0, 0, nullptr);
  vm_amap* amap = Build(4, 0, {0, 1, 2, 3}, &left);
  LooseEntry right = SplitLoose(&left, 2);
  UnrefEntry(&left.entry);
  ASSERT_EQ(PpRuns(amap), (Runs{{0, 2, 0}, {2, 2, 1}}));

  // slotneed 6, slotalloc 6, slotspace 4
  EXPECT_EQ(Extend(&right, 4, kBack), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 6);
  EXPECT_EQ(amap->am_maxslot, 6);
  EXPECT_EQ(right.entry.aref.ar_pageoff, 0);
  EXPECT_EQ(right.entry.start, kBase - 2 * kPage);
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 4, 1}, {4, 2, 1}}));
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{4, 12}, {5, 13}}));
  EXPECT_EQ(AnonTag(Lookup(&right, 4)), 12);

  UnrefEntry(&right.entry);
  EXPECT_EQ(uvm_anon_count(), 0);
}

TEST_F(AmapExtendTest, Forwards_NeedingLargeAmap_Case3ReturnsE2big) {
  LooseEntry e(0, 0, nullptr);
  vm_amap* amap = Build(4, 0, {1}, &e);
  const AmapSnapshot before = Snapshot(amap);

  // slotneed 4 + 252 = 256 = UVM_AMAP_LARGE
  EXPECT_EQ(Extend(&e, 252, kFwd), E2BIG);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(Snapshot(amap), before);
  EXPECT_EQ(EntrySlots(&e.entry), 4);

  // one slot less is allowed
  EXPECT_EQ(Extend(&e, 251, kFwd), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 255);
  EXPECT_EQ(amap->am_maxslot, 256);
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{1, 11}}));

  UnrefEntry(&e.entry);
}

TEST_F(AmapExtendTest, Backwards_NeedingLargeAmap_Case3ReturnsE2big) {
  LooseEntry e(0, 0, nullptr);
  vm_amap* amap = Build(4, 0, {1}, &e);
  e.entry.start += 1 * kPage;  // map [1, 4): pageoff 1
  e.entry.aref.ar_pageoff = 1;
  const AmapSnapshot before = Snapshot(amap);

  // slotneed = slotadd + slotmapped = 253 + 3 = 256
  EXPECT_EQ(Extend(&e, 253, kBack), E2BIG);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(Snapshot(amap), before);
  EXPECT_EQ(e.entry.aref.ar_pageoff, 1);

  EXPECT_EQ(Extend(&e, 252, kBack), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 256);  // backwards case 3: nslot = slotalloc
  EXPECT_EQ(amap->am_maxslot, 256);
  EXPECT_EQ(e.entry.aref.ar_pageoff, 1);
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{253, 11}}));
  EXPECT_EQ(AnonTag(Lookup(&e, 252)), 11);

  UnrefEntry(&e.entry);
}

TEST_F(AmapExtendTest, Forwards_LargeButWithinMaxslot_Case2HasNoLargeLimit) {
  LooseEntry e(0, 0, nullptr);
  vm_amap* amap = Build(4, 300, {2}, &e);
  ASSERT_EQ(amap->am_maxslot, 304);

  EXPECT_EQ(Extend(&e, 296, kFwd), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 300);
  EXPECT_EQ(amap->am_maxslot, 304);
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{2, 12}}));

  UnrefEntry(&e.entry);
}

// ---------------------------------------------------------------------------
// Case 3 allocation failures.

TEST_F(AmapExtendTest, Forwards_Case3AllAllocationsFailNowait_EnomemUnchanged) {
  LooseEntry e(0, 0, nullptr);
  vm_amap* amap = Build(4, 0, {0, 2}, &e);
  const AmapSnapshot before = Snapshot(amap);
  const ResourceCounts counts = Kernel::Counts();

  FailurePlan plan;
  plan.fail_site = "amap_extend";
  int error;
  {
    ScopedFailurePlan scoped(plan);
    error = Extend(&e, 4, kFwd | kNowait);
    EXPECT_EQ(scoped.failures_injected(), 3u);  // newsl, newbck, newover
  }
  EXPECT_EQ(error, ENOMEM);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(Snapshot(amap), before);
  EXPECT_EQ(Kernel::Counts(), counts);
  EXPECT_EQ(EntrySlots(&e.entry), 4);

  // the same extend succeeds once memory is back
  EXPECT_EQ(Extend(&e, 4, kFwd | kNowait), 0);
  EXPECT_EQ(amap->am_nslot, 8);
  EXPECT_TRUE(AmapConsistent(amap));

  UnrefEntry(&e.entry);
}

TEST_F(AmapExtendTest,
       Backwards_Case3AllAllocationsFailNowaitWithPpref_EnomemUnchanged) {
  LooseEntry left(0, 0, nullptr);
  vm_amap* amap = Build(4, 0, {0, 1, 2, 3}, &left);
  LooseEntry right = SplitLoose(&left, 2);
  UnrefEntry(&left.entry);
  const AmapSnapshot before = Snapshot(amap);
  const ResourceCounts counts = Kernel::Counts();

  FailurePlan plan;
  plan.fail_site = "amap_extend";
  int error;
  {
    ScopedFailurePlan scoped(plan);
    error = Extend(&right, 4, kBack | kNowait);
    // newppref, newsl, newbck, newover
    EXPECT_EQ(scoped.failures_injected(), 4u);
  }
  EXPECT_EQ(error, ENOMEM);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(Snapshot(amap), before);
  EXPECT_EQ(Kernel::Counts(), counts);
  EXPECT_EQ(right.entry.aref.ar_pageoff, 2);
  EXPECT_EQ(right.entry.start, kBase + 2 * kPage);

  UnrefEntry(&right.entry);
}

TEST_F(AmapExtendTest, Forwards_Case3WithoutNowait_HasNoFailurePoints) {
  LooseEntry e(0, 0, nullptr);
  vm_amap* amap = Build(4, 0, {0}, &e);

  FailurePlan plan;
  plan.fail_site = "amap_extend";
  {
    ScopedFailurePlan scoped(plan);
    EXPECT_EQ(Extend(&e, 4, kFwd), 0);  // KM_SLEEP cannot fail
    EXPECT_EQ(scoped.points_seen(), 0u);
    EXPECT_EQ(scoped.failures_injected(), 0u);
  }
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_nslot, 8);

  UnrefEntry(&e.entry);
}

TEST_F(AmapExtendTest, Forwards_Case3EachAllocationFailingNowait_Enomem) {
  const uint64_t points = SweepFailurePoints([](SweepRun& run) {
    LooseEntry e(0, 0, nullptr);
    vm_amap* amap = Build(4, 0, {0, 3}, &e);
    const AmapSnapshot before = Snapshot(amap);
    const ResourceCounts counts = Kernel::Counts();

    const int error = run.Armed([&] { return Extend(&e, 3, kFwd | kNowait); });
    EXPECT_TRUE(AmapConsistent(amap));
    if (run.injected()) {
      EXPECT_EQ(error, ENOMEM);
      EXPECT_EQ(Snapshot(amap), before);
      EXPECT_EQ(Kernel::Counts(), counts);
    } else {
      EXPECT_EQ(error, 0);
      EXPECT_EQ(amap->am_nslot, 7);
      EXPECT_EQ(amap->am_maxslot, 8);
      EXPECT_EQ(TagsBySlot(amap), (SlotTags{{0, 10}, {3, 13}}));
    }
    UnrefEntry(&e.entry);
  });
  EXPECT_EQ(points, 3u);
}

// With ppref the first of the four allocations is the new ppref array;
// 1.87 does not treat its failure as fatal (ppref is optional): the
// extend succeeds and the amap stops using ppref.  The other three fail
// the extend with ENOMEM and change nothing.
TEST_F(AmapExtendTest,
       Forwards_Case3EachAllocationFailingNowaitWithPpref_PprefIsOptional) {
  const uint64_t points = SweepFailurePoints([](SweepRun& run) {
    LooseEntry left(0, 0, nullptr);
    vm_amap* amap = Build(4, 0, {0, 1, 2, 3}, &left);
    LooseEntry right = SplitLoose(&left, 2);
    UnrefEntry(&right.entry);
    const AmapSnapshot before = Snapshot(amap);
    const ResourceCounts counts = Kernel::Counts();

    const int error =
        run.Armed([&] { return Extend(&left, 4, kFwd | kNowait); });
    EXPECT_TRUE(AmapConsistent(amap));
    if (run.fail_nth() >= 2) {
      EXPECT_EQ(error, ENOMEM);
      EXPECT_EQ(Snapshot(amap), before);
      EXPECT_EQ(Kernel::Counts(), counts);
      EXPECT_EQ(EntrySlots(&left.entry), 2);
    } else {
      EXPECT_EQ(error, 0);
      EXPECT_EQ(amap->am_nslot, 6);
      EXPECT_EQ(amap->am_maxslot, 6);
      EXPECT_EQ(TagsBySlot(amap), (SlotTags{{0, 10}, {1, 11}}));
      if (run.fail_nth() == 1) {
        EXPECT_EQ(amap->am_ppref, PPREF_NONE);
      } else {
        EXPECT_EQ(PpRuns(amap), (Runs{{0, 4, 1}, {4, 2, 1}}));
      }
    }
    UnrefEntry(&left.entry);
  });
  EXPECT_EQ(points, 4u);
}

// ---------------------------------------------------------------------------
// Known 1.87 defects (disabled: they fail against revision 1.87).
//
// amap_extend assumes that an amap with one reference holds anons only in
// the slots its one entry maps.  ppref makes that true: unmapping part of
// an amap drops those slots' references to zero and amap_pp_adjref wipes
// them.  Without ppref (PPREF_NONE, after amap_pp_establish could not
// allocate), unmapping part of an amap cannot tell which slots are free,
// so their anons stay, and amap_extend then
//  - hands the unmapped anons back to the entry (case 1), and
//  - in cases 2 and 3 backwards slides every am_slots entry but moves only
//    the mapped part of am_anon/am_bckptr, corrupting the amap.

// Splits an amap of 8 slots (+ `pad`) holding anons 10..17 at 4 with
// ppref failing, then unmaps one half: returns the other half (the left
// one, pageoff 0, if `keep_left`, else the right one, pageoff 4) as the
// only reference, with the unmapped half's anons still in the amap.
LooseEntry HalfWithPprefNone(bool keep_left, int pad, vm_amap** amapp) {
  vm_amap* amap = amap_alloc(8 * kPage, pad * kPage, 0);
  vm_aref whole{0, amap};
  for (int slot = 0; slot < 8; slot++) AddAnon(&whole, slot, 10 + slot);
  LooseEntry left(kBase, kBase + 8 * kPage, amap);
  FailurePlan plan;
  plan.fail_site = "amap_pp_establish";
  LooseEntry right = [&] {
    ScopedFailurePlan scoped(plan);
    return SplitLoose(&left, 4);
  }();
  EXPECT_EQ(amap->am_ppref, PPREF_NONE);
  UnrefEntry(keep_left ? &right.entry : &left.entry);
  EXPECT_EQ(amap->am_ref, 1);
  EXPECT_EQ(amap->am_nused, 8);  // no ppref: nothing could be wiped
  *amapp = amap;
  return keep_left ? left : right;
}

LooseEntry RightHalfWithPprefNone(vm_amap** amapp) {
  return HalfWithPprefNone(/*keep_left=*/false, 0, amapp);
}

// 1.87 defect, in amap_unref: it decrements am_ref before it establishes
// ppref, so the per-page counts it creates are already one short and the
// reference being dropped is then subtracted a second time.  It is
// reached when an amap without ppref has a reference that maps only part
// of it: here a backwards extend (case 2 leaves am_nslot = am_maxslot with
// the entry mapping [ar_pageoff, am_nslot)) and a quick whole-amap
// reference (AMAP_REFALL, as uvm_map_extract's UVM_EXTRACT_QREF takes).
// Unmapping the entry then wipes anons the other reference still maps.
// (amap_ref establishes before am_ref++ and is right; later NetBSD moved
// amap_unref's establish before the decrement, too.)
TEST_F(AmapExtendTest,
       DISABLED_KnownDefect_UnrefAfterBackwardsCase2_WipesReferencedAnons) {
  LooseEntry e(0, 0, nullptr);
  vm_amap* amap = Build(4, 4, {0, 1, 2, 3}, &e);
  ASSERT_EQ(Extend(&e, 2, kBack), 0);
  ASSERT_EQ(amap->am_ppref, nullptr);
  ASSERT_EQ(amap->am_nslot, 8);
  ASSERT_EQ(e.entry.aref.ar_pageoff, 2);  // the entry maps [2, 8)
  amap_ref(amap, 2, 6, AMAP_REFALL);
  ASSERT_EQ(amap->am_ref, 2);

  UnrefEntry(&e.entry);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap->am_ref, 1);
  // the AMAP_REFALL reference still maps every slot: nothing may go
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{4, 10}, {5, 11}, {6, 12}, {7, 13}}));

  amap_unref(amap, 0, amap->am_nslot, true);
}

// 1.87 defect: extending backwards over slots an earlier unmap left
// populated (no ppref) maps their old anons again, so the process sees
// the data of a mapping it unmapped instead of zero-fill pages.
TEST_F(AmapExtendTest,
       DISABLED_KnownDefect_BackwardsCase1WithPprefNone_ResurrectsAnons) {
  vm_amap* amap = nullptr;
  LooseEntry right = RightHalfWithPprefNone(&amap);

  EXPECT_EQ(Extend(&right, 2, kBack), 0);
  EXPECT_EQ(right.entry.aref.ar_pageoff, 2);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(Lookup(&right, 0), nullptr)
      << "tag " << int{AnonTag(Lookup(&right, 0))}
      << " of the unmapped page at slot 2 is back";
  EXPECT_EQ(Lookup(&right, 1), nullptr);

  UnrefEntry(&right.entry);
}

LooseEntry LeftHalfWithPprefNone(int pad, vm_amap** amapp) {
  return HalfWithPprefNone(/*keep_left=*/true, pad, amapp);
}

// Asserts that the two pages past the left half's old end read as
// zero-fill (no anon), not as the unmapped pages' old anons.
void ExpectNoResurrectedAnons(LooseEntry* left) {
  for (int page = 4; page < 6; page++) {
    vm_amap* amap = left->entry.aref.ar_amap;
    amap_lock(amap);
    vm_anon* anon = amap_lookup(&left->entry.aref, page * kPage);
    amap_unlock(amap);
    EXPECT_EQ(anon, nullptr)
        << "tag " << int{AnonTag(anon)} << " of the unmapped page at slot "
        << page << " is back";
  }
}

// 1.87 defect, forwards: extending the left half over slots an earlier
// unmap left populated (no ppref) within am_nslot (case 1) maps the old
// anons again.
TEST_F(AmapExtendTest,
       DISABLED_KnownDefect_ForwardsCase1WithPprefNone_ResurrectsAnons) {
  vm_amap* amap = nullptr;
  LooseEntry left = LeftHalfWithPprefNone(0, &amap);

  // slotoff 0, slotmapped 4, slotadd 2: slotneed 6 <= am_nslot 8: case 1
  ASSERT_EQ(Extend(&left, 2, kFwd), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  ExpectNoResurrectedAnons(&left);

  UnrefEntry(&left.entry);
}

// 1.87 defect, forwards into amap_alloc's padding (case 2): the new slots
// past am_nslot are empty, but the left-behind ones before them come back.
TEST_F(AmapExtendTest,
       DISABLED_KnownDefect_ForwardsCase2WithPprefNone_ResurrectsAnons) {
  vm_amap* amap = nullptr;
  LooseEntry left = LeftHalfWithPprefNone(4, &amap);
  ASSERT_EQ(amap->am_maxslot, 12);

  // slotoff 0, slotmapped 4, slotadd 6: am_nslot 8 < slotneed 10 <=
  // am_maxslot 12: case 2
  ASSERT_EQ(Extend(&left, 6, kFwd), 0);
  EXPECT_EQ(amap->am_nslot, 10);
  EXPECT_TRUE(AmapConsistent(amap));
  ExpectNoResurrectedAnons(&left);

  UnrefEntry(&left.entry);
}

// 1.87 defect, forwards past am_maxslot (case 3): the reallocation copies
// every slot, the left-behind anons included, and the entry maps them
// again.
TEST_F(AmapExtendTest,
       DISABLED_KnownDefect_ForwardsCase3WithPprefNone_ResurrectsAnons) {
  vm_amap* amap = nullptr;
  LooseEntry left = LeftHalfWithPprefNone(0, &amap);

  // slotoff 0, slotmapped 4, slotadd 6: slotneed 10 > am_maxslot 8: case 3
  ASSERT_EQ(Extend(&left, 6, kFwd), 0);
  EXPECT_TRUE(AmapConsistent(amap));
  ExpectNoResurrectedAnons(&left);

  UnrefEntry(&left.entry);
}

// Prints whether `amap` is consistent after an extend that returned
// `error`; exits 1 if it is not, else frees everything and exits 0 (or 2
// on a leak).  For the known-defect tests' child processes.
[[noreturn]] void ExitWithConsistency(vm_amap* amap, int error,
                                      LooseEntry* entry) {
  const ::testing::AssertionResult ok = AmapConsistent(amap);
  std::fprintf(stderr, "extend %d, %s\n", error,
               ok ? "amap consistent" : ok.message());
  std::fflush(stderr);
  if (!ok) _exit(1);
  UnrefEntry(&entry->entry);
  _exit(Kernel::CheckNoLeaks().ok() ? 0 : 2);
}

[[noreturn]] void ExtendBackwardsCase3WithPprefNone() {
  vm_amap* amap = nullptr;
  LooseEntry right = RightHalfWithPprefNone(&amap);
  // slotoff 4, slotmapped 4, slotadd 6: slotneed 10 > maxslot 8: case 3
  const int error = amap_extend(&right.entry, 6 * kPage, kBack);
  right.entry.start -= 6 * kPage;
  ExitWithConsistency(amap, error, &right);
}

[[noreturn]] void ExtendBackwardsCase2WithPprefNone() {
  vm_amap* amap = amap_alloc(4 * kPage, 4 * kPage, 0);
  vm_aref whole{0, amap};
  for (int slot = 0; slot < 4; slot++) AddAnon(&whole, slot, 10 + slot);
  LooseEntry left(kBase, kBase + 4 * kPage, amap);
  FailurePlan plan;
  plan.fail_site = "amap_pp_establish";
  LooseEntry right = [&] {
    ScopedFailurePlan scoped(plan);
    return SplitLoose(&left, 2);
  }();
  UnrefEntry(&left.entry);
  // slotoff 2, slotmapped 2, slotadd 4: slotneed 6 <= maxslot 8: case 2
  // slides [2, 4) to [6, 8) and every am_slots entry by 4
  const int error = amap_extend(&right.entry, 4 * kPage, kBack);
  right.entry.start -= 4 * kPage;
  ExitWithConsistency(amap, error, &right);
}

// 1.87 defect: the same state extended backwards past am_maxslot (case 3)
// leaves am_slots naming slots whose anons were not copied; the amap is
// corrupt and amap_wipeout later trips over it.  Runs in a child process
// so that the corrupt amap cannot take the test binary down.
TEST_F(AmapExtendTest,
       DISABLED_KnownDefect_BackwardsCase3WithPprefNone_CorruptsAmap) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(ExtendBackwardsCase3WithPprefNone(), ::testing::ExitedWithCode(0),
              "amap consistent");
}

// 1.87 defect: as above in case 2 (amap_alloc's padding leaves room).
TEST_F(AmapExtendTest,
       DISABLED_KnownDefect_BackwardsCase2WithPprefNone_CorruptsAmap) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(ExtendBackwardsCase2WithPprefNone(), ::testing::ExitedWithCode(0),
              "amap consistent");
}

}  // namespace
}  // namespace uvmemu::testing
