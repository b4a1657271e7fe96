// amap_swap_off: paging in every anon whose swap slot is in a range.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "test/amap_fixture.h"

namespace uvmemu::testing {
namespace {

using AmapSwapoffTest = AmapTest;

// Gives an anon a swap slot holding its page's bytes: if `evict`, pages
// it out (the page is freed); otherwise the page stays resident with the
// slot, as after a page-in.
int SwapOut(vm_anon* anon, bool evict) {
  mutex_enter(&anon->an_lock);
  if (evict) {
    EXPECT_EQ(uvm_pageout_anon(anon), 0);
  } else {
    int n = 1;
    anon->an_swslot = uvm_swap_alloc(&n, false);
    uvm_swap_put(anon->an_swslot, uvm_pagedata(anon->an_page));
  }
  const int slot = anon->an_swslot;
  mutex_exit(&anon->an_lock);
  EXPECT_GT(slot, 0);
  return slot;
}

// Takes every free page (busy pages of no anon, on no paging queue).
std::vector<vm_page*> TakeAllFreePages() {
  std::vector<vm_page*> pages;
  while (uvmexp.free > 0) pages.push_back(uvm_pagealloc(nullptr, 0, nullptr, 0));
  return pages;
}

void GiveBack(const std::vector<vm_page*>& pages) {
  for (vm_page* pg : pages) uvm_pagefree(pg);
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

// A page-in that finds no page waits for memory (uvm_wait) and the walk
// looks at the amap again: the retry succeeds.
TEST_F(AmapSwapoffTest, SwapOff_PageinFailsOnce_WaitsAndRetries) {
  vm_amap* a = amap_alloc(2 * kPage, 0, 0);
  vm_aref aref{0, a};
  vm_anon* anon = AddAnon(&aref, 1, 7);
  const int slot = SwapOut(anon, /*evict=*/true);
  const int noram = uvmexp.fltnoram;
  {
    FailurePlan plan;
    plan.fail_nth = 1;
    ScopedFailurePlan scoped(plan);
    EXPECT_FALSE(amap_swap_off(slot, slot + 1));
    EXPECT_EQ(scoped.failures_injected(), 1u);
  }
  EXPECT_EQ(uvmexp.fltnoram, noram + 1);
  EXPECT_EQ(anon->an_swslot, 0);
  ASSERT_NE(anon->an_page, nullptr);
  EXPECT_EQ(AnonTag(anon), 7);
  EXPECT_EQ(a->am_flags & AMAP_SWAPOFF, 0);
  EXPECT_EQ(uvm_swap_inuse(), 0);
  amap_unref(a, 0, 2, true);
}

// No free page and nothing the page daemon could page out: the page-in
// is aborted (uvm_anon_pagein returns true) and the slot stays.
TEST_F(AmapSwapoffTest, SwapOff_NoMemoryToReclaim_ReturnsTrueAndKeepsSlot) {
  vm_amap* a = amap_alloc(2 * kPage, 0, 0);
  vm_aref aref{0, a};
  vm_anon* anon = AddAnon(&aref, 1, 7);
  const int slot = SwapOut(anon, /*evict=*/true);
  const std::vector<vm_page*> taken = TakeAllFreePages();
  EXPECT_FALSE(uvm_reclaimable());
  EXPECT_TRUE(amap_swap_off(slot, slot + 1));
  EXPECT_EQ(anon->an_swslot, slot);
  EXPECT_EQ(anon->an_page, nullptr);
  EXPECT_EQ(a->am_flags & AMAP_SWAPOFF, 0);
  GiveBack(taken);
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
