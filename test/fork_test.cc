// uvmspace_fork (lib/uvm_map.cc) and the copy-on-write faults it sets up
// (lib/uvm_fault.cc): copy, share and none inheritance, wired entries
// (amap_cow_now), partial unmaps of an amap shared by fork (per-page
// reference counts), several generations, and parents exiting first.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "emu/mmu.h"
#include "gtest/gtest.h"
#include "test/amap_fixture.h"
#include "test/page_pattern.h"
#include "test/vm_fixture.h"
#include "uvm/uvm.h"
#include "uvmemu/inject.h"

namespace uvmemu::testing {
namespace {

class ForkTest : public VmTest {
 protected:
  static void Fill(vmspace* vm, vaddr_t va, int seed) {
    ASSERT_EQ(Write(vm, va, PagePattern(seed)), 0);
  }
  static ::testing::AssertionResult Holds(vmspace* vm, vaddr_t va, int seed) {
    std::string s;
    if (Read(vm, va, PAGE_SIZE, &s) != 0)
      return ::testing::AssertionFailure() << "read fault";
    if (s != PagePattern(seed))
      return ::testing::AssertionFailure()
             << "page at " << std::hex << va << " differs from pattern "
             << std::dec << seed;
    return ::testing::AssertionSuccess();
  }
  static bool Writable(vmspace* vm, vaddr_t va) {
    return (mmu::HostProtection(vm->vm_map.pmap, va) & VM_PROT_WRITE) != 0;
  }
};

// ---------------------------------------------------------------------------
// MAP_INHERIT_COPY

TEST_F(ForkTest, Copy_SharesTheAmapWithNeedsCopyAndWriteProtectsTheParent) {
  vmspace* p = NewSpace();
  const vaddr_t va = Map(p, 0, 4);
  for (int i = 0; i < 4; i++) Fill(p, va + i * kPg, i);
  EXPECT_TRUE(Writable(p, va));
  vm_amap* amap = AmapAt(p, va);

  vmspace* c = Fork(p);
  EXPECT_NE(c->vm_id, p->vm_id);
  std::vector<EntryInfo> pe = Entries(p), ce = Entries(c);
  ASSERT_EQ(pe.size(), 1u);
  ASSERT_EQ(ce.size(), 1u);
  EXPECT_EQ(pe[0].amap, amap);
  EXPECT_EQ(ce[0].amap, amap);
  EXPECT_EQ(pe[0].etype, UVM_ET_COPYONWRITE | UVM_ET_NEEDSCOPY);
  EXPECT_EQ(ce[0].etype, UVM_ET_COPYONWRITE | UVM_ET_NEEDSCOPY);
  EXPECT_EQ(ce[0].start, va);
  EXPECT_EQ(ce[0].prot, pe[0].prot);
  EXPECT_EQ(amap->am_ref, 2);
  EXPECT_EQ(amap->am_ppref, nullptr);  // whole-amap reference
  EXPECT_EQ(amap->am_flags & AMAP_SHARED, 0);
  for (int i = 0; i < 4; i++) {
    EXPECT_EQ(AnonAt(p, va + i * kPg)->an_ref, 1);
    EXPECT_FALSE(Writable(p, va + i * kPg));
  }
  EXPECT_EQ(mmu::GetStats().pmaps, 2u);
  EXPECT_EQ(c->vm_map.size, p->vm_map.size);
}

TEST_F(ForkTest, Copy_WriteInParentIsNotSeenByChild) {
  vmspace* p = NewSpace();
  const vaddr_t va = Map(p, 0, 4);
  for (int i = 0; i < 4; i++) Fill(p, va + i * kPg, i);
  vm_amap* orig = AmapAt(p, va);
  vmspace* c = Fork(p);
  const int cowfaults = uvmexp.cowfaults;

  Fill(p, va + kPg, 100);  // the parent's copy fault
  EXPECT_EQ(uvmexp.cowfaults, cowfaults + 1);
  // The parent copied the amap (it was shared); the child keeps the
  // original, now its own.
  vm_amap* pa = AmapAt(p, va);
  EXPECT_NE(pa, orig);
  EXPECT_EQ(AmapAt(c, va), orig);
  EXPECT_EQ(orig->am_ref, 1);
  EXPECT_EQ(pa->am_ref, 1);
  EXPECT_EQ(Entries(p)[0].etype, UVM_ET_COPYONWRITE);
  // Untouched pages: one anon in both amaps; the written one: two.
  for (int i : {0, 2, 3}) {
    vm_anon* anon = AnonAt(p, va + i * kPg);
    EXPECT_EQ(anon->an_ref, 2);
    EXPECT_EQ(orig->am_anon[i], anon);
  }
  EXPECT_NE(AnonAt(p, va + kPg), orig->am_anon[1]);
  EXPECT_EQ(AnonAt(p, va + kPg)->an_ref, 1);
  EXPECT_EQ(orig->am_anon[1]->an_ref, 1);

  EXPECT_TRUE(Holds(p, va + kPg, 100));
  EXPECT_TRUE(Holds(c, va + kPg, 1));
  for (int i : {0, 2, 3}) {
    EXPECT_TRUE(Holds(p, va + i * kPg, i));
    EXPECT_TRUE(Holds(c, va + i * kPg, i));
  }
  EXPECT_EQ(Anons(), 5);
  EXPECT_TRUE(AllAmapsConsistent());
}

TEST_F(ForkTest, Copy_WriteInChildIsNotSeenByParent) {
  vmspace* p = NewSpace();
  const vaddr_t va = Map(p, 0, 4);
  for (int i = 0; i < 4; i++) Fill(p, va + i * kPg, i);
  vmspace* c = Fork(p);

  Fill(c, va + 2 * kPg, 200);
  EXPECT_TRUE(Holds(c, va + 2 * kPg, 200));
  EXPECT_TRUE(Holds(p, va + 2 * kPg, 2));
  // Now the parent writes the same page: the child's copy made the
  // parent's anon its own again (an_ref 1), so no second copy.
  const int cowfaults = uvmexp.cowfaults;
  Fill(p, va + 2 * kPg, 300);
  EXPECT_EQ(uvmexp.cowfaults, cowfaults);
  EXPECT_TRUE(Holds(p, va + 2 * kPg, 300));
  EXPECT_TRUE(Holds(c, va + 2 * kPg, 200));
  // But another page is still shared, and is copied.
  Fill(p, va, 400);
  EXPECT_EQ(uvmexp.cowfaults, cowfaults + 1);
  EXPECT_TRUE(Holds(c, va, 0));
  EXPECT_TRUE(Holds(p, va, 400));
  EXPECT_TRUE(AllAmapsConsistent());
}

TEST_F(ForkTest, Copy_RawStoresInBothProcessesStayPrivate) {
  vmspace* p = NewSpace();
  const vaddr_t va = Map(p, 0, 2);
  Ptr(p, va)[0] = 'P';
  Ptr(p, va + kPg)[5] = 'Q';
  vmspace* c = Fork(p);
  EXPECT_EQ(Ptr(c, va)[0], 'P');
  Ptr(c, va)[0] = 'c';
  Ptr(p, va + kPg)[5] = 'p';
  EXPECT_EQ(Ptr(p, va)[0], 'P');
  EXPECT_EQ(Ptr(c, va)[0], 'c');
  EXPECT_EQ(Ptr(c, va + kPg)[5], 'Q');
  EXPECT_EQ(Ptr(p, va + kPg)[5], 'p');
}

TEST_F(ForkTest, Copy_ReadInChildCopiesTheAmapButSharesThePages) {
  vmspace* p = NewSpace();
  const vaddr_t va = Map(p, 0, 3);
  for (int i = 0; i < 3; i++) Fill(p, va + i * kPg, i);
  vmspace* c = Fork(p);
  const long pages = PagesInUse();
  EXPECT_TRUE(Holds(c, va + kPg, 1));
  // No page was copied; the child has an amap of its own whose anons
  // are the parent's, mapped read-only in both.
  EXPECT_EQ(PagesInUse(), pages);
  EXPECT_NE(AmapAt(c, va), AmapAt(p, va));
  EXPECT_EQ(AnonAt(c, va + kPg), AnonAt(p, va + kPg));
  EXPECT_EQ(AnonAt(c, va + kPg)->an_ref, 2);
  EXPECT_EQ(mmu::MappedPage(c->vm_map.pmap, va + kPg),
            mmu::MappedPage(p->vm_map.pmap, va + kPg));
  EXPECT_FALSE(Writable(c, va + kPg));
  EXPECT_EQ(mmu::MappingCount(AnonAt(p, va + kPg)->an_page), 2u);
}

TEST_F(ForkTest, Copy_EntryWithoutAmapStaysWithout) {
  vmspace* p = NewSpace();
  const vaddr_t va = Map(p, 0, 2);
  vmspace* c = Fork(p);
  EXPECT_EQ(AmapAt(c, va), nullptr);
  EXPECT_EQ(Entries(c)[0].etype, UVM_ET_COPYONWRITE | UVM_ET_NEEDSCOPY);
  Fill(p, va, 1);
  Fill(c, va, 2);
  EXPECT_TRUE(Holds(p, va, 1));
  EXPECT_TRUE(Holds(c, va, 2));
  EXPECT_NE(AmapAt(c, va), AmapAt(p, va));
}

// ---------------------------------------------------------------------------
// MAP_INHERIT_SHARE

TEST_F(ForkTest, Share_WritesAreSeenBothWaysThroughTheSameAnon) {
  vmspace* p = NewSpace();
  const vaddr_t va =
      Map(p, 0, 3, 0, VM_PROT_READ | VM_PROT_WRITE, MAP_INHERIT_SHARE);
  Fill(p, va, 1);
  vmspace* c = Fork(p);
  vm_amap* amap = AmapAt(p, va);
  EXPECT_EQ(AmapAt(c, va), amap);
  EXPECT_EQ(amap->am_ref, 2);
  EXPECT_NE(amap->am_flags & AMAP_SHARED, 0);
  EXPECT_EQ(Entries(c)[0].inherit, MAP_INHERIT_SHARE);
  EXPECT_EQ(Entries(c)[0].etype & UVM_ET_NEEDSCOPY, 0);
  EXPECT_TRUE(Writable(p, va));  // sharing needs no write protection

  EXPECT_TRUE(Holds(c, va, 1));
  Fill(c, va, 2);
  EXPECT_TRUE(Holds(p, va, 2));
  Fill(p, va + 2 * kPg, 3);  // a page neither had: zero fill, shared
  EXPECT_TRUE(Holds(c, va + 2 * kPg, 3));
  EXPECT_EQ(AnonAt(c, va + 2 * kPg), AnonAt(p, va + 2 * kPg));
  EXPECT_EQ(AnonAt(p, va)->an_ref, 1);
  EXPECT_EQ(Anons(), 2);
  EXPECT_EQ(uvmexp.cowfaults, 0);

  Exit(c);
  EXPECT_EQ(amap->am_ref, 1);
  EXPECT_EQ(amap->am_flags & AMAP_SHARED, 0);
  EXPECT_TRUE(Holds(p, va, 2));
}

TEST_F(ForkTest, Share_EntryThatNeedsACopyGetsItsAmapFirst) {
  vmspace* p = NewSpace();
  const vaddr_t va = Map(p, 0, 2);  // never touched: no amap
  ASSERT_EQ(uvm_map_inherit(&p->vm_map, va, va + 2 * kPg, MAP_INHERIT_SHARE),
            0);
  vmspace* c = Fork(p);
  ASSERT_NE(AmapAt(p, va), nullptr);
  EXPECT_EQ(AmapAt(c, va), AmapAt(p, va));
  EXPECT_EQ(Entries(p)[0].etype & UVM_ET_NEEDSCOPY, 0);
  Fill(c, va + kPg, 7);
  EXPECT_TRUE(Holds(p, va + kPg, 7));
}

TEST_F(ForkTest, Share_AfterACopyForkTheParentGetsItsOwnAmapToShare) {
  vmspace* p = NewSpace();
  const vaddr_t va = Map(p, 0, 2);
  Fill(p, va, 1);
  vmspace* c1 = Fork(p);  // copy: the parent now needs a copy
  ASSERT_EQ(uvm_map_inherit(&p->vm_map, va, va + 2 * kPg, MAP_INHERIT_SHARE),
            0);
  vmspace* c2 = Fork(p);  // share: the parent copies first
  EXPECT_NE(AmapAt(p, va), AmapAt(c1, va));
  EXPECT_EQ(AmapAt(p, va), AmapAt(c2, va));
  Fill(c2, va, 2);
  EXPECT_TRUE(Holds(p, va, 2));
  EXPECT_TRUE(Holds(c1, va, 1));
  Fill(c1, va + kPg, 3);  // never written by the parent: zero there
  const std::string zero(PAGE_SIZE, '\0');
  EXPECT_EQ(ReadStr(p, va + kPg, PAGE_SIZE), zero);
  EXPECT_EQ(ReadStr(c2, va + kPg, PAGE_SIZE), zero);
  EXPECT_TRUE(Holds(c1, va + kPg, 3));
  EXPECT_TRUE(AllAmapsConsistent());
}

TEST_F(ForkTest, SharedAnon_IsSharedAcrossGenerations) {
  vmspace* p = NewSpace();
  const vaddr_t va = Map(p, 0, 2, UVM_FLAG_SHAREDANON);
  vmspace* c = Fork(p);
  vmspace* g = Fork(c);
  vm_amap* amap = AmapAt(p, va);
  EXPECT_EQ(amap->am_ref, 3);
  Fill(g, va, 5);
  EXPECT_TRUE(Holds(p, va, 5));
  EXPECT_TRUE(Holds(c, va, 5));
  Fill(p, va + kPg, 6);
  EXPECT_TRUE(Holds(g, va + kPg, 6));
  Exit(c);
  EXPECT_EQ(amap->am_ref, 2);
  Fill(p, va, 7);
  EXPECT_TRUE(Holds(g, va, 7));
  EXPECT_EQ(Anons(), 2);
}

// A shared amap forked with copy inheritance: the child gets a snapshot
// at once; the sharers keep sharing, and their later writes (which now
// copy, as the child references the anons) are not seen by the child.
TEST_F(ForkTest, Share_ThenCopyForkKeepsTheSharersSharing) {
  vmspace* p = NewSpace();
  const vaddr_t va =
      Map(p, 0, 2, 0, VM_PROT_READ | VM_PROT_WRITE, MAP_INHERIT_SHARE);
  Fill(p, va, 1);
  Fill(p, va + kPg, 2);
  vmspace* s = Fork(p);  // shares the amap
  vm_amap* amap = AmapAt(p, va);
  ASSERT_EQ(uvm_map_inherit(&p->vm_map, va, va + 2 * kPg, MAP_INHERIT_COPY), 0);
  Fill(s, va, 10);  // before the fork: shared, in place
  EXPECT_TRUE(Holds(p, va, 10));

  vmspace* c = Fork(p);
  // The child's copy is made at fork time (the amap is shared).
  EXPECT_NE(AmapAt(c, va), amap);
  EXPECT_EQ(Entries(c)[0].etype & UVM_ET_NEEDSCOPY, 0);
  EXPECT_EQ(AnonAt(c, va), AnonAt(p, va));
  EXPECT_EQ(AnonAt(p, va)->an_ref, 2);
  // The parent keeps sharing: no needs-copy, same amap as the sharer.
  EXPECT_EQ(AmapAt(p, va), amap);
  EXPECT_EQ(Entries(p)[0].etype & UVM_ET_NEEDSCOPY, 0);
  // Every sharer's mappings were write-protected.
  EXPECT_FALSE(Writable(p, va));
  EXPECT_FALSE(Writable(s, va));

  Fill(s, va, 20);  // copies the anon inside the shared amap
  EXPECT_TRUE(Holds(p, va, 20));
  EXPECT_TRUE(Holds(c, va, 10));
  Fill(p, va + kPg, 30);
  EXPECT_TRUE(Holds(s, va + kPg, 30));
  EXPECT_TRUE(Holds(c, va + kPg, 2));
  Fill(c, va, 40);
  EXPECT_TRUE(Holds(p, va, 20));
  EXPECT_TRUE(Holds(s, va, 20));
  EXPECT_EQ(AmapAt(s, va), amap);
  EXPECT_EQ(amap->am_ref, 2);
  EXPECT_TRUE(AllAmapsConsistent());
}

// An anon shared by copy-on-write sits in an amap that is also shared
// (MAP_INHERIT_SHARE): a write through the shared amap must copy it (the
// copy-on-write partner must not see the write) and the other sharers
// must see the new anon.
TEST_F(ForkTest, Share_CowAnonInsideASharedAmapIsCopiedForAllSharers) {
  vmspace* p = NewSpace();
  const vaddr_t va = Map(p, 0, 2);
  Fill(p, va, 1);
  Fill(p, va + kPg, 2);
  vmspace* cow = Fork(p);
  Fill(p, va, 3);  // the parent copies its amap; page 1's anon: an_ref 2
  ASSERT_EQ(AnonAt(p, va + kPg)->an_ref, 2);
  ASSERT_EQ(uvm_map_inherit(&p->vm_map, va, va + 2 * kPg, MAP_INHERIT_SHARE),
            0);
  vmspace* s = Fork(p);
  ASSERT_EQ(AmapAt(s, va), AmapAt(p, va));
  EXPECT_TRUE(Holds(s, va + kPg, 2));

  Fill(p, va + kPg, 4);
  EXPECT_TRUE(Holds(cow, va + kPg, 2));
  EXPECT_TRUE(Holds(s, va + kPg, 4));
  EXPECT_EQ(AnonAt(s, va + kPg), AnonAt(p, va + kPg));
  EXPECT_EQ(AnonAt(p, va + kPg)->an_ref, 1);
  // Now the anon is the sharers' alone: written in place.
  const int cowfaults = uvmexp.cowfaults;
  Fill(s, va + kPg, 5);
  EXPECT_EQ(uvmexp.cowfaults, cowfaults);
  EXPECT_TRUE(Holds(p, va + kPg, 5));
  EXPECT_TRUE(Holds(cow, va + kPg, 2));
  EXPECT_TRUE(Holds(cow, va, 1));
  EXPECT_TRUE(AllAmapsConsistent());
}

// ---------------------------------------------------------------------------
// MAP_INHERIT_NONE

TEST_F(ForkTest, None_ChildHasNoMapping) {
  vmspace* p = NewSpace();
  const vaddr_t a = Map(p, kMin, 2, UVM_FLAG_NOMERGE);
  const vaddr_t b = Map(p, kMin + 2 * kPg, 2, UVM_FLAG_NOMERGE,
                        VM_PROT_READ | VM_PROT_WRITE, MAP_INHERIT_NONE);
  Fill(p, a, 1);
  Fill(p, b, 2);
  vmspace* c = Fork(p);
  ASSERT_EQ(c->vm_map.nentries, 1);
  std::string s;
  EXPECT_EQ(Read(c, b, 1, &s), EFAULT);
  EXPECT_EQ(uvm_fault(&c->vm_map, b, VM_PROT_READ), EFAULT);
  EXPECT_TRUE(Holds(c, a, 1));
  // The parent's mapping is untouched (still its own, writable).
  EXPECT_TRUE(Writable(p, b));
  EXPECT_EQ(AmapAt(p, b)->am_ref, 1);
  EXPECT_TRUE(Holds(p, b, 2));
}

// ---------------------------------------------------------------------------
// Partial unmaps of an amap shared by fork

TEST_F(ForkTest, PartialUnmap_PerPageReferencesFreeExactlyTheRightAnons) {
  vmspace* p = NewSpace();
  const vaddr_t va = Map(p, 0, 8);
  for (int i = 0; i < 8; i++) Fill(p, va + i * kPg, i);
  vm_amap* amap = AmapAt(p, va);
  vmspace* c = Fork(p);
  ASSERT_EQ(amap->am_ref, 2);
  EXPECT_EQ(amap->am_ppref, nullptr);
  EXPECT_EQ(Anons(), 8);

  // The parent unmaps pages [2, 4): the child still maps them.
  ASSERT_EQ(uvm_unmap(&p->vm_map, va + 2 * kPg, va + 4 * kPg), 0);
  EXPECT_EQ(Anons(), 8);
  EXPECT_EQ(PpRuns(amap), (Runs{{0, 2, 2}, {2, 2, 1}, {4, 4, 2}}));
  EXPECT_EQ(amap->am_ref, 3);  // parent (two entries) + child
  EXPECT_TRUE(AllAmapsConsistent());

  // The child unmaps [3, 6): page 3 is now referenced by nobody.
  vm_anon* a2 = amap->am_anon[2];
  ASSERT_EQ(uvm_unmap(&c->vm_map, va + 3 * kPg, va + 6 * kPg), 0);
  EXPECT_EQ(Anons(), 7);
  EXPECT_EQ(amap->am_anon[3], nullptr);
  EXPECT_EQ(amap->am_anon[2], a2);
  EXPECT_NE(amap->am_anon[4], nullptr);
  EXPECT_EQ(PpRuns(amap),
            (Runs{{0, 2, 2}, {2, 1, 1}, {3, 1, 0}, {4, 2, 1}, {6, 2, 2}}));
  EXPECT_TRUE(AllAmapsConsistent());

  // The parent goes away: pages only it mapped (4, 5) go with it.
  Exit(p);
  EXPECT_EQ(Anons(), 5);
  for (int i : {0, 1, 2, 6, 7}) EXPECT_TRUE(Holds(c, va + i * kPg, i));
  std::string s;
  for (int i : {3, 4, 5}) EXPECT_EQ(Read(c, va + i * kPg, 1, &s), EFAULT);
  Exit(c);
  EXPECT_EQ(Anons(), 0);
  EXPECT_EQ(amap_list_count(), 0);
}

// ---------------------------------------------------------------------------
// Wired entries: copy-on-write resolved at fork (amap_cow_now)

TEST_F(ForkTest, Wired_ChildGetsCopiesAtForkParentStaysWritable) {
  vmspace* p = NewSpace();
  const vaddr_t va = Map(p, 0, 4);
  for (int i = 0; i < 4; i++) Fill(p, va + i * kPg, i);
  ASSERT_EQ(uvm_map_pageable(&p->vm_map, va, va + 4 * kPg, false), 0);
  vm_amap* pamap = AmapAt(p, va);
  const long pages = PagesInUse();

  vmspace* c = Fork(p);
  EXPECT_EQ(PagesInUse(), pages + 4);  // copied now
  EXPECT_NE(AmapAt(c, va), pamap);
  EXPECT_EQ(AmapAt(p, va), pamap);
  std::vector<EntryInfo> pe = Entries(p), ce = Entries(c);
  EXPECT_EQ(pe[0].wired, 1);
  EXPECT_EQ(pe[0].etype & UVM_ET_NEEDSCOPY, 0);
  EXPECT_EQ(ce[0].wired, 0);
  EXPECT_EQ(ce[0].etype & UVM_ET_NEEDSCOPY, 0);
  for (int i = 0; i < 4; i++) {
    vm_anon* pa = AnonAt(p, va + i * kPg);
    vm_anon* ca = AnonAt(c, va + i * kPg);
    EXPECT_NE(pa, ca);
    EXPECT_EQ(pa->an_ref, 1);
    EXPECT_EQ(ca->an_ref, 1);
    EXPECT_EQ(pa->an_page->wire_count, 1);
    EXPECT_EQ(ca->an_page->wire_count, 0);
    EXPECT_TRUE(Writable(p, va + i * kPg));
  }
  // The parent writes without faulting; the child does not see it.
  const uint64_t faults = mmu::GetStats().faults;
  Fill(p, va + kPg, 50);
  EXPECT_EQ(mmu::GetStats().faults, faults);
  EXPECT_TRUE(Holds(c, va + kPg, 1));
  EXPECT_TRUE(Holds(p, va + kPg, 50));
  // The child's pages are its own: written in place.
  const int cowfaults = uvmexp.cowfaults;
  Fill(c, va + 2 * kPg, 60);
  EXPECT_EQ(uvmexp.cowfaults, cowfaults);
  EXPECT_TRUE(Holds(p, va + 2 * kPg, 2));
  EXPECT_TRUE(AllAmapsConsistent());
}

// A wired entry in an amap shared with a process that forks with copy
// inheritance: copy-on-write faults inside the shared amap move the
// wiring to the copies, so the wired entry keeps mapping wired pages (and
// a later fork of the wired process can resolve its copies at once).
TEST_F(ForkTest, Wired_SharedAmapCopiesCarryTheWiring) {
  vmspace* p = NewSpace();
  const vaddr_t va =
      Map(p, 0, 2, 0, VM_PROT_READ | VM_PROT_WRITE, MAP_INHERIT_SHARE);
  Fill(p, va, 1);
  Fill(p, va + kPg, 2);
  ASSERT_EQ(uvm_map_pageable(&p->vm_map, va, va + 2 * kPg, false), 0);
  vmspace* s = Fork(p);  // shares the wired amap (not wired itself)
  ASSERT_EQ(uvm_map_inherit(&s->vm_map, va, va + 2 * kPg, MAP_INHERIT_COPY), 0);
  vmspace* c = Fork(s);  // copies: the anons are now shared with c
  ASSERT_EQ(AnonAt(p, va)->an_ref, 2);
  EXPECT_EQ(uvmexp.wired, 2);

  Fill(s, va, 3);        // copy inside the shared amap, by the unwired sharer
  Fill(p, va + kPg, 4);  // and by the wired one
  for (int i = 0; i < 2; i++) {
    vm_anon* mine = AnonAt(p, va + i * kPg);
    vm_anon* theirs = AnonAt(c, va + i * kPg);
    EXPECT_NE(mine, theirs);
    EXPECT_EQ(mine, AnonAt(s, va + i * kPg));
    EXPECT_EQ(mine->an_page->wire_count, 1) << i;
    EXPECT_EQ(theirs->an_page->wire_count, 0) << i;
    EXPECT_NE(theirs->an_page->pqflags & PQ_ACTIVE, 0) << i;
  }
  EXPECT_EQ(uvmexp.wired, 2);
  EXPECT_TRUE(Holds(p, va, 3));
  EXPECT_TRUE(Holds(s, va + kPg, 4));
  EXPECT_TRUE(Holds(c, va, 1));
  EXPECT_TRUE(Holds(c, va + kPg, 2));

  // The wired process forks with copy inheritance: amap_cow_now copies
  // its (wired, resident) pages for the child at once.
  ASSERT_EQ(uvm_map_inherit(&p->vm_map, va, va + 2 * kPg, MAP_INHERIT_COPY), 0);
  vmspace* g = Fork(p);
  EXPECT_NE(AnonAt(g, va), AnonAt(p, va));
  EXPECT_TRUE(Holds(g, va, 3));
  EXPECT_TRUE(Holds(g, va + kPg, 4));
  ASSERT_EQ(uvm_map_pageable(&p->vm_map, va, va + 2 * kPg, true), 0);
  EXPECT_EQ(uvmexp.wired, 0);
  EXPECT_TRUE(AllAmapsConsistent());
}

// ---------------------------------------------------------------------------
// Generations and exits

TEST_F(ForkTest, ThreeGenerations_EachSeesItsOwnHistory) {
  vmspace* g0 = NewSpace();
  const vaddr_t va = Map(g0, 0, 4);
  for (int i = 0; i < 4; i++) Fill(g0, va + i * kPg, i);
  vmspace* g1 = Fork(g0);
  Fill(g1, va + kPg, 11);
  vmspace* g2 = Fork(g1);
  Fill(g2, va + 2 * kPg, 22);
  Fill(g0, va + 3 * kPg, 33);
  Fill(g1, va + 3 * kPg, 13);

  const int want[3][4] = {{0, 1, 2, 33}, {0, 11, 2, 13}, {0, 11, 22, 3}};
  vmspace* gens[3] = {g0, g1, g2};
  for (int g = 0; g < 3; g++)
    for (int i = 0; i < 4; i++)
      EXPECT_TRUE(Holds(gens[g], va + i * kPg, want[g][i]))
          << "generation " << g << " page " << i;
  // Page 0 was never written: one anon for all three.
  EXPECT_EQ(AnonAt(g0, va), AnonAt(g1, va));
  EXPECT_EQ(AnonAt(g1, va), AnonAt(g2, va));
  EXPECT_EQ(AnonAt(g0, va)->an_ref, 3);
  EXPECT_EQ(mmu::MappingCount(AnonAt(g0, va)->an_page), 3u);
  EXPECT_TRUE(AllAmapsConsistent());

  // The middle generation exits first, then the oldest.
  Exit(g1);
  for (int i = 0; i < 4; i++) {
    EXPECT_TRUE(Holds(g0, va + i * kPg, want[0][i]));
    EXPECT_TRUE(Holds(g2, va + i * kPg, want[2][i]));
  }
  EXPECT_EQ(AnonAt(g0, va)->an_ref, 2);
  Exit(g0);
  for (int i = 0; i < 4; i++) EXPECT_TRUE(Holds(g2, va + i * kPg, want[2][i]));
  EXPECT_EQ(Anons(), 4);
  for (int i = 0; i < 4; i++) EXPECT_EQ(AnonAt(g2, va + i * kPg)->an_ref, 1);
  EXPECT_TRUE(AllAmapsConsistent());
}

TEST_F(ForkTest, ParentExit_ChildKeepsItsCowPagesAndOwnsThemAfter) {
  vmspace* p = NewSpace();
  const vaddr_t va = Map(p, 0, 3);
  for (int i = 0; i < 3; i++) Fill(p, va + i * kPg, i);
  vmspace* c = Fork(p);
  EXPECT_TRUE(Holds(c, va, 0));  // the child copied the amap (an_ref 2)
  ASSERT_EQ(AnonAt(c, va)->an_ref, 2);
  vm_anon* a0 = AnonAt(c, va);

  Exit(p);
  EXPECT_EQ(Anons(), 3);  // nothing freed: the child holds them all
  EXPECT_EQ(a0->an_ref, 1);
  for (int i = 0; i < 3; i++) EXPECT_TRUE(Holds(c, va + i * kPg, i));
  // The anons are the child's alone now: writes need no copy.
  const int cowfaults = uvmexp.cowfaults;
  const long pages = PagesInUse();
  for (int i = 0; i < 3; i++) Fill(c, va + i * kPg, 10 + i);
  EXPECT_EQ(uvmexp.cowfaults, cowfaults);
  EXPECT_EQ(PagesInUse(), pages);
  EXPECT_EQ(AnonAt(c, va), a0);
  for (int i = 0; i < 3; i++) EXPECT_TRUE(Holds(c, va + i * kPg, 10 + i));
}

TEST_F(ForkTest, ParentExit_BeforeTheChildFaultsHandsTheAmapOver) {
  vmspace* p = NewSpace();
  const vaddr_t va = Map(p, 0, 2);
  Fill(p, va, 1);
  vm_amap* amap = AmapAt(p, va);
  vmspace* c = Fork(p);
  Exit(p);
  EXPECT_EQ(amap->am_ref, 1);
  // The child's needs-copy is resolved by taking the amap over.
  Fill(c, va, 2);
  EXPECT_EQ(AmapAt(c, va), amap);
  EXPECT_EQ(uvmexp.cowfaults, 0);
  EXPECT_TRUE(Holds(c, va, 2));
}

TEST_F(ForkTest, ChildExit_ParentKeepsEverything) {
  vmspace* p = NewSpace();
  const vaddr_t va = Map(p, 0, 3);
  for (int i = 0; i < 3; i++) Fill(p, va + i * kPg, i);
  vmspace* c = Fork(p);
  Fill(c, va, 9);
  EXPECT_EQ(Anons(), 4);
  Exit(c);
  EXPECT_EQ(Anons(), 3);
  for (int i = 0; i < 3; i++) EXPECT_TRUE(Holds(p, va + i * kPg, i));
  Fill(p, va + kPg, 5);
  EXPECT_TRUE(Holds(p, va + kPg, 5));
  EXPECT_EQ(Anons(), 3);
}

TEST_F(ForkTest, ManyChildren_AllIsolated) {
  vmspace* p = NewSpace();
  const vaddr_t va = Map(p, 0, 2);
  Fill(p, va, 0);
  std::vector<vmspace*> kids;
  for (int k = 0; k < 6; k++) kids.push_back(Fork(p));
  for (int k = 0; k < 6; k++) Fill(kids[k], va, 100 + k);
  EXPECT_TRUE(Holds(p, va, 0));
  for (int k = 0; k < 6; k++) EXPECT_TRUE(Holds(kids[k], va, 100 + k));
  for (int k = 0; k < 6; k += 2) Exit(kids[k]);
  for (int k = 1; k < 6; k += 2) EXPECT_TRUE(Holds(kids[k], va, 100 + k));
  EXPECT_TRUE(Holds(p, va, 0));
  EXPECT_TRUE(AllAmapsConsistent());
}

// The randomized test of fork against a reference model is the general
// one now: test/verify_test.cc (docs/verification.md).

}  // namespace
}  // namespace uvmemu::testing
