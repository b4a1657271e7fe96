// amap_alloc, amap_lookup(s), amap_add and amap_unadd.
#include <gtest/gtest.h>

#include "test/amap_fixture.h"

namespace uvmemu::testing {
namespace {

using AmapBasicTest = AmapTest;

TEST_F(AmapBasicTest, Alloc_WithPadding_RoundsMaxslotAndZeroesAnons) {
  vm_amap* amap = amap_alloc(3 * kPage, 2 * kPage, 0);
  ASSERT_NE(amap, nullptr);
  EXPECT_EQ(amap->am_ref, 1);
  EXPECT_EQ(amap->am_flags, 0);
  EXPECT_EQ(amap->am_nslot, 3);
  // slot arrays are rounded to kmem's 8-byte quantum: 5 ints -> 6
  EXPECT_EQ(amap->am_maxslot, 6);
  EXPECT_EQ(amap->am_nused, 0);
  EXPECT_EQ(amap->am_ppref, nullptr);
  for (int slot = 0; slot < amap->am_maxslot; slot++)
    EXPECT_EQ(amap->am_anon[slot], nullptr) << "slot " << slot;
  EXPECT_TRUE(AmapConsistent(amap));
  EXPECT_EQ(amap_list_count(), 1);
  amap_unref(amap, 0, 3, true);
  EXPECT_EQ(amap_list_count(), 0);
}

TEST_F(AmapBasicTest, Alloc_NoWaitPoolFailure_ReturnsNull) {
  FailurePlan plan;
  plan.fail_site = "amap_alloc1";
  ScopedFailurePlan scoped(plan);
  EXPECT_EQ(amap_alloc(4 * kPage, 0, UVM_FLAG_NOWAIT), nullptr);
  EXPECT_EQ(scoped.failures_injected(), 1u);
  EXPECT_EQ(amap_list_count(), 0);
}

TEST_F(AmapBasicTest, Add_WithoutReplace_AppendsPackedSlots) {
  vm_amap* amap = amap_alloc(8 * kPage, 0, 0);
  vm_aref aref{0, amap};
  vm_anon* a5 = AddAnon(&aref, 5, 50);
  vm_anon* a1 = AddAnon(&aref, 1, 10);
  vm_anon* a7 = AddAnon(&aref, 7, 70);
  EXPECT_EQ(amap->am_nused, 3);
  EXPECT_EQ(amap->am_slots[0], 5);
  EXPECT_EQ(amap->am_slots[1], 1);
  EXPECT_EQ(amap->am_slots[2], 7);
  EXPECT_EQ(amap->am_bckptr[5], 0);
  EXPECT_EQ(amap->am_bckptr[1], 1);
  EXPECT_EQ(amap->am_bckptr[7], 2);
  EXPECT_TRUE(AmapConsistent(amap));

  amap_lock(amap);
  EXPECT_EQ(amap_lookup(&aref, 5 * kPage), a5);
  EXPECT_EQ(amap_lookup(&aref, 1 * kPage), a1);
  EXPECT_EQ(amap_lookup(&aref, 2 * kPage), nullptr);
  vm_anon* found[8];
  amap_lookups(&aref, 0, found, 8);
  amap_unlock(amap);
  EXPECT_EQ(found[1], a1);
  EXPECT_EQ(found[5], a5);
  EXPECT_EQ(found[7], a7);
  EXPECT_EQ(found[0], nullptr);
  EXPECT_EQ(found[6], nullptr);
  amap_unref(amap, 0, 8, true);
  EXPECT_EQ(uvm_anon_count(), 0);
}

TEST_F(AmapBasicTest, Lookup_ThroughOffsetAref_AddsPageoff) {
  vm_amap* amap = amap_alloc(8 * kPage, 0, 0);
  vm_aref whole{0, amap};
  vm_anon* a6 = AddAnon(&whole, 6);
  vm_aref tail{4, amap};
  amap_lock(amap);
  EXPECT_EQ(amap_lookup(&tail, 2 * kPage), a6);
  vm_anon* found[3];
  amap_lookups(&tail, 1 * kPage, found, 3);
  amap_unlock(amap);
  EXPECT_EQ(found[0], nullptr);
  EXPECT_EQ(found[1], a6);
  EXPECT_EQ(found[2], nullptr);
  amap_unref(amap, 0, 8, true);
}

TEST_F(AmapBasicTest, Unadd_MiddleSlot_MovesLastIntoHoleKeepingPacked) {
  vm_amap* amap = amap_alloc(8 * kPage, 0, 0);
  vm_aref aref{0, amap};
  AddAnon(&aref, 0);
  vm_anon* a3 = AddAnon(&aref, 3);
  vm_anon* a6 = AddAnon(&aref, 6);
  amap_lock(amap);
  amap_unadd(&aref, 3 * kPage);
  amap_unlock(amap);
  EXPECT_EQ(amap->am_nused, 2);
  EXPECT_EQ(amap->am_anon[3], nullptr);
  // slot 6 was last in am_slots; it fills the hole left at index 1
  EXPECT_EQ(amap->am_slots[1], 6);
  EXPECT_EQ(amap->am_bckptr[6], 1);
  EXPECT_EQ(amap->am_anon[6], a6);
  EXPECT_TRUE(AmapConsistent(amap));
  // unadd does not touch the anon's reference: it is the caller's now
  EXPECT_EQ(a3->an_ref, 1);
  a3->an_ref = 0;
  uvm_anfree(a3);
  amap_unref(amap, 0, 8, true);
}

TEST_F(AmapBasicTest, Unadd_LastSlot_JustShrinks) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  vm_aref aref{0, amap};
  AddAnon(&aref, 2);
  vm_anon* a1 = AddAnon(&aref, 1);
  amap_lock(amap);
  amap_unadd(&aref, 1 * kPage);
  amap_unlock(amap);
  EXPECT_EQ(amap->am_nused, 1);
  EXPECT_EQ(amap->am_slots[0], 2);
  EXPECT_TRUE(AmapConsistent(amap));
  a1->an_ref = 0;
  uvm_anfree(a1);
  amap_unref(amap, 0, 4, true);
}

TEST_F(AmapBasicTest, AddReplace_PrivateAmap_SwapsAnonWithoutProtecting) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  vm_aref aref{0, amap};
  vm_anon* old_anon = AddAnon(&aref, 2, 1);
  vm_anon* new_anon = NewAnon(2);
  pmap::ClearProtectLog();
  amap_lock(amap);
  amap_add(&aref, 2 * kPage, new_anon, true);
  amap_unlock(amap);
  EXPECT_EQ(amap->am_anon[2], new_anon);
  EXPECT_EQ(amap->am_nused, 1);
  EXPECT_TRUE(pmap::ProtectLog().empty());
  EXPECT_TRUE(AmapConsistent(amap));
  old_anon->an_ref = 0;
  uvm_anfree(old_anon);
  amap_unref(amap, 0, 4, true);
}

TEST_F(AmapBasicTest, AddReplace_SharedAmap_RemovesOldPageMappings) {
  vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
  vm_aref aref{0, amap};
  vm_anon* old_anon = AddAnon(&aref, 2, 1);
  amap_ref(amap, 0, 4, AMAP_SHARED);
  ASSERT_NE(amap->am_flags & AMAP_SHARED, 0);
  vm_anon* new_anon = NewAnon(2);
  pmap::ClearProtectLog();
  amap_lock(amap);
  amap_add(&aref, 2 * kPage, new_anon, true);
  amap_unlock(amap);
  const auto log = pmap::ProtectLog();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].first, old_anon->an_page);
  EXPECT_EQ(log[0].second, VM_PROT_NONE);
  old_anon->an_ref = 0;
  uvm_anfree(old_anon);
  amap_unref(amap, 0, 4, true);
  EXPECT_EQ(amap->am_flags & AMAP_SHARED, 0);
  amap_unref(amap, 0, 4, true);
}

}  // namespace
}  // namespace uvmemu::testing
