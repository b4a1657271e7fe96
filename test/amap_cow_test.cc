// amap_cow_now: resolving copy-on-write at fork time for wired entries.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "test/amap_fixture.h"

namespace uvmemu::testing {
namespace {

class AmapCowTest : public AmapTest {
 protected:
  void SetUp() override { map_ = uvm_map_create(0, vaddr_t{1} << 30); }
  void TearDown() override {
    uvm_map_destroy(map_);
    AmapTest::TearDown();
  }

  // The parent's wired amap with anons at `slots`, tagged slot + 1, and
  // a child entry that fork shares it with (needs-copy, one more ref).
  void Fork(int nslot, const std::vector<int>& slots) {
    parent_ = amap_alloc(nslot * kPage, 0, 0);
    vm_aref aref{0, parent_};
    for (int s : slots) {
      vm_anon* anon = AddAnon(&aref, s, static_cast<unsigned char>(s + 1));
      anon->an_page->wire_count = 1;  // the parent entry is wired
    }
    child_ = std::make_unique<LooseEntry>(0, nslot * kPage, parent_);
    child_->entry.etype = UVM_ET_COPYONWRITE | UVM_ET_NEEDSCOPY;
    amap_ref(parent_, 0, nslot, 0);
  }

  void Unwire(vm_amap* amap) {
    for (int i = 0; i < amap->am_nused; i++)
      amap->am_anon[amap->am_slots[i]]->an_page->wire_count = 0;
  }

  void Cleanup(int nslot) {
    Unwire(parent_);
    amap_unref(child_->entry.aref.ar_amap, 0, nslot, true);
    amap_unref(parent_, 0, nslot, true);
  }

  vm_map* map_ = nullptr;
  vm_amap* parent_ = nullptr;
  std::unique_ptr<LooseEntry> child_;
};

TEST_F(AmapCowTest, CowNow_SharedAnons_ChildGetsPrivateCopies) {
  Fork(4, {0, 2, 3});
  vm_map_entry* e = &child_->entry;
  amap_copy(map_, e, 0, e->start, e->end);
  vm_amap* child = e->aref.ar_amap;
  ASSERT_NE(child, parent_);
  for (int s : {0, 2, 3}) ASSERT_EQ(child->am_anon[s], parent_->am_anon[s]);
  ASSERT_EQ(parent_->am_anon[0]->an_ref, 2);

  amap_cow_now(map_, e);
  for (int s : {0, 2, 3}) {
    SCOPED_TRACE(s);
    vm_anon* mine = parent_->am_anon[s];
    vm_anon* theirs = child->am_anon[s];
    EXPECT_NE(mine, theirs);
    EXPECT_EQ(mine->an_ref, 1);
    EXPECT_EQ(theirs->an_ref, 1);
    EXPECT_NE(mine->an_page, theirs->an_page);
    EXPECT_EQ(AnonTag(theirs), s + 1);
    EXPECT_EQ(theirs->an_page->flags & (PG_BUSY | PG_FAKE), 0);
    EXPECT_NE(theirs->an_page->pqflags & PQ_ACTIVE, 0);
  }
  EXPECT_EQ(child->am_anon[1], nullptr);
  EXPECT_TRUE(AmapConsistent(parent_));
  EXPECT_TRUE(AmapConsistent(child));
  EXPECT_EQ(uvm_anon_count(), 6);
  Cleanup(4);
}

TEST_F(AmapCowTest, CowNow_LoanedPage_StaysShared) {
  Fork(2, {0, 1});
  vm_map_entry* e = &child_->entry;
  amap_copy(map_, e, 0, e->start, e->end);
  parent_->am_anon[1]->an_page->loan_count = 1;
  amap_cow_now(map_, e);
  EXPECT_NE(e->aref.ar_amap->am_anon[0], parent_->am_anon[0]);
  EXPECT_EQ(e->aref.ar_amap->am_anon[1], parent_->am_anon[1]);
  EXPECT_EQ(parent_->am_anon[1]->an_ref, 2);
  parent_->am_anon[1]->an_page->loan_count = 0;
  Cleanup(2);
}

TEST_F(AmapCowTest, CowNow_PageAllocationFails_WaitsAndRestarts) {
  Fork(3, {0, 1, 2});
  vm_map_entry* e = &child_->entry;
  amap_copy(map_, e, 0, e->start, e->end);
  {
    // points: analloc, pagealloc per anon; the second page fails once
    FailurePlan plan;
    plan.fail_nth = 4;
    ScopedFailurePlan scoped(plan);
    amap_cow_now(map_, e);
    EXPECT_EQ(scoped.failures_injected(), 1u);
    // anon 0 copied (2 points); anon 1's page fails (2); the restart
    // skips anon 0 (an_ref is 1 now) and copies anons 1 and 2 (2 + 2)
    EXPECT_EQ(scoped.points_seen(), 8u);
  }
  for (int s = 0; s < 3; s++) {
    EXPECT_EQ(parent_->am_anon[s]->an_ref, 1);
    EXPECT_EQ(AnonTag(e->aref.ar_amap->am_anon[s]), s + 1);
  }
  EXPECT_EQ(uvm_anon_count(), 6);
  Cleanup(3);
}

TEST_F(AmapCowTest, CowNow_AnonAllocationFails_FreesNothingExtraAndRetries) {
  Fork(2, {0, 1});
  vm_map_entry* e = &child_->entry;
  amap_copy(map_, e, 0, e->start, e->end);
  {
    FailurePlan plan;
    plan.fail_nth = 1;  // the first uvm_analloc
    ScopedFailurePlan scoped(plan);
    amap_cow_now(map_, e);
    EXPECT_EQ(scoped.failures_injected(), 1u);
  }
  EXPECT_NE(e->aref.ar_amap->am_anon[0], parent_->am_anon[0]);
  EXPECT_NE(e->aref.ar_amap->am_anon[1], parent_->am_anon[1]);
  EXPECT_EQ(uvm_anon_count(), 4);
  Cleanup(2);
}

TEST_F(AmapCowTest, CowNow_OutOfPhysicalPages_ReportsDeadlock) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Fork(1, {0});
  vm_map_entry* e = &child_->entry;
  amap_copy(map_, e, 0, e->start, e->end);
  EXPECT_DEATH(
      {
        while (uvm_pagealloc(nullptr, 0, nullptr, 0) != nullptr) {
        }
        amap_cow_now(map_, e);
      },
      "uvm_wait\\(cownowpage\\)");
  Cleanup(1);
}

TEST_F(AmapCowTest, Copy_OtherReferenceDropsWhileAllocating_TakesAmapOver) {
  Fork(2, {0, 1});
  vm_map_entry* e = &child_->entry;
  // amap_copy allocates the new amap with the source unlocked; the
  // parent exits meanwhile, so the re-check finds am_ref == 1 and the
  // child takes the source over instead of copying it.
  bool dropped = false;
  {
    ScopedAllocationHook hook([&](const AllocationSite& site) {
      if (dropped || std::string(site.function) != "amap_alloc1") return;
      dropped = true;
      Unwire(parent_);
      amap_unref(parent_, 0, 2, true);
    });
    amap_copy(map_, e, 0, e->start, e->end);
  }
  ASSERT_TRUE(dropped);
  EXPECT_EQ(e->aref.ar_amap, parent_);
  EXPECT_EQ(parent_->am_ref, 1);
  EXPECT_EQ(e->etype & UVM_ET_NEEDSCOPY, 0);
  EXPECT_EQ(amap_list_count(), 1);
  EXPECT_EQ(parent_->am_anon[0]->an_ref, 1);
  amap_unref(parent_, 0, 2, true);
}

}  // namespace
}  // namespace uvmemu::testing
