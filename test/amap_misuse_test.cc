// Misuse of the amap interface: each call below breaks a documented
// precondition and must stop at the KASSERT that guards it (death tests:
// the call runs in a child process; the parent cleans up what it built).
#include <gtest/gtest.h>

#include <string>

#include "test/amap_fixture.h"

namespace uvmemu::testing {
namespace {

constexpr vaddr_t kBase = 0x100000;

class AmapMisuseDeathTest : public AmapTest {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// The panic a failed KASSERT(expr) in `func` of lib/uvm_amap.cc prints;
// `expr` is a regular expression for the assertion's text.
std::string Kassert(const std::string& expr, const std::string& func) {
  return "kernel diagnostic assertion \"" + expr +
         "\" failed: file \"[^\"]*uvm_amap\\.cc\", line [0-9]+, function " +
         func;
}

// ---------------------------------------------------------------------------
// amap_alloc

TEST_F(AmapMisuseDeathTest, Alloc_SizeNotPageAligned_PanicsInB2slot) {
  EXPECT_DEATH(amap_alloc(kPage + 1, 0, 0),
               Kassert(R"(\(\(sz\) & \(PAGE_SIZE - 1\)\) == 0)", "amap_alloc"));
  EXPECT_EQ(amap_list_count(), 0);
}

TEST_F(AmapMisuseDeathTest, Alloc_PaddingNotPageAligned_PanicsInB2slot) {
  EXPECT_DEATH(
      amap_alloc(kPage, 100, 0),
      Kassert(R"(\(\(padsz\) & \(PAGE_SIZE - 1\)\) == 0)", "amap_alloc"));
}

// ---------------------------------------------------------------------------
// amap_free and amap_wipeout

TEST_F(AmapMisuseDeathTest, Free_AmapStillReferenced_Panics) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  EXPECT_DEATH(
      amap_free(amap),
      Kassert("amap->am_ref == 0 && amap->am_nused == 0", "amap_free"));
  EXPECT_TRUE(AmapConsistent(amap));
  amap_unref(amap, 0, 4, true);
}

TEST_F(AmapMisuseDeathTest, Free_AmapStillHoldingAnons_Panics) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  vm_aref aref{0, amap};
  AddAnon(&aref, 2, 12);
  EXPECT_DEATH(
      {
        amap->am_ref = 0;  // as if the references were gone
        amap_free(amap);
      },
      Kassert("amap->am_ref == 0 && amap->am_nused == 0", "amap_free"));
  EXPECT_EQ(amap->am_ref, 1);
  amap_unref(amap, 0, 4, true);
}

TEST_F(AmapMisuseDeathTest, Free_AmapLocked_Panics) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  EXPECT_DEATH(
      {
        amap->am_ref = 0;
        amap_lock(amap);
        amap_free(amap);
      },
      Kassert(R"(!mutex_owned\(&amap->am_l\))", "amap_free"));
  amap_unref(amap, 0, 4, true);
}

TEST_F(AmapMisuseDeathTest, Wipeout_AmapStillReferenced_Panics) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  EXPECT_DEATH(
      {
        amap_lock(amap);
        amap_wipeout(amap);
      },
      Kassert("amap->am_ref == 0", "amap_wipeout"));
  amap_unref(amap, 0, 4, true);
}

// ---------------------------------------------------------------------------
// amap_extend

TEST_F(AmapMisuseDeathTest, Extend_SharedAmap_PanicsAmapCantBeShared) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  amap_ref(amap, 0, 4, 0);
  LooseEntry e(kBase, kBase + 4 * kPage, amap);
  EXPECT_DEATH(amap_extend(&e.entry, kPage, AMAP_EXTEND_FORWARDS),
               Kassert(R"(amap_refs\(amap\) == 1)", "amap_extend"));
  EXPECT_DEATH(amap_extend(&e.entry, kPage, AMAP_EXTEND_BACKWARDS),
               Kassert(R"(amap_refs\(amap\) == 1)", "amap_extend"));
  EXPECT_EQ(amap->am_ref, 2);
  EXPECT_EQ(amap->am_nslot, 4);
  amap_unref(amap, 0, 4, false);
  amap_unref(amap, 0, 4, false);
}

TEST_F(AmapMisuseDeathTest, Extend_SizeNotPageAligned_PanicsInB2slot) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  LooseEntry e(kBase, kBase + 4 * kPage, amap);
  EXPECT_DEATH(
      amap_extend(&e.entry, kPage / 2, AMAP_EXTEND_FORWARDS),
      Kassert(R"(\(\(addsize\) & \(PAGE_SIZE - 1\)\) == 0)", "amap_extend"));
  amap_unref(amap, 0, 4, true);
}

TEST_F(AmapMisuseDeathTest, Extend_EntryNotPageAligned_PanicsInB2slot) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  LooseEntry e(kBase, kBase + 4 * kPage - 8, amap);
  EXPECT_DEATH(amap_extend(&e.entry, kPage, AMAP_EXTEND_FORWARDS),
               Kassert(R"(\(\(entry->end - entry->start\) & )"
                       R"(\(PAGE_SIZE - 1\)\) == 0)",
                       "amap_extend"));
  amap_unref(amap, 0, 4, true);
}

// ---------------------------------------------------------------------------
// amap_add, amap_unadd, amap_lookup(s)

TEST_F(AmapMisuseDeathTest, Add_OntoUsedSlotWithoutReplace_Panics) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  vm_aref aref{0, amap};
  AddAnon(&aref, 1, 11);
  EXPECT_DEATH(
      {
        vm_anon* other = NewAnon(99);
        amap_lock(amap);
        amap_add(&aref, 1 * kPage, other, false);
      },
      Kassert(R"(amap->am_anon\[slot\] == NULL)", "amap_add"));
  EXPECT_EQ(AnonTag(amap->am_anon[1]), 11);
  EXPECT_EQ(amap->am_nused, 1);
  amap_unref(amap, 0, 4, true);
}

TEST_F(AmapMisuseDeathTest, Add_ReplaceOntoEmptySlot_Panics) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  vm_aref aref{0, amap};
  EXPECT_DEATH(
      {
        vm_anon* anon = NewAnon(1);
        amap_lock(amap);
        amap_add(&aref, 2 * kPage, anon, true);
      },
      Kassert(R"(amap->am_anon\[slot\] != NULL)", "amap_add"));
  amap_unref(amap, 0, 4, true);
}

TEST_F(AmapMisuseDeathTest, Add_BeyondNslotThroughPageoff_Panics) {
  vm_amap* amap = amap_alloc(3 * kPage, 0, 0);  // maxslot 4, nslot 3
  vm_aref tail{1, amap};
  EXPECT_DEATH(
      {
        vm_anon* anon = NewAnon(1);
        amap_lock(amap);
        amap_add(&tail, 2 * kPage, anon, false);  // slot 3
      },
      Kassert("slot < amap->am_nslot", "amap_add"));
  amap_unref(amap, 0, 3, true);
}

TEST_F(AmapMisuseDeathTest, Add_WithoutAmapLock_Panics) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  vm_aref aref{0, amap};
  EXPECT_DEATH(
      {
        vm_anon* anon = NewAnon(1);
        amap_add(&aref, 0, anon, false);
      },
      Kassert(R"(mutex_owned\(&amap->am_l\))", "amap_add"));
  amap_unref(amap, 0, 4, true);
}

TEST_F(AmapMisuseDeathTest, Unadd_EmptySlot_Panics) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  vm_aref aref{0, amap};
  AddAnon(&aref, 0, 10);
  EXPECT_DEATH(
      {
        amap_lock(amap);
        amap_unadd(&aref, 3 * kPage);
      },
      Kassert(R"(amap->am_anon\[slot\] != NULL)", "amap_unadd"));
  amap_unref(amap, 0, 4, true);
}

TEST_F(AmapMisuseDeathTest, Lookup_AtNslot_Panics) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  vm_aref aref{0, amap};
  EXPECT_DEATH(
      {
        amap_lock(amap);
        amap_lookup(&aref, 4 * kPage);
      },
      Kassert("slot < amap->am_nslot", "amap_lookup"));
  amap_unref(amap, 0, 4, true);
}

TEST_F(AmapMisuseDeathTest, Lookup_BeyondNslotThroughPageoff_Panics) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  vm_aref tail{2, amap};
  amap_lock(amap);
  EXPECT_EQ(amap_lookup(&tail, 1 * kPage), nullptr);  // slot 3: fine
  amap_unlock(amap);
  EXPECT_DEATH(
      {
        amap_lock(amap);
        amap_lookup(&tail, 2 * kPage);  // slot 4
      },
      Kassert("slot < amap->am_nslot", "amap_lookup"));
  amap_unref(amap, 0, 4, true);
}

TEST_F(AmapMisuseDeathTest, Lookup_WithoutAmapLock_Panics) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  vm_aref aref{0, amap};
  EXPECT_DEATH(amap_lookup(&aref, 0),
               Kassert(R"(mutex_owned\(&amap->am_l\))", "amap_lookup"));
  amap_unref(amap, 0, 4, true);
}

TEST_F(AmapMisuseDeathTest, Lookups_RangeBeyondNslot_Panics) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  vm_aref aref{0, amap};
  EXPECT_DEATH(
      {
        vm_anon* anons[4];
        amap_lock(amap);
        amap_lookups(&aref, 1 * kPage, anons, 4);  // slots 1..4
      },
      Kassert(R"(\(slot \+ \(npages - 1\)\) < amap->am_nslot)",
              "amap_lookups"));
  amap_unref(amap, 0, 4, true);
}

// ---------------------------------------------------------------------------
// amap_splitref

TEST_F(AmapMisuseDeathTest, Splitref_AtOffsetZero_Panics) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  vm_aref left{0, amap};
  vm_aref right{0, amap};
  EXPECT_DEATH(amap_splitref(&left, &right, 0),
               Kassert("leftslots != 0", "amap_splitref"));
  EXPECT_EQ(amap->am_ref, 1);
  EXPECT_EQ(amap->am_ppref, nullptr);
  amap_unref(amap, 0, 4, true);
}

TEST_F(AmapMisuseDeathTest, Splitref_AtOrPastTheEnd_Panics) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  vm_aref left{1, amap};  // maps [1, 4)
  vm_aref right{0, amap};
  EXPECT_DEATH(amap_splitref(&left, &right, 3 * kPage),
               Kassert("amap->am_nslot - origref->ar_pageoff - leftslots > 0",
                       "amap_splitref"));
  amap_unref(amap, 0, 4, true);
}

TEST_F(AmapMisuseDeathTest, Splitref_DifferentAmaps_Panics) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  vm_amap* other = amap_alloc(4 * kPage, 0, 0);
  vm_aref left{0, amap};
  vm_aref right{0, other};
  EXPECT_DEATH(
      amap_splitref(&left, &right, 2 * kPage),
      Kassert(R"(splitref->ar_amap == origref->ar_amap)", "amap_splitref"));
  amap_unref(amap, 0, 4, true);
  amap_unref(other, 0, 4, true);
}

// ---------------------------------------------------------------------------
// amap_unref and amap_copy

TEST_F(AmapMisuseDeathTest, Unref_RangeWithNoReferencesLeft_PanicsInAdjref) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  LooseEntry left(kBase, kBase + 4 * kPage, amap);
  LooseEntry right = SplitLoose(&left, 2);
  UnrefEntry(&left.entry);  // [0, 2) has no references now
  amap_ref(amap, 2, 2, 0);  // a second reference to [2, 4)
  ASSERT_EQ(PpRefs(amap), (std::vector<int>{0, 0, 2, 2}));
  // dropping [0, 2) a second time
  EXPECT_DEATH(amap_unref(amap, 0, 2, false),
               Kassert("ref >= 0", "amap_pp_adjref"));
  EXPECT_EQ(amap->am_ref, 2);
  amap_unref(amap, 2, 2, false);
  UnrefEntry(&right.entry);
}

TEST_F(AmapMisuseDeathTest, Copy_InKernelMap_Panics) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  LooseEntry e(kBase, kBase + 4 * kPage, amap);
  e.entry.etype = UVM_ET_COPYONWRITE | UVM_ET_NEEDSCOPY;
  EXPECT_DEATH(amap_copy(kernel_map, &e.entry, 0, e.entry.start, e.entry.end),
               Kassert("map != kernel_map", "amap_copy"));
  EXPECT_TRUE(UVM_ET_ISNEEDSCOPY(&e.entry));
  amap_unref(amap, 0, 4, true);
}

}  // namespace
}  // namespace uvmemu::testing
