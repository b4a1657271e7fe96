// amap_swap_off: paging in every anon whose swap slot is in a range.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "test/amap_fixture.h"

namespace uvmemu::testing {
namespace {

using AmapSwapoffTest = AmapTest;

// Gives an anon a swap slot holding its page's bytes; if `evict`, frees
// the resident page too, as a page-out would.
int SwapOut(vm_anon* anon, bool evict) {
  int n = 1;
  const int slot = uvm_swap_alloc(&n, false);
  EXPECT_GT(slot, 0);
  uvm_swap_put(slot, uvm_pagedata(anon->an_page));
  anon->an_swslot = slot;
  if (evict) {
    mutex_enter(&anon->an_lock);
    mutex_enter(&uvm_pageqlock);
    uvm_pagefree(anon->an_page);
    mutex_exit(&uvm_pageqlock);
    mutex_exit(&anon->an_lock);
  }
  return slot;
}

TEST_F(AmapSwapoffTest, SwapOff_SlotsInRange_PagedInAndReleased) {
  vm_amap* a = amap_alloc(4 * kPage, 0, 0);
  vm_amap* b = amap_alloc(4 * kPage, 0, 0);
  vm_aref aref{0, a}, bref{0, b};
  std::vector<vm_anon*> anons = {AddAnon(&aref, 0, 10), AddAnon(&aref, 3, 13),
                                 AddAnon(&bref, 1, 21), AddAnon(&bref, 2, 22)};
  std::vector<int> slots;
  for (size_t i = 0; i < anons.size(); i++)
    slots.push_back(SwapOut(anons[i], /*evict=*/i % 2 == 0));
  ASSERT_EQ(uvm_swap_inuse(), 4);

  // swap off the first three slots only
  const int start = slots[0];
  const int end = slots[2] + 1;
  EXPECT_FALSE(amap_swap_off(start, end));
  for (size_t i = 0; i < 3; i++) {
    SCOPED_TRACE(i);
    EXPECT_EQ(anons[i]->an_swslot, 0);
    ASSERT_NE(anons[i]->an_page, nullptr);
  }
  EXPECT_EQ(AnonTag(anons[0]), 10);
  EXPECT_EQ(AnonTag(anons[2]), 21);
  EXPECT_EQ(anons[3]->an_swslot, slots[3]);
  EXPECT_EQ(uvm_swap_inuse(), 1);
  EXPECT_TRUE(AmapConsistent(a));
  EXPECT_TRUE(AmapConsistent(b));
  amap_unref(a, 0, 4, true);
  amap_unref(b, 0, 4, true);
  EXPECT_EQ(uvm_swap_inuse(), 0);
}

TEST_F(AmapSwapoffTest, SwapOff_PageinFails_ReturnsTrueAndKeepsSlot) {
  vm_amap* a = amap_alloc(2 * kPage, 0, 0);
  vm_aref aref{0, a};
  vm_anon* anon = AddAnon(&aref, 1, 7);
  const int slot = SwapOut(anon, /*evict=*/true);
  {
    FailurePlan plan;
    plan.fail_site = "uvm_pagealloc";
    ScopedFailurePlan scoped(plan);
    EXPECT_TRUE(amap_swap_off(slot, slot + 1));
  }
  EXPECT_EQ(anon->an_swslot, slot);
  EXPECT_EQ(anon->an_page, nullptr);
  EXPECT_EQ(a->am_flags & AMAP_SWAPOFF, 0);
  EXPECT_FALSE(amap_swap_off(slot, slot + 1));
  EXPECT_EQ(AnonTag(anon), 7);
  amap_unref(a, 0, 2, true);
}

TEST_F(AmapSwapoffTest, SwapOff_EmptyAmapsAndNoSlots_ChangesNothing) {
  vm_amap* empty = amap_alloc(3 * kPage, 0, 0);
  vm_amap* a = amap_alloc(2 * kPage, 0, 0);
  vm_aref aref{0, a};
  vm_anon* resident = AddAnon(&aref, 0, 1);
  EXPECT_FALSE(amap_swap_off(1, 100));
  EXPECT_EQ(resident->an_swslot, 0);
  EXPECT_EQ(AnonTag(resident), 1);
  amap_unref(empty, 0, 3, true);
  amap_unref(a, 0, 2, true);
}

}  // namespace
}  // namespace uvmemu::testing
