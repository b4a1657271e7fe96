// amap_copy: giving an entry a blank amap (with chunking of large
// entries), taking over an amap with one reference, and copying a shared
// one (whole or from a non-zero ar_pageoff), including allocation
// failures with AMAP_COPY_NOWAIT.
#include <gtest/gtest.h>

#include <vector>

#include "test/amap_fixture.h"

namespace uvmemu::testing {
namespace {

constexpr int kNeedsCopy = UVM_ET_NEEDSCOPY;
constexpr int kCow = UVM_ET_COPYONWRITE;

using AmapCopyTest = AmapTest;

bool NeedsCopy(const vm_map_entry* entry) { return UVM_ET_ISNEEDSCOPY(entry); }

// An amap of `slots` slots with anons tagged 10 + slot at each of `used`.
vm_amap* BuildAmap(int slots, const std::vector<int>& used) {
  vm_amap* amap = amap_alloc(slots * kPage, 0, 0);
  EXPECT_NE(amap, nullptr);
  vm_aref whole{0, amap};
  for (int slot : used) AddAnon(&whole, slot, 10 + slot);
  return amap;
}

// ---------------------------------------------------------------------------
// No amap yet.

TEST_F(AmapCopyTest, NoAmap_SmallEntry_AllocatesBlankAmapAndClearsNeedscopy) {
  TestMap m;
  vm_map_entry* e = m.Add(0x10000, 0x10000 + 5 * kPage);
  ASSERT_TRUE(NeedsCopy(e));

  m.Copy(e, 0, e->start, e->end);
  vm_amap* amap = e->aref.ar_amap;
  ASSERT_NE(amap, nullptr);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_FALSE(NeedsCopy(e));
  EXPECT_EQ(e->etype, kCow);
  EXPECT_EQ(e->aref.ar_pageoff, 0);
  EXPECT_EQ(amap->am_ref, 1);
  EXPECT_EQ(amap->am_flags, 0);
  EXPECT_EQ(amap->am_nslot, 5);
  EXPECT_EQ(amap->am_maxslot, 6);
  EXPECT_EQ(amap->am_nused, 0);
  EXPECT_EQ(amap->am_ppref, nullptr);
  EXPECT_EQ(TagsBySlot(amap), SlotTags{});
  EXPECT_EQ(m.Entries(), (std::vector<vm_map_entry*>{e}));
  EXPECT_EQ(e->start, 0x10000u);
  EXPECT_EQ(e->end, 0x10000u + 5 * kPage);
  EXPECT_EQ(amap_list_count(), 1);
}

TEST_F(AmapCopyTest, NoAmap_NowaitAllocationFails_KeepsNeedscopy) {
  TestMap m;
  vm_map_entry* e = m.Add(0x10000, 0x10000 + 5 * kPage);
  const ResourceCounts counts = Kernel::Counts();

  FailurePlan plan;
  plan.fail_site = "amap_alloc1";
  {
    ScopedFailurePlan scoped(plan);
    m.Copy(e, AMAP_COPY_NOWAIT, e->start, e->end);
    EXPECT_EQ(scoped.failures_injected(), 1u);  // the pool_cache_get
  }
  EXPECT_EQ(e->aref.ar_amap, nullptr);
  EXPECT_TRUE(NeedsCopy(e));
  EXPECT_EQ(Kernel::Counts(), counts);
  EXPECT_EQ(amap_list_count(), 0);
}

TEST_F(AmapCopyTest, NoAmap_EachAllocationFailingNowait_KeepsNeedscopy) {
  const uint64_t points = SweepFailurePoints([](SweepRun& run) {
    TestMap m;
    vm_map_entry* e = m.Add(0x10000, 0x10000 + 3 * kPage);
    run.Armed([&] { m.Copy(e, AMAP_COPY_NOWAIT, e->start, e->end); });
    if (run.injected()) {
      EXPECT_EQ(e->aref.ar_amap, nullptr);
      EXPECT_TRUE(NeedsCopy(e));
      EXPECT_EQ(amap_list_count(), 0);
    } else {
      ASSERT_NE(e->aref.ar_amap, nullptr);
      EXPECT_TRUE(AmapConsistent(e->aref.ar_amap));
      EXPECT_EQ(e->aref.ar_amap->am_nslot, 3);
      EXPECT_FALSE(NeedsCopy(e));
    }
    EXPECT_EQ(m.Entries().size(), 1u);
  });
  EXPECT_EQ(points, 4u);  // pool_cache_get and three kmem_allocs
}

// ---------------------------------------------------------------------------
// Chunking of large entries without an amap.

constexpr vaddr_t kLarge = 0x1000000;  // chunk (16 page) aligned

TEST_F(AmapCopyTest, NoAmap_LargeEntry_ClipsToTheChunkAroundTheRange) {
  TestMap m;
  vm_map_entry* e = m.Add(kLarge, kLarge + 512 * kPage);

  m.Copy(e, 0, kLarge + 100 * kPage, kLarge + 101 * kPage);

  const std::vector<vm_map_entry*> entries = m.Entries();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(m.map()->nentries, 3);
  EXPECT_EQ(m.map()->size, 512 * kPage);

  EXPECT_EQ(entries[0]->start, kLarge);
  EXPECT_EQ(entries[0]->end, kLarge + 96 * kPage);
  EXPECT_EQ(entries[0]->aref.ar_amap, nullptr);
  EXPECT_TRUE(NeedsCopy(entries[0]));

  EXPECT_EQ(entries[1], e);  // the entry itself is the chunk
  EXPECT_EQ(e->start, kLarge + 96 * kPage);
  EXPECT_EQ(e->end, kLarge + 112 * kPage);
  ASSERT_NE(e->aref.ar_amap, nullptr);
  EXPECT_TRUE(AmapConsistent(e->aref.ar_amap));
  EXPECT_EQ(e->aref.ar_amap->am_nslot, UVM_AMAP_CHUNK);
  EXPECT_EQ(e->aref.ar_amap->am_maxslot, UVM_AMAP_CHUNK);
  EXPECT_EQ(e->aref.ar_pageoff, 0);
  EXPECT_FALSE(NeedsCopy(e));

  EXPECT_EQ(entries[2]->start, kLarge + 112 * kPage);
  EXPECT_EQ(entries[2]->end, kLarge + 512 * kPage);
  EXPECT_EQ(entries[2]->aref.ar_amap, nullptr);
  EXPECT_TRUE(NeedsCopy(entries[2]));
  EXPECT_EQ(amap_list_count(), 1);
}

TEST_F(AmapCopyTest, NoAmap_LargeEntryRangeAcrossChunks_RoundsOutToChunks) {
  TestMap m;
  vm_map_entry* e = m.Add(kLarge, kLarge + 256 * kPage);

  // [10, 40) rounds out to [0, 48): no clip at the start
  m.Copy(e, 0, kLarge + 10 * kPage, kLarge + 40 * kPage);

  const std::vector<vm_map_entry*> entries = m.Entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0], e);
  EXPECT_EQ(e->start, kLarge);
  EXPECT_EQ(e->end, kLarge + 48 * kPage);
  ASSERT_NE(e->aref.ar_amap, nullptr);
  EXPECT_EQ(e->aref.ar_amap->am_nslot, 48);
  EXPECT_FALSE(NeedsCopy(e));
  EXPECT_EQ(entries[1]->start, kLarge + 48 * kPage);
  EXPECT_EQ(entries[1]->end, kLarge + 256 * kPage);
  EXPECT_EQ(entries[1]->aref.ar_amap, nullptr);
  EXPECT_TRUE(NeedsCopy(entries[1]));
}

TEST_F(AmapCopyTest, NoAmap_LargeEntryChunkAlignedRange_ClipsToExactlyIt) {
  TestMap m;
  vm_map_entry* e = m.Add(kLarge, kLarge + 512 * kPage);

  // an aligned range is its own chunk: endva is not rounded further
  m.Copy(e, 0, kLarge + 32 * kPage, kLarge + 48 * kPage);

  const std::vector<vm_map_entry*> entries = m.Entries();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[1], e);
  EXPECT_EQ(e->start, kLarge + 32 * kPage);
  EXPECT_EQ(e->end, kLarge + 48 * kPage);
  ASSERT_NE(e->aref.ar_amap, nullptr);
  EXPECT_EQ(e->aref.ar_amap->am_nslot, 16);
  EXPECT_EQ(entries[0]->end, kLarge + 32 * kPage);
  EXPECT_EQ(entries[2]->start, kLarge + 48 * kPage);
  EXPECT_EQ(entries[0]->aref.ar_amap, nullptr);
  EXPECT_EQ(entries[2]->aref.ar_amap, nullptr);
}

TEST_F(AmapCopyTest, NoAmap_LargeUnalignedEntry_ChunksAlignToAddresses) {
  TestMap m;
  const vaddr_t start = kLarge + 3 * kPage;
  vm_map_entry* e = m.Add(start, start + 300 * kPage);

  // chunk boundaries are virtual addresses, not offsets into the entry
  m.Copy(e, 0, start, start + kPage);

  const std::vector<vm_map_entry*> entries = m.Entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0], e);
  EXPECT_EQ(e->start, start);
  EXPECT_EQ(e->end, kLarge + 16 * kPage);
  ASSERT_NE(e->aref.ar_amap, nullptr);
  EXPECT_EQ(e->aref.ar_amap->am_nslot, 13);
  EXPECT_EQ(e->aref.ar_amap->am_maxslot, 14);
  EXPECT_TRUE(AmapConsistent(e->aref.ar_amap));
  EXPECT_EQ(entries[1]->start, kLarge + 16 * kPage);
  EXPECT_EQ(entries[1]->end, start + 300 * kPage);
  EXPECT_TRUE(NeedsCopy(entries[1]));
}

TEST_F(AmapCopyTest, NoAmap_LargeEntryWithNochunk_GetsOneWholeAmap) {
  TestMap m;
  vm_map_entry* e = m.Add(kLarge, kLarge + 512 * kPage);

  m.Copy(e, AMAP_COPY_NOCHUNK, kLarge + 100 * kPage, kLarge + 101 * kPage);

  ASSERT_EQ(m.Entries(), (std::vector<vm_map_entry*>{e}));
  EXPECT_EQ(e->start, kLarge);
  EXPECT_EQ(e->end, kLarge + 512 * kPage);
  ASSERT_NE(e->aref.ar_amap, nullptr);
  EXPECT_EQ(e->aref.ar_amap->am_nslot, 512);
  EXPECT_TRUE(AmapConsistent(e->aref.ar_amap));
  EXPECT_FALSE(NeedsCopy(e));
}

TEST_F(AmapCopyTest, NoAmap_EntryJustBelowLarge_IsNotChunked) {
  TestMap m;
  vm_map_entry* small = m.Add(kLarge, kLarge + 255 * kPage);
  vm_map_entry* large = m.Add(kLarge + 512 * kPage, kLarge + 768 * kPage);

  m.Copy(small, 0, kLarge + 100 * kPage, kLarge + 101 * kPage);
  m.Copy(large, 0, kLarge + 612 * kPage, kLarge + 613 * kPage);

  const std::vector<vm_map_entry*> entries = m.Entries();
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0], small);
  ASSERT_NE(small->aref.ar_amap, nullptr);
  EXPECT_EQ(small->aref.ar_amap->am_nslot, 255);
  EXPECT_EQ(small->aref.ar_amap->am_maxslot, 256);
  // 256 pages is UVM_AMAP_LARGE: chunked to [608, 624)
  EXPECT_EQ(entries[2], large);
  EXPECT_EQ(large->start, kLarge + 608 * kPage);
  EXPECT_EQ(large->end, kLarge + 624 * kPage);
  ASSERT_NE(large->aref.ar_amap, nullptr);
  EXPECT_EQ(large->aref.ar_amap->am_nslot, 16);
  EXPECT_EQ(entries[1]->aref.ar_amap, nullptr);
  EXPECT_EQ(entries[3]->aref.ar_amap, nullptr);
}

TEST_F(AmapCopyTest, NoAmap_LargeEntryEachAllocationFailing_ClippedNoAmap) {
  const uint64_t points = SweepFailurePoints([](SweepRun& run) {
    TestMap m;
    vm_map_entry* e = m.Add(kLarge, kLarge + 512 * kPage);
    run.Armed([&] {
      m.Copy(e, AMAP_COPY_NOWAIT, kLarge + 20 * kPage, kLarge + 21 * kPage);
    });
    // the clip happens before the allocation and stays
    const std::vector<vm_map_entry*> entries = m.Entries();
    ASSERT_EQ(entries.size(), 3u);
    EXPECT_EQ(e->start, kLarge + 16 * kPage);
    EXPECT_EQ(e->end, kLarge + 32 * kPage);
    if (run.injected()) {
      EXPECT_EQ(e->aref.ar_amap, nullptr);
      EXPECT_TRUE(NeedsCopy(e));
    } else {
      ASSERT_NE(e->aref.ar_amap, nullptr);
      EXPECT_EQ(e->aref.ar_amap->am_nslot, 16);
      EXPECT_FALSE(NeedsCopy(e));
    }
    EXPECT_TRUE(NeedsCopy(entries[0]));
    EXPECT_TRUE(NeedsCopy(entries[2]));
  });
  EXPECT_EQ(points, 4u);
}

// ---------------------------------------------------------------------------
// The only reference: take it over.

TEST_F(AmapCopyTest, SoleReference_TakesAmapOverWithoutAllocating) {
  TestMap m;
  vm_amap* amap = BuildAmap(4, {0, 2});
  vm_map_entry* e = m.Add(0x10000, 0x10000 + 4 * kPage, amap);
  const AmapSnapshot before = Snapshot(amap);

  FailurePlan plan;
  plan.fail_site = "amap_alloc1";
  {
    ScopedFailurePlan scoped(plan);
    m.Copy(e, AMAP_COPY_NOWAIT, e->start, e->end);
    EXPECT_EQ(scoped.points_seen(), 0u);
  }
  EXPECT_EQ(e->aref.ar_amap, amap);
  EXPECT_FALSE(NeedsCopy(e));
  EXPECT_EQ(e->etype, kCow);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(Snapshot(amap), before);
  EXPECT_EQ(amap->am_anon[0]->an_ref, 1);
  EXPECT_EQ(amap_list_count(), 1);
}

// ---------------------------------------------------------------------------
// Shared: copy.

TEST_F(AmapCopyTest, SharedReference_CopiesAnonsAndDropsSourceReference) {
  TestMap m;
  vm_amap* amap = BuildAmap(4, {0, 2});
  amap_ref(amap, 0, 4, 0);  // len == am_nslot: no ppref
  ASSERT_EQ(amap->am_ref, 2);
  ASSERT_EQ(amap->am_ppref, nullptr);
  vm_map_entry* parent = m.Add(0x10000, 0x10000 + 4 * kPage, amap);
  vm_map_entry* child = m.Add(0x100000, 0x100000 + 4 * kPage, amap);
  vm_anon* a0 = amap->am_anon[0];
  vm_anon* a2 = amap->am_anon[2];

  m.Copy(child, 0, child->start, child->end);
  vm_amap* copy = child->aref.ar_amap;
  ASSERT_NE(copy, nullptr);
  ASSERT_NE(copy, amap);
  EXPECT_TRUE(AmapConsistent(copy));
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_FALSE(NeedsCopy(child));
  EXPECT_TRUE(NeedsCopy(parent));
  EXPECT_EQ(child->aref.ar_pageoff, 0);
  EXPECT_EQ(copy->am_ref, 1);
  EXPECT_EQ(copy->am_flags, 0);
  EXPECT_EQ(copy->am_nslot, 4);
  EXPECT_EQ(copy->am_maxslot, 4);
  EXPECT_EQ(copy->am_nused, 2);
  EXPECT_EQ(copy->am_ppref, nullptr);
  EXPECT_EQ(copy->am_anon[0], a0);
  EXPECT_EQ(copy->am_anon[2], a2);
  EXPECT_EQ(copy->am_anon[1], nullptr);
  EXPECT_EQ(copy->am_anon[3], nullptr);
  EXPECT_EQ(a0->an_ref, 2);
  EXPECT_EQ(a2->an_ref, 2);
  EXPECT_EQ(amap->am_ref, 1);
  EXPECT_EQ(amap->am_nused, 2);
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{0, 10}, {2, 12}}));
  EXPECT_EQ(amap_list_count(), 2);
  EXPECT_EQ(uvm_anon_count(), 2);

  // the source is now the parent's alone: taken over
  m.Copy(parent, 0, parent->start, parent->end);
  EXPECT_EQ(parent->aref.ar_amap, amap);
  EXPECT_FALSE(NeedsCopy(parent));
  EXPECT_EQ(amap_list_count(), 2);

  // unmapping the parent leaves the child's anons
  m.Destroy();
  EXPECT_EQ(uvm_anon_count(), 0);
}

TEST_F(AmapCopyTest, SharedReference_OddSize_ClearsThePaddingSlot) {
  TestMap m;
  vm_amap* amap = BuildAmap(3, {0, 1, 2});
  amap_ref(amap, 0, 3, 0);
  m.Add(0x10000, 0x10000 + 3 * kPage, amap);
  vm_map_entry* child = m.Add(0x100000, 0x100000 + 3 * kPage, amap);

  m.Copy(child, 0, child->start, child->end);
  vm_amap* copy = child->aref.ar_amap;
  ASSERT_NE(copy, amap);
  EXPECT_EQ(copy->am_nslot, 3);
  ASSERT_EQ(copy->am_maxslot, 4);
  EXPECT_EQ(copy->am_anon[3], nullptr);
  EXPECT_TRUE(AmapConsistent(copy));
  EXPECT_EQ(TagsBySlot(copy), (SlotTags{{0, 10}, {1, 11}, {2, 12}}));
  EXPECT_EQ(std::vector<int>(copy->am_slots, copy->am_slots + 3),
            (std::vector<int>{0, 1, 2}));
}

TEST_F(AmapCopyTest, SharedFlag_SourceDropsToOneReference_ClearsShared) {
  TestMap m;
  vm_amap* amap = BuildAmap(2, {1});
  amap_ref(amap, 0, 2, AMAP_SHARED);
  ASSERT_EQ(amap->am_flags, AMAP_SHARED);
  m.Add(0x10000, 0x10000 + 2 * kPage, amap);
  vm_map_entry* child = m.Add(0x100000, 0x100000 + 2 * kPage, amap);

  m.Copy(child, 0, child->start, child->end);
  EXPECT_EQ(amap->am_ref, 1);
  EXPECT_EQ(amap->am_flags, 0);
  EXPECT_EQ(child->aref.ar_amap->am_flags, 0);
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_TRUE(AmapConsistent(child->aref.ar_amap));
}

TEST_F(AmapCopyTest, SharedFlag_SourceKeepsTwoReferences_StaysShared) {
  TestMap m;
  vm_amap* amap = BuildAmap(2, {1});
  amap_ref(amap, 0, 2, AMAP_SHARED);
  amap_ref(amap, 0, 2, AMAP_SHARED);
  m.Add(0x10000, 0x10000 + 2 * kPage, amap);
  m.Add(0x20000, 0x20000 + 2 * kPage, amap);
  vm_map_entry* child = m.Add(0x100000, 0x100000 + 2 * kPage, amap);

  m.Copy(child, 0, child->start, child->end);
  EXPECT_EQ(amap->am_ref, 2);
  EXPECT_EQ(amap->am_flags, AMAP_SHARED);
  EXPECT_EQ(child->aref.ar_amap->am_flags, 0);
  EXPECT_EQ(amap->am_anon[1]->an_ref, 2);
  EXPECT_TRUE(AmapConsistent(amap));
}

TEST_F(AmapCopyTest, ClippedMiddle_CopiesFromPageoffAndWipesSourceSlots) {
  TestMap m;
  vm_amap* amap = BuildAmap(8, {0, 1, 2, 3, 4, 5, 6, 7});
  const vaddr_t start = 0x40000;
  vm_map_entry* e = m.Add(start, start + 8 * kPage, amap);
  mutex_enter(&m.map()->lock);
  uvm_map_clip_start(m.map(), e, start + 2 * kPage, nullptr);
  uvm_map_clip_end(m.map(), e, start + 6 * kPage, nullptr);
  mutex_exit(&m.map()->lock);
  const std::vector<vm_map_entry*> entries = m.Entries();
  ASSERT_EQ(entries.size(), 3u);
  ASSERT_EQ(entries[1], e);
  ASSERT_EQ(e->aref.ar_pageoff, 2);
  ASSERT_EQ(entries[2]->aref.ar_pageoff, 6);
  ASSERT_EQ(amap->am_ref, 3);
  ASSERT_EQ(PpRuns(amap), (Runs{{0, 8, 1}}));

  m.Copy(e, 0, e->start, e->end);
  vm_amap* copy = e->aref.ar_amap;
  ASSERT_NE(copy, amap);
  EXPECT_TRUE(AmapConsistent(copy));
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_FALSE(NeedsCopy(e));
  EXPECT_EQ(e->aref.ar_pageoff, 0);
  EXPECT_EQ(copy->am_nslot, 4);
  EXPECT_EQ(copy->am_maxslot, 4);
  EXPECT_EQ(copy->am_ref, 1);
  EXPECT_EQ(TagsBySlot(copy), (SlotTags{{0, 12}, {1, 13}, {2, 14}, {3, 15}}));
  // the source gave up [2, 6): its references there went to zero and
  // amap_pp_adjref wiped those slots, so the copy owns those anons alone
  EXPECT_EQ(amap->am_ref, 2);
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 2, 1}, {2, 4, 0}, {6, 2, 1}}));
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{0, 10}, {1, 11}, {6, 16}, {7, 17}}));
  for (int slot = 0; slot < 4; slot++)
    EXPECT_EQ(copy->am_anon[slot]->an_ref, 1) << "slot " << slot;
  EXPECT_EQ(uvm_anon_count(), 8);

  // the neighbours still see their own pages
  amap_lock(amap);
  EXPECT_EQ(AnonTag(amap_lookup(&entries[0]->aref, 1 * kPage)), 11);
  EXPECT_EQ(AnonTag(amap_lookup(&entries[2]->aref, 0)), 16);
  amap_unlock(amap);
}

TEST_F(AmapCopyTest, SplitRight_CopiesTailAtPageoff) {
  // a clip at 4 pages: the right half maps the amap from ar_pageoff 4
  TestMap m;
  vm_amap* amap = BuildAmap(6, {1, 4, 5});
  vm_map_entry* left = m.Add(0x40000, 0x40000 + 6 * kPage, amap);
  mutex_enter(&m.map()->lock);
  uvm_map_clip_end(m.map(), left, 0x40000 + 4 * kPage, nullptr);
  mutex_exit(&m.map()->lock);
  vm_map_entry* right = m.Entries()[1];
  ASSERT_EQ(right->aref.ar_pageoff, 4);

  m.Copy(right, 0, right->start, right->end);
  vm_amap* copy = right->aref.ar_amap;
  ASSERT_NE(copy, amap);
  EXPECT_TRUE(AmapConsistent(copy));
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(copy->am_nslot, 2);
  EXPECT_EQ(TagsBySlot(copy), (SlotTags{{0, 14}, {1, 15}}));
  EXPECT_EQ(amap->am_ref, 1);
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 4, 1}, {4, 2, 0}}));
  EXPECT_EQ(TagsBySlot(amap), (SlotTags{{1, 11}}));

  // with one reference left the source is taken over by the left half
  m.Copy(left, 0, left->start, left->end);
  EXPECT_EQ(left->aref.ar_amap, amap);
  EXPECT_FALSE(NeedsCopy(left));
}

TEST_F(AmapCopyTest, SharedReference_EachAllocationFailingNowait_Unchanged) {
  const uint64_t points = SweepFailurePoints([](SweepRun& run) {
    TestMap m;
    vm_amap* amap = BuildAmap(4, {0, 3});
    amap_ref(amap, 0, 4, 0);
    vm_map_entry* parent = m.Add(0x10000, 0x10000 + 4 * kPage, amap);
    vm_map_entry* child = m.Add(0x100000, 0x100000 + 4 * kPage, amap);
    const AmapSnapshot before = Snapshot(amap);
    const ResourceCounts counts = Kernel::Counts();

    run.Armed(
        [&] { m.Copy(child, AMAP_COPY_NOWAIT, child->start, child->end); });
    EXPECT_TRUE(AmapConsistent(amap));
    EXPECT_TRUE(NeedsCopy(parent));
    if (run.injected()) {
      EXPECT_EQ(child->aref.ar_amap, amap);
      EXPECT_TRUE(NeedsCopy(child));
      EXPECT_EQ(Snapshot(amap), before);
      EXPECT_EQ(Kernel::Counts(), counts);
    } else {
      ASSERT_NE(child->aref.ar_amap, amap);
      EXPECT_TRUE(AmapConsistent(child->aref.ar_amap));
      EXPECT_FALSE(NeedsCopy(child));
      EXPECT_EQ(amap->am_ref, 1);
      EXPECT_EQ(TagsBySlot(child->aref.ar_amap), (SlotTags{{0, 10}, {3, 13}}));
      EXPECT_EQ(amap->am_anon[3]->an_ref, 2);
    }
  });
  EXPECT_EQ(points, 4u);  // pool_cache_get and three kmem_allocs
}

}  // namespace
}  // namespace uvmemu::testing
