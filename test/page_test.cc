// Physical pages: allocation, freeing, the paging queues, ownership and
// the single-LWP stand-ins for sleeping (lib/uvm_page.cc, emu/arena.cc).

#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "uvm/uvm.h"
#include "uvmemu/inject.h"
#include "uvmemu/kernel.h"
#include "uvmemu/panic.h"

namespace {

constexpr int kPages = 16;

class PageTest : public ::testing::Test {
 protected:
  void TearDown() override {
    absl::Status leaks = uvmemu::Kernel::CheckNoLeaks();
    EXPECT_TRUE(leaks.ok()) << leaks.message();
  }

  // Allocates a page that belongs to nobody and gives up ownership, as
  // a caller does once the page is initialised.
  static vm_page* AllocUnbusy() {
    vm_page* pg = uvm_pagealloc(nullptr, 0, nullptr, 0);
    if (pg != nullptr) {
      pg->flags &= ~(PG_BUSY | PG_FAKE);
      UVM_PAGE_OWN(pg, nullptr);
    }
    return pg;
  }

  static void Free(vm_page* pg) {
    mutex_enter(&uvm_pageqlock);
    uvm_pagefree(pg);
    mutex_exit(&uvm_pageqlock);
  }

  static bool AllBytes(vm_page* pg, uint8_t value) {
    const uint8_t* p = static_cast<const uint8_t*>(uvm_pagedata(pg));
    for (int i = 0; i < PAGE_SIZE; i++) {
      if (p[i] != value) return false;
    }
    return true;
  }

  uvmemu::Kernel kernel_{uvmemu::KernelConfig{.physical_pages = kPages}};
};

TEST_F(PageTest, Init_AllPagesFreeAndCounted) {
  EXPECT_EQ(uvmexp.npages, kPages);
  EXPECT_EQ(uvmexp.free, kPages);
  EXPECT_EQ(uvmexp.active, 0);
  EXPECT_EQ(uvmexp.inactive, 0);
  EXPECT_EQ(uvmexp.anonpages, 0);
  EXPECT_EQ(uvmemu::Kernel::Counts().pages_in_use, 0);
}

TEST_F(PageTest, AllocUntilEmpty_ReturnsNullAndCounts) {
  std::vector<vm_page*> pages;
  std::set<paddr_t> phys;
  for (int i = 0; i < kPages; i++) {
    vm_page* pg = uvm_pagealloc(nullptr, 0, nullptr, 0);
    ASSERT_NE(pg, nullptr) << "allocation " << i;
    EXPECT_EQ(pg->flags, PG_BUSY | PG_CLEAN | PG_FAKE);
    EXPECT_EQ(pg->pqflags, 0);
    EXPECT_EQ(pg->uanon, nullptr);
    EXPECT_STREQ(pg->owner_tag, "new alloc");
    EXPECT_EQ(pg->owner_lid, curlwp->l_lid);
    EXPECT_EQ(pg->phys_addr % PAGE_SIZE, 0u);
    phys.insert(pg->phys_addr);
    pages.push_back(pg);
    EXPECT_EQ(uvmexp.free, kPages - i - 1);
  }
  EXPECT_EQ(phys.size(), static_cast<size_t>(kPages));
  EXPECT_EQ(uvmemu::Kernel::Counts().pages_in_use, kPages);

  EXPECT_EQ(uvmexp.pagealloc_fail, 0);
  EXPECT_EQ(uvm_pagealloc(nullptr, 0, nullptr, 0), nullptr);
  EXPECT_EQ(uvmexp.pagealloc_fail, 1);
  EXPECT_EQ(uvmexp.free, 0);

  for (vm_page* pg : pages) Free(pg);
  EXPECT_EQ(uvmexp.free, kPages);
}

TEST_F(PageTest, FreeAfterAlloc_ReturnsToFreeListAndPoisons) {
  vm_page* pg = AllocUnbusy();
  ASSERT_NE(pg, nullptr);
  memset(uvm_pagedata(pg), 0x5a, PAGE_SIZE);
  Free(pg);
  EXPECT_EQ(pg->pqflags, PQ_FREE);
  EXPECT_EQ(pg->owner_tag, nullptr);
  EXPECT_EQ(uvmexp.free, kPages);
  EXPECT_TRUE(AllBytes(pg, 0xdf)) << "freed frame is not poisoned";

  // The free list is LIFO, as the kernel's: the page comes straight back,
  // with its stale (poisoned) contents.
  vm_page* again = uvm_pagealloc(nullptr, 0, nullptr, 0);
  EXPECT_EQ(again, pg);
  EXPECT_TRUE(AllBytes(again, 0xdf));
  Free(again);
}

// A range freed in address order, either way round, comes back in
// ascending address order (so that the MMU can map it as one run); a
// page freed alone still comes straight back.
TEST_F(PageTest, RangeFreedInEitherOrder_AllocatedInAscendingOrder) {
  for (bool descending : {false, true}) {
    SCOPED_TRACE(descending ? "freed descending" : "freed ascending");
    std::vector<vm_page*> pages;
    for (int i = 0; i < 8; i++) pages.push_back(AllocUnbusy());
    for (int i = 1; i < 8; i++) {
      ASSERT_EQ(VM_PAGE_TO_PHYS(pages[i]),
                VM_PAGE_TO_PHYS(pages[i - 1]) + PAGE_SIZE);
    }
    for (int i = 0; i < 8; i++) Free(pages[descending ? 7 - i : i]);
    for (int i = 0; i < 8; i++) {
      vm_page* again = AllocUnbusy();
      EXPECT_EQ(again, pages[i]) << i;
      pages[i] = again;
    }
    vm_page* lone = pages[3];
    Free(lone);
    vm_page* again = AllocUnbusy();
    EXPECT_EQ(again, lone);
    pages[3] = again;
    for (vm_page* pg : pages) Free(pg);
  }
}

TEST_F(PageTest, AllocZero_ZeroFillsAndIsNotClean) {
  vm_page* pg = AllocUnbusy();
  ASSERT_NE(pg, nullptr);
  Free(pg);
  vm_page* z = uvm_pagealloc(nullptr, 0, nullptr, UVM_PGA_ZERO);
  ASSERT_EQ(z, pg);
  EXPECT_TRUE(AllBytes(z, 0));
  EXPECT_EQ(z->flags & PG_CLEAN, 0);
  EXPECT_NE(z->flags & PG_BUSY, 0);
  Free(z);
}

TEST_F(PageTest, Copy_CopiesBytesAndDirtiesDestination) {
  vm_page* src = AllocUnbusy();
  vm_page* dst = AllocUnbusy();
  ASSERT_NE(src, nullptr);
  ASSERT_NE(dst, nullptr);
  uint8_t* s = static_cast<uint8_t*>(uvm_pagedata(src));
  for (int i = 0; i < PAGE_SIZE; i++) s[i] = static_cast<uint8_t>(i * 7);
  src->flags |= PG_CLEAN;
  dst->flags |= PG_CLEAN;
  uvm_pagecopy(src, dst);
  EXPECT_EQ(memcmp(uvm_pagedata(src), uvm_pagedata(dst), PAGE_SIZE), 0);
  EXPECT_EQ(dst->flags & PG_CLEAN, 0);
  EXPECT_NE(src->flags & PG_CLEAN, 0);
  uvm_pagezero(src);
  EXPECT_TRUE(AllBytes(src, 0));
  EXPECT_EQ(src->flags & PG_CLEAN, 0);
  Free(src);
  Free(dst);
}

TEST_F(PageTest, Activate_MovesBetweenQueues) {
  vm_page* pg = AllocUnbusy();
  ASSERT_NE(pg, nullptr);
  mutex_enter(&uvm_pageqlock);

  uvm_pageactivate(pg);
  EXPECT_EQ(pg->pqflags & (PQ_ACTIVE | PQ_INACTIVE), PQ_ACTIVE);
  EXPECT_EQ(uvmexp.active, 1);
  EXPECT_EQ(uvmexp.inactive, 0);

  uvm_pagedeactivate(pg);
  EXPECT_EQ(pg->pqflags & (PQ_ACTIVE | PQ_INACTIVE), PQ_INACTIVE);
  EXPECT_EQ(uvmexp.active, 0);
  EXPECT_EQ(uvmexp.inactive, 1);

  uvm_pagedeactivate(pg);  // already inactive: no change
  EXPECT_EQ(uvmexp.inactive, 1);

  uvm_pageactivate(pg);
  uvm_pageactivate(pg);  // re-activation keeps one queue entry
  EXPECT_EQ(uvmexp.active, 1);
  EXPECT_EQ(uvmexp.inactive, 0);

  uvm_pagedequeue(pg);
  EXPECT_EQ(pg->pqflags & (PQ_ACTIVE | PQ_INACTIVE), 0);
  EXPECT_EQ(uvmexp.active, 0);

  // Freeing a queued page takes it off its queue.
  uvm_pagedeactivate(pg);
  uvm_pagefree(pg);
  EXPECT_EQ(uvmexp.inactive, 0);
  EXPECT_EQ(uvmexp.free, kPages);
  mutex_exit(&uvm_pageqlock);
}

TEST_F(PageTest, Wire_KeepsPageOffQueues) {
  vm_page* pg = AllocUnbusy();
  ASSERT_NE(pg, nullptr);
  mutex_enter(&uvm_pageqlock);
  uvm_pageactivate(pg);
  uvm_pagewire(pg);
  EXPECT_EQ(pg->wire_count, 1);
  EXPECT_EQ(uvmexp.wired, 1);
  EXPECT_EQ(uvmexp.active, 0);
  EXPECT_EQ(pg->pqflags & (PQ_ACTIVE | PQ_INACTIVE), 0);

  uvm_pageactivate(pg);  // wired pages are not put on a queue
  uvm_pagedeactivate(pg);
  EXPECT_EQ(uvmexp.active, 0);
  EXPECT_EQ(uvmexp.inactive, 0);

  uvm_pagewire(pg);
  uvm_pageunwire(pg);
  EXPECT_EQ(uvmexp.active, 0);
  uvm_pageunwire(pg);  // last unwire activates
  EXPECT_EQ(uvmexp.wired, 0);
  EXPECT_EQ(uvmexp.active, 1);

  // Freeing a wired page unwires it.
  uvm_pagewire(pg);
  uvm_pagefree(pg);
  EXPECT_EQ(uvmexp.wired, 0);
  mutex_exit(&uvm_pageqlock);
}

TEST_F(PageTest, AllocInjectedFailure_ReturnsNull) {
  uvmemu::FailurePlan plan;
  plan.fail_site = "uvm_pagealloc";
  {
    uvmemu::ScopedFailurePlan scoped(plan);
    EXPECT_EQ(uvm_pagealloc(nullptr, 0, nullptr, 0), nullptr);
    EXPECT_EQ(scoped.failures_injected(), 1u);
  }
  EXPECT_EQ(uvmexp.pagealloc_fail, 1);
  EXPECT_EQ(uvmexp.free, kPages);

  // With the plan gone the allocation succeeds again.
  vm_page* pg = uvm_pagealloc(nullptr, 0, nullptr, 0);
  ASSERT_NE(pg, nullptr);
  Free(pg);
}

TEST_F(PageTest, ByPhys_FindsFramesOnly) {
  vm_page* pg = AllocUnbusy();
  ASSERT_NE(pg, nullptr);
  EXPECT_EQ(uvm_pagebyphys(VM_PAGE_TO_PHYS(pg)), pg);
  EXPECT_EQ(uvm_pagebyphys(VM_PAGE_TO_PHYS(pg) + 1), nullptr);
  EXPECT_EQ(uvm_pagebyphys(static_cast<paddr_t>(kPages) * PAGE_SIZE),
            nullptr);
  Free(pg);
}

TEST_F(PageTest, AnonPage_LinksBothWaysAndCounts) {
  vm_anon* anon = uvm_analloc();
  ASSERT_NE(anon, nullptr);
  vm_page* pg = uvm_pagealloc(nullptr, 0, anon, 0);
  ASSERT_NE(pg, nullptr);
  EXPECT_EQ(anon->an_page, pg);
  EXPECT_EQ(pg->uanon, anon);
  EXPECT_EQ(pg->pqflags & PQ_ANON, PQ_ANON);
  EXPECT_EQ(uvmexp.anonpages, 1);

  mutex_enter(&uvm_pageqlock);
  uvm_pagefree(pg);  // the anon's lock is held, as the kernel requires
  mutex_exit(&uvm_pageqlock);
  EXPECT_EQ(anon->an_page, nullptr);
  EXPECT_EQ(uvmexp.anonpages, 0);

  anon->an_ref = 0;
  mutex_exit(&anon->an_lock);
  uvm_anfree(anon);
}

TEST_F(PageTest, Wait_WithFreePages_ReturnsAtOnce) {
  uvm_wait("pagetest");
  EXPECT_EQ(uvmexp.free, kPages);
}

TEST_F(PageTest, Wait_WithNoFreePages_PanicsInsteadOfHanging) {
  std::vector<vm_page*> pages;
  for (int i = 0; i < kPages; i++) pages.push_back(AllocUnbusy());
  {
    uvmemu::ScopedPanicThrows throws;
    try {
      uvm_wait("pagetest");
      ADD_FAILURE() << "uvm_wait returned with no free pages";
    } catch (const uvmemu::KernelPanic& e) {
      EXPECT_NE(std::string(e.what()).find(
                    "uvm_wait(pagetest): out of physical pages"),
                std::string::npos)
          << e.what();
    }
  }
  for (vm_page* pg : pages) Free(pg);
}

TEST_F(PageTest, UnlockAndWait_ReleasesLockAndReportsDeadlock) {
  vm_anon* anon = uvm_analloc();
  ASSERT_NE(anon, nullptr);
  vm_page* pg = uvm_pagealloc(nullptr, 0, anon, 0);
  ASSERT_NE(pg, nullptr);
  {
    uvmemu::ScopedPanicThrows throws;
    pg->flags |= PG_WANTED;
    try {
      UVM_UNLOCK_AND_WAIT(pg, &anon->an_lock, false, "pagetest", 0);
      ADD_FAILURE() << "UVM_UNLOCK_AND_WAIT returned";
    } catch (const uvmemu::KernelPanic& e) {
      EXPECT_NE(std::string(e.what()).find("deadlock: pagetest"),
                std::string::npos)
          << e.what();
    }
  }
  EXPECT_FALSE(mutex_owned(&anon->an_lock));

  // Clean up: free the busy page with the anon locked, then the anon.
  mutex_enter(&anon->an_lock);
  mutex_enter(&uvm_pageqlock);
  uvm_pagefree(pg);
  mutex_exit(&uvm_pageqlock);
  anon->an_ref = 0;
  mutex_exit(&anon->an_lock);
  uvm_anfree(anon);
}

}  // namespace
