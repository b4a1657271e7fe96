// Anons: allocation, freeing with their page and swap slot, and page-in
// from swap (lib/uvm_anon.cc).

#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "emu/pmap_log.h"
#include "gtest/gtest.h"
#include "uvm/uvm.h"
#include "uvmemu/inject.h"
#include "uvmemu/kernel.h"

namespace {

class AnonTest : public ::testing::Test {
 protected:
  void TearDown() override {
    absl::Status leaks = uvmemu::Kernel::CheckNoLeaks();
    EXPECT_TRUE(leaks.ok()) << leaks.message();
  }

  // A locked anon with a resident, unbusied, active (and dirty) page
  // filled with `fill`, as the fault handler leaves a freshly zero-filled
  // anon.
  static vm_anon* AnonWithPage(uint8_t fill) {
    vm_anon* anon = uvm_analloc();
    if (anon == nullptr) return nullptr;
    vm_page* pg = uvm_pagealloc(nullptr, 0, anon, UVM_PGA_ZERO);
    if (pg == nullptr) return anon;
    memset(uvm_pagedata(pg), fill, PAGE_SIZE);
    mutex_enter(&uvm_pageqlock);
    uvm_pageactivate(pg);
    mutex_exit(&uvm_pageqlock);
    pg->flags &= ~(PG_BUSY | PG_FAKE);
    UVM_PAGE_OWN(pg, nullptr);
    return anon;
  }

  // Pages the (locked) anon out: its page goes to a new swap slot and
  // is freed.  Returns the slot.
  static int PageOut(vm_anon* anon) {
    EXPECT_EQ(uvm_pageout_anon(anon), 0);
    EXPECT_EQ(anon->an_page, nullptr);
    EXPECT_NE(anon->an_swslot, 0);
    return anon->an_swslot;
  }

  // Drops the (unlocked or locked) anon's last reference and frees it.
  static void Release(vm_anon* anon) {
    if (mutex_owned(&anon->an_lock)) mutex_exit(&anon->an_lock);
    anon->an_ref = 0;
    uvm_anfree(anon);
  }

  uvmemu::Kernel kernel_{
      uvmemu::KernelConfig{.physical_pages = 16, .swap_slots = 8}};
};

TEST_F(AnonTest, Alloc_ReturnsLockedWithOneRef) {
  vm_anon* anon = uvm_analloc();
  ASSERT_NE(anon, nullptr);
  EXPECT_TRUE(mutex_owned(&anon->an_lock));
  EXPECT_EQ(anon->an_ref, 1);
  EXPECT_EQ(anon->an_page, nullptr);
  EXPECT_EQ(anon->an_swslot, 0);
  EXPECT_EQ(uvm_anon_count(), 1);
  EXPECT_EQ(uvmemu::Kernel::Counts().anons, 1);

  vm_anon* second = uvm_analloc();
  ASSERT_NE(second, nullptr);
  EXPECT_NE(second, anon);
  EXPECT_EQ(uvm_anon_count(), 2);

  Release(second);
  Release(anon);
  EXPECT_EQ(uvm_anon_count(), 0);
}

TEST_F(AnonTest, AllocInjectedFailure_ReturnsNull) {
  uvmemu::FailurePlan plan;
  plan.fail_site = "uvm_analloc";
  {
    uvmemu::ScopedFailurePlan scoped(plan);
    EXPECT_EQ(uvm_analloc(), nullptr);
    EXPECT_EQ(scoped.failures_injected(), 1u);
  }
  EXPECT_EQ(uvm_anon_count(), 0);
}

TEST_F(AnonTest, Free_ReleasesPageAndSwapSlot) {
  vm_anon* anon = AnonWithPage(0x11);
  ASSERT_NE(anon, nullptr);
  vm_page* pg = anon->an_page;
  ASSERT_NE(pg, nullptr);
  EXPECT_EQ(uvmexp.anonpages, 1);
  EXPECT_EQ(uvmexp.active, 1);

  // A page that is also on swap (paged out, then faulted back in without
  // dropping the slot).
  int n = 1;
  anon->an_swslot = uvm_swap_alloc(&n, false);
  ASSERT_NE(anon->an_swslot, 0);
  EXPECT_EQ(uvm_swap_inuse(), 1);

  uvmemu::pmap::ClearProtectLog();
  Release(anon);

  EXPECT_EQ(uvmexp.free, 16);
  EXPECT_EQ(uvmexp.anonpages, 0);
  EXPECT_EQ(uvmexp.active, 0);
  EXPECT_EQ(uvm_swap_inuse(), 0);
  EXPECT_EQ(uvm_anon_count(), 0);
  EXPECT_EQ(pg->pqflags, PQ_FREE);
  // Every mapping of the page was removed before it was freed.
  auto log = uvmemu::pmap::ProtectLog();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].first, pg);
  EXPECT_EQ(log[0].second, VM_PROT_NONE);
}

TEST_F(AnonTest, Free_WithoutPage_ReleasesSwapSlotOnly) {
  vm_anon* anon = AnonWithPage(0x22);
  ASSERT_NE(anon, nullptr);
  PageOut(anon);
  EXPECT_EQ(anon->an_page, nullptr);
  EXPECT_EQ(uvm_swap_inuse(), 1);
  uvmemu::pmap::ClearProtectLog();
  Release(anon);
  EXPECT_EQ(uvm_swap_inuse(), 0);
  EXPECT_TRUE(uvmemu::pmap::ProtectLog().empty());
}

TEST_F(AnonTest, Pagein_RestoresBytesAndDropsSlot) {
  vm_anon* anon = AnonWithPage(0);
  ASSERT_NE(anon, nullptr);
  uint8_t* p = static_cast<uint8_t*>(uvm_pagedata(anon->an_page));
  for (int i = 0; i < PAGE_SIZE; i++) p[i] = static_cast<uint8_t>(i ^ 0x3c);
  std::vector<uint8_t> want(p, p + PAGE_SIZE);
  PageOut(anon);
  ASSERT_EQ(anon->an_page, nullptr);
  EXPECT_EQ(uvmexp.free, 16);

  EXPECT_FALSE(uvm_anon_pagein(anon));
  EXPECT_FALSE(mutex_owned(&anon->an_lock));
  vm_page* pg = anon->an_page;
  ASSERT_NE(pg, nullptr);
  EXPECT_EQ(pg->uanon, anon);
  EXPECT_EQ(memcmp(uvm_pagedata(pg), want.data(), PAGE_SIZE), 0);
  EXPECT_EQ(anon->an_swslot, 0);
  EXPECT_EQ(uvm_swap_inuse(), 0);
  // The only copy is now in memory: dirty, unbusied, on a paging queue
  // (the inactive one, as the kernel leaves it), owned by nobody.
  EXPECT_EQ(pg->flags & (PG_CLEAN | PG_BUSY | PG_FAKE | PG_WANTED), 0);
  EXPECT_EQ(pg->pqflags & PQ_INACTIVE, PQ_INACTIVE);
  EXPECT_EQ(pg->owner_tag, nullptr);
  EXPECT_EQ(uvmexp.pgswapin, 1);
  EXPECT_EQ(uvmexp.anonpages, 1);

  Release(anon);
}

TEST_F(AnonTest, Pagein_ResidentPage_DropsSlotAndDirties) {
  vm_anon* anon = AnonWithPage(0x44);
  ASSERT_NE(anon, nullptr);
  vm_page* pg = anon->an_page;
  int n = 1;
  anon->an_swslot = uvm_swap_alloc(&n, false);
  pg->flags |= PG_CLEAN;

  EXPECT_FALSE(uvm_anon_pagein(anon));
  EXPECT_FALSE(mutex_owned(&anon->an_lock));
  EXPECT_EQ(anon->an_page, pg);
  EXPECT_EQ(anon->an_swslot, 0);
  EXPECT_EQ(uvm_swap_inuse(), 0);
  EXPECT_EQ(pg->flags & PG_CLEAN, 0);
  EXPECT_EQ(uvmexp.pgswapin, 0);

  Release(anon);
}

// A failed page allocation with memory that can be reclaimed: the
// page-in waits (uvm_wait) and returns false for the caller to retry.
TEST_F(AnonTest, Pagein_AllocationFails_WaitsAndReturnsFalseUnlocked) {
  vm_anon* anon = AnonWithPage(0x55);
  ASSERT_NE(anon, nullptr);
  int slot = PageOut(anon);

  uvmemu::FailurePlan plan;
  plan.fail_site = "uvm_pagealloc";
  {
    uvmemu::ScopedFailurePlan scoped(plan);
    EXPECT_FALSE(uvm_anon_pagein(anon));
  }
  EXPECT_FALSE(mutex_owned(&anon->an_lock));
  EXPECT_EQ(anon->an_page, nullptr);
  EXPECT_EQ(anon->an_swslot, slot);
  EXPECT_EQ(uvm_swap_inuse(), 1);
  EXPECT_EQ(uvmexp.fltnoram, 1);

  Release(anon);
  EXPECT_EQ(uvm_swap_inuse(), 0);
  EXPECT_EQ(uvmexp.swpgonly, 0);
}

// No free page and none the page daemon could free: the page-in is
// aborted (true), the anon unlocked, its slot kept.
TEST_F(AnonTest, Pagein_NoMemoryToReclaim_ReturnsTrueUnlockedAndKeepsSlot) {
  vm_anon* anon = AnonWithPage(0x55);
  ASSERT_NE(anon, nullptr);
  int slot = PageOut(anon);
  std::vector<vm_page*> taken;
  while (uvmexp.free > 0)
    taken.push_back(uvm_pagealloc(nullptr, 0, nullptr, 0));

  EXPECT_TRUE(uvm_anon_pagein(anon));
  EXPECT_FALSE(mutex_owned(&anon->an_lock));
  EXPECT_EQ(anon->an_page, nullptr);
  EXPECT_EQ(anon->an_swslot, slot);
  EXPECT_EQ(uvm_swap_inuse(), 1);

  for (vm_page* pg : taken) uvm_pagefree(pg);
  Release(anon);
  EXPECT_EQ(uvm_swap_inuse(), 0);
}

}  // namespace
