// Maps and map entries: linking, lookup and clipping, including the
// split of an entry's amap reference (lib/uvm_map.cc).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "uvm/uvm.h"
#include "uvmemu/inject.h"
#include "uvmemu/kernel.h"
#include "uvmemu/panic.h"

namespace {

class MapTest : public ::testing::Test {
 protected:
  void SetUp() override { map_ = uvm_map_create(0, 0x100000); }

  void TearDown() override {
    // Unlink and free whatever the test left in the map, dropping each
    // entry's amap reference as uvm_unmap_detach would.
    while (vm_map_entry* e = uvm_map_first(map_)) {
      uvm_map_entry_unlink(map_, e);
      if (e->aref.ar_amap != nullptr) {
        amap_unref(e->aref.ar_amap, e->aref.ar_pageoff,
                   (e->end - e->start) >> PAGE_SHIFT, false);
      }
      uvm_mapent_free(e);
    }
    uvm_map_destroy(map_);
    absl::Status leaks = uvmemu::Kernel::CheckNoLeaks();
    EXPECT_TRUE(leaks.ok()) << leaks.message();
  }

  vm_map_entry* Link(vaddr_t start, vaddr_t end,
                     vm_amap* amap = nullptr) {
    vm_map_entry* e = uvm_mapent_alloc(map_, 0);
    e->start = start;
    e->end = end;
    e->aref.ar_amap = amap;
    e->aref.ar_pageoff = 0;
    e->protection = VM_PROT_READ | VM_PROT_WRITE;
    e->max_protection = VM_PROT_ALL;
    e->inheritance = MAP_INHERIT_COPY;
    e->etype = UVM_ET_COPYONWRITE;
    uvm_map_entry_link(map_, e);
    return e;
  }

  std::vector<std::pair<vaddr_t, vaddr_t>> Ranges() {
    std::vector<std::pair<vaddr_t, vaddr_t>> r;
    for (vm_map_entry* e = uvm_map_first(map_); e != nullptr;
         e = uvm_map_next(map_, e)) {
      r.emplace_back(e->start, e->end);
    }
    return r;
  }

  uvmemu::Kernel kernel_{uvmemu::KernelConfig{.physical_pages = 16}};
  vm_map* map_ = nullptr;
};

using RangeList = std::vector<std::pair<vaddr_t, vaddr_t>>;

TEST_F(MapTest, Create_EmptyMap) {
  EXPECT_EQ(map_->nentries, 0);
  EXPECT_EQ(map_->size, 0u);
  EXPECT_EQ(map_->min_offset, 0u);
  EXPECT_EQ(map_->max_offset, 0x100000u);
  EXPECT_EQ(uvm_map_first(map_), nullptr);
  ASSERT_NE(kernel_map, nullptr);
  EXPECT_NE(kernel_map, map_);
}

TEST_F(MapTest, Link_KeepsEntriesSortedAndCounted) {
  Link(0x5000, 0x8000);
  Link(0x1000, 0x3000);
  Link(0x3000, 0x4000);
  EXPECT_EQ(map_->nentries, 3);
  EXPECT_EQ(map_->size, 0x6000u);
  EXPECT_EQ(Ranges(), (RangeList{{0x1000, 0x3000}, {0x3000, 0x4000},
                              {0x5000, 0x8000}}));

  vm_map_entry* e;
  ASSERT_TRUE(uvm_map_lookup_entry(map_, 0x3000, &e));
  uvm_map_entry_unlink(map_, e);
  uvm_mapent_free(e);
  EXPECT_EQ(map_->nentries, 2);
  EXPECT_EQ(map_->size, 0x5000u);
}

TEST_F(MapTest, LinkOverlapping_Panics) {
  Link(0x2000, 0x4000);
  vm_map_entry* e = uvm_mapent_alloc(map_, 0);
  e->start = 0x3000;
  e->end = 0x5000;
  {
    uvmemu::ScopedPanicThrows throws;
    EXPECT_THROW(uvm_map_entry_link(map_, e), uvmemu::KernelPanic);
    e->start = 0x1000;
    e->end = 0x3000;
    EXPECT_THROW(uvm_map_entry_link(map_, e), uvmemu::KernelPanic);
  }
  EXPECT_EQ(map_->nentries, 1);
  uvm_mapent_free(e);
}

TEST_F(MapTest, LookupEntry_FindsContainingOrPrevious) {
  vm_map_entry* e1 = Link(0x1000, 0x3000);
  vm_map_entry* e2 = Link(0x5000, 0x8000);
  vm_map_entry* e = reinterpret_cast<vm_map_entry*>(0x1);

  EXPECT_FALSE(uvm_map_lookup_entry(map_, 0x0, &e));
  EXPECT_EQ(e, nullptr);  // nothing before
  EXPECT_FALSE(uvm_map_lookup_entry(map_, 0xfff, &e));
  EXPECT_EQ(e, nullptr);

  EXPECT_TRUE(uvm_map_lookup_entry(map_, 0x1000, &e));
  EXPECT_EQ(e, e1);
  EXPECT_TRUE(uvm_map_lookup_entry(map_, 0x2fff, &e));
  EXPECT_EQ(e, e1);

  EXPECT_FALSE(uvm_map_lookup_entry(map_, 0x3000, &e));  // end is exclusive
  EXPECT_EQ(e, e1);
  EXPECT_FALSE(uvm_map_lookup_entry(map_, 0x4fff, &e));
  EXPECT_EQ(e, e1);

  EXPECT_TRUE(uvm_map_lookup_entry(map_, 0x5000, &e));
  EXPECT_EQ(e, e2);
  EXPECT_TRUE(uvm_map_lookup_entry(map_, 0x7abc, &e));
  EXPECT_EQ(e, e2);
  EXPECT_FALSE(uvm_map_lookup_entry(map_, 0x8000, &e));
  EXPECT_EQ(e, e2);
  EXPECT_FALSE(uvm_map_lookup_entry(map_, 0xfffff, &e));
  EXPECT_EQ(e, e2);

  EXPECT_EQ(uvm_map_first(map_), e1);
  EXPECT_EQ(uvm_map_next(map_, e1), e2);
  EXPECT_EQ(uvm_map_next(map_, e2), nullptr);
}

TEST_F(MapTest, ClipStart_NoAmap_SplitsEntry) {
  vm_map_entry* entry = Link(0x10000, 0x14000);
  UVM_MAP_CLIP_START(map_, entry, 0x11000, nullptr);
  EXPECT_EQ(Ranges(), (RangeList{{0x10000, 0x11000}, {0x11000, 0x14000}}));
  EXPECT_EQ(entry->start, 0x11000u);
  EXPECT_EQ(entry->end, 0x14000u);
  EXPECT_EQ(map_->nentries, 2);
  EXPECT_EQ(map_->size, 0x4000u);
  vm_map_entry* left = uvm_map_first(map_);
  EXPECT_EQ(left->protection, entry->protection);
  EXPECT_EQ(left->etype, entry->etype);
  EXPECT_EQ(left->aref.ar_amap, nullptr);
}

TEST_F(MapTest, ClipMacros_OutsideEntry_DoNothing) {
  vm_map_entry* entry = Link(0x10000, 0x14000);
  UVM_MAP_CLIP_START(map_, entry, 0x10000, nullptr);
  UVM_MAP_CLIP_START(map_, entry, 0x20000, nullptr);
  UVM_MAP_CLIP_END(map_, entry, 0x14000, nullptr);
  UVM_MAP_CLIP_END(map_, entry, 0x8000, nullptr);
  EXPECT_EQ(map_->nentries, 1);
  EXPECT_EQ(Ranges(), (RangeList{{0x10000, 0x14000}}));
}

TEST_F(MapTest, ClipStart_SplitsEntryAndAmapRef) {
  vm_amap* amap = amap_alloc(0x4000, 0, 0);
  ASSERT_NE(amap, nullptr);
  vm_map_entry* entry = Link(0x10000, 0x14000, amap);
  EXPECT_EQ(amap->am_ref, 1);

  UVM_MAP_CLIP_START(map_, entry, 0x11000, nullptr);

  vm_map_entry* left;
  ASSERT_TRUE(uvm_map_lookup_entry(map_, 0x10000, &left));
  ASSERT_NE(left, entry);
  EXPECT_EQ(left->start, 0x10000u);
  EXPECT_EQ(left->end, 0x11000u);
  EXPECT_EQ(entry->start, 0x11000u);
  EXPECT_EQ(entry->end, 0x14000u);
  // The left piece keeps the original reference; the right piece's
  // reference starts one slot further into the same amap.
  EXPECT_EQ(left->aref.ar_amap, amap);
  EXPECT_EQ(left->aref.ar_pageoff, 0);
  EXPECT_EQ(entry->aref.ar_amap, amap);
  EXPECT_EQ(entry->aref.ar_pageoff, 1);
  EXPECT_EQ(amap->am_ref, 2);
  // Two references now cover parts of the amap: per-page reference
  // counts were established.
  EXPECT_NE(amap->am_ppref, nullptr);
  EXPECT_NE(amap->am_ppref, PPREF_NONE);
  EXPECT_EQ(map_->nentries, 2);
  EXPECT_EQ(map_->size, 0x4000u);
  // TearDown drops both references, freeing the amap.
}

TEST_F(MapTest, ClipEnd_SplitsEntryAndAmapRef) {
  vm_amap* amap = amap_alloc(0x4000, 0, 0);
  ASSERT_NE(amap, nullptr);
  vm_map_entry* entry = Link(0x10000, 0x14000, amap);

  UVM_MAP_CLIP_END(map_, entry, 0x13000, nullptr);

  EXPECT_EQ(Ranges(), (RangeList{{0x10000, 0x13000}, {0x13000, 0x14000}}));
  vm_map_entry* right = uvm_map_next(map_, entry);
  ASSERT_NE(right, nullptr);
  EXPECT_EQ(entry->aref.ar_pageoff, 0);
  EXPECT_EQ(right->aref.ar_amap, amap);
  EXPECT_EQ(right->aref.ar_pageoff, 3);
  EXPECT_EQ(amap->am_ref, 2);
  EXPECT_EQ(map_->size, 0x4000u);
}

TEST_F(MapTest, ClipBothEnds_ThreeRefsIntoOneAmap) {
  vm_amap* amap = amap_alloc(0x8000, 0, 0);
  ASSERT_NE(amap, nullptr);
  vm_map_entry* entry = Link(0x20000, 0x28000, amap);

  UVM_MAP_CLIP_START(map_, entry, 0x22000, nullptr);
  UVM_MAP_CLIP_END(map_, entry, 0x25000, nullptr);

  EXPECT_EQ(Ranges(), (RangeList{{0x20000, 0x22000},
                              {0x22000, 0x25000},
                              {0x25000, 0x28000}}));
  std::vector<int> offsets;
  for (vm_map_entry* e = uvm_map_first(map_); e != nullptr;
       e = uvm_map_next(map_, e)) {
    EXPECT_EQ(e->aref.ar_amap, amap);
    offsets.push_back(e->aref.ar_pageoff);
  }
  EXPECT_EQ(offsets, (std::vector<int>{0, 2, 5}));
  EXPECT_EQ(amap->am_ref, 3);
  EXPECT_EQ(map_->nentries, 3);
  EXPECT_EQ(map_->size, 0x8000u);
}

TEST_F(MapTest, MapentAllocNowait_InjectedFailure_ReturnsNull) {
  uvmemu::FailurePlan plan;
  plan.fail_site = "uvm_mapent_alloc";
  uvmemu::ScopedFailurePlan scoped(plan);
  EXPECT_EQ(uvm_mapent_alloc(map_, UVM_FLAG_NOWAIT), nullptr);
  // Sleeping allocations are not failure points.
  vm_map_entry* e = uvm_mapent_alloc(map_, 0);
  ASSERT_NE(e, nullptr);
  uvm_mapent_free(e);
  EXPECT_EQ(scoped.failures_injected(), 1u);
}

}  // namespace
