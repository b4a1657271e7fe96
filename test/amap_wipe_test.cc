// amap_wipeout, amap_wiperange (both traversals) and amap_share_protect.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "emu/sched_hooks.h"
#include "test/amap_fixture.h"

namespace uvmemu::testing {
namespace {

using AmapWipeTest = AmapTest;

// An amap of `nslot` slots with anons at `slots`, each tagged with its slot.
vm_amap* AmapWithAnons(int nslot, const std::vector<int>& slots) {
  vm_amap* amap = amap_alloc(nslot * kPage, 0, 0);
  vm_aref aref{0, amap};
  for (int s : slots) AddAnon(&aref, s, static_cast<unsigned char>(s));
  return amap;
}

std::set<int> UsedSlots(const vm_amap* amap) {
  std::set<int> used;
  for (int i = 0; i < amap->am_nused; i++) used.insert(amap->am_slots[i]);
  return used;
}

TEST_F(AmapWipeTest, Wipeout_LastReference_FreesAnonsPagesAndAmap) {
  vm_amap* amap = AmapWithAnons(8, {0, 2, 5, 7});
  ASSERT_EQ(uvm_anon_count(), 4);
  const int free_before = uvmexp.free;
  amap_unref(amap, 0, 8, true);
  EXPECT_EQ(uvm_anon_count(), 0);
  EXPECT_EQ(uvmexp.free, free_before + 4);
  EXPECT_EQ(amap_list_count(), 0);
}

TEST_F(AmapWipeTest, Wipeout_SharedAnon_OnlyDropsItsReference) {
  vm_amap* a = AmapWithAnons(2, {0, 1});
  vm_amap* b = amap_alloc(2 * kPage, 0, 0);
  vm_aref bref{0, b};
  vm_anon* shared = a->am_anon[1];
  mutex_enter(&shared->an_lock);
  shared->an_ref++;
  mutex_exit(&shared->an_lock);
  amap_lock(b);
  amap_add(&bref, 0, shared, false);
  amap_unlock(b);

  amap_unref(a, 0, 2, true);
  EXPECT_EQ(shared->an_ref, 1);
  EXPECT_NE(shared->an_page, nullptr);
  EXPECT_EQ(AnonTag(shared), 1);
  EXPECT_EQ(uvm_anon_count(), 1);
  amap_unref(b, 0, 2, true);
  EXPECT_EQ(uvm_anon_count(), 0);
}

TEST_F(AmapWipeTest, Wipeout_ShouldYieldSet_PreemptsOncePerAnon) {
  vm_amap* amap = AmapWithAnons(4, {0, 1, 2, 3});
  const uint64_t before = sched::PreemptCount();
  sched::SetShouldYield(true, /*sticky=*/true);
  amap_unref(amap, 0, 4, true);
  sched::SetShouldYield(false);
  EXPECT_EQ(sched::PreemptCount() - before, 4u);
  EXPECT_EQ(uvm_anon_count(), 0);
}

TEST_F(AmapWipeTest, Wipeout_ShouldYieldClear_NeverPreempts) {
  vm_amap* amap = AmapWithAnons(4, {0, 1, 2, 3});
  const uint64_t before = sched::PreemptCount();
  amap_unref(amap, 0, 4, true);
  EXPECT_EQ(sched::PreemptCount(), before);
}

// Wipes [start, start+len) and checks exactly the anons outside survive.
void ExpectWiperange(int nslot, const std::vector<int>& slots, int start,
                     int len) {
  vm_amap* amap = AmapWithAnons(nslot, slots);
  std::set<int> survivors;
  for (int s : slots)
    if (s < start || s >= start + len) survivors.insert(s);
  amap_lock(amap);
  amap_wiperange(amap, start, len);
  amap_unlock(amap);
  EXPECT_EQ(UsedSlots(amap), survivors);
  for (int s = start; s < start + len; s++) EXPECT_EQ(amap->am_anon[s], nullptr);
  for (int s : survivors) EXPECT_EQ(AnonTag(amap->am_anon[s]), s);
  EXPECT_EQ(uvm_anon_count(), static_cast<long>(survivors.size()));
  EXPECT_TRUE(AmapConsistent(amap));
  amap_unref(amap, 0, nslot, true);
}

TEST_F(AmapWipeTest, Wiperange_FewerSlotsThanUsed_TraversesAnonArray) {
  // 3 slots < 8 used: walks am_anon[start .. start+3)
  ExpectWiperange(16, {0, 1, 3, 4, 5, 9, 12, 15}, 3, 3);
}

TEST_F(AmapWipeTest, Wiperange_AnonArrayWithHoles_SkipsEmptySlots) {
  // 4 slots < 6 used, and slots 3 and 4 of the range are empty
  ExpectWiperange(16, {0, 1, 2, 5, 8, 9}, 2, 4);
}

TEST_F(AmapWipeTest, Wiperange_MoreSlotsThanUsed_TraversesSlotList) {
  // 10 slots >= 4 used: walks am_slots, removing while iterating
  ExpectWiperange(16, {2, 6, 7, 14}, 4, 10);
}

TEST_F(AmapWipeTest, Wiperange_SlotListRemovesLastEntries_StopsCorrectly) {
  // the wiped anons are the last ones added: each removal shrinks stop
  ExpectWiperange(16, {0, 1, 10, 11, 12}, 10, 6);
}

TEST_F(AmapWipeTest, Wiperange_EmptyRange_ChangesNothing) {
  ExpectWiperange(8, {1, 2}, 4, 3);
}

TEST_F(AmapWipeTest, Wiperange_WholeAmap_EmptiesIt) {
  ExpectWiperange(8, {0, 1, 2, 3, 4, 5, 6, 7}, 0, 8);
}

std::set<const vm_page*> ProtectedPages(vm_prot_t expect_prot) {
  std::set<const vm_page*> pages;
  for (const auto& [pg, prot] : pmap::ProtectLog()) {
    EXPECT_EQ(prot, expect_prot);
    pages.insert(pg);
  }
  return pages;
}

void ExpectShareProtect(int nslot, const std::vector<int>& slots, int start,
                        int len) {
  vm_amap* amap = AmapWithAnons(nslot, slots);
  LooseEntry e(0x10000, 0x10000 + len * kPage, amap, start);
  std::set<const vm_page*> expected;
  for (int s : slots)
    if (s >= start && s < start + len) expected.insert(amap->am_anon[s]->an_page);
  pmap::ClearProtectLog();
  amap_lock(amap);
  amap_share_protect(&e.entry, VM_PROT_READ);
  amap_unlock(amap);
  EXPECT_EQ(ProtectedPages(VM_PROT_READ), expected);
  EXPECT_EQ(pmap::ProtectLog().size(), expected.size());
  amap_unref(amap, 0, nslot, true);
}

TEST_F(AmapWipeTest, ShareProtect_SmallEntry_TraversesAnonArray) {
  ExpectShareProtect(16, {0, 2, 4, 6, 8, 10, 12, 14}, 3, 4);
}

TEST_F(AmapWipeTest, ShareProtect_LargeEntry_TraversesSlotList) {
  ExpectShareProtect(16, {1, 9, 15}, 2, 12);
}

TEST_F(AmapWipeTest, ShareProtect_AnonWithoutPage_IsSkipped) {
  vm_amap* amap = AmapWithAnons(4, {0, 1});
  vm_anon* paged_out = amap->am_anon[1];
  vm_page* pg = paged_out->an_page;
  mutex_enter(&paged_out->an_lock);
  mutex_enter(&uvm_pageqlock);
  uvm_pagefree(pg);
  mutex_exit(&uvm_pageqlock);
  mutex_exit(&paged_out->an_lock);
  ASSERT_EQ(paged_out->an_page, nullptr);
  LooseEntry e(0, 4 * kPage, amap);
  pmap::ClearProtectLog();
  amap_lock(amap);
  amap_share_protect(&e.entry, VM_PROT_NONE);
  amap_unlock(amap);
  ASSERT_EQ(pmap::ProtectLog().size(), 1u);
  EXPECT_EQ(pmap::ProtectLog()[0].first, amap->am_anon[0]->an_page);
  amap_unref(amap, 0, 4, true);
}

}  // namespace
}  // namespace uvmemu::testing
