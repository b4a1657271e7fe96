// Address spaces and map operations (lib/uvm_map.cc): uvmspace_alloc /
// uvmspace_free, uvm_map_anon with its placement and entry merging,
// uvm_unmap, uvm_map_protect, uvm_map_inherit, uvm_map_pageable and
// uvm_map_checkprot, driven at the kernel level and observed through the
// software MMU.

#include <string>
#include <vector>

#include "emu/mmu.h"
#include "gtest/gtest.h"
#include "test/vm_fixture.h"
#include "uvm/uvm.h"
#include "uvmemu/inject.h"

namespace uvmemu::testing {
namespace {

class VmMapOpsTest : public VmTest {};

constexpr vm_prot_t kRW = VM_PROT_READ | VM_PROT_WRITE;

// ---------------------------------------------------------------------------
// Address spaces

TEST_F(VmMapOpsTest, Uvmspace_AllocGivesEmptyMapWithOwnedPmap) {
  vmspace* a = NewSpace();
  vmspace* b = NewSpace();
  EXPECT_EQ(a->vm_refcnt, 1);
  EXPECT_EQ(a->vm_map.nentries, 0);
  EXPECT_EQ(a->vm_map.size, 0u);
  EXPECT_EQ(a->vm_map.min_offset, kMin);
  EXPECT_EQ(a->vm_map.max_offset, kMax);
  ASSERT_NE(a->vm_map.pmap, nullptr);
  EXPECT_NE(a->vm_map.pmap, b->vm_map.pmap);
  EXPECT_EQ(pmap_owner(a->vm_map.pmap), a);
  EXPECT_EQ(pmap_owner_id(a->vm_map.pmap), a->vm_id);
  EXPECT_EQ(a->vm_id, 1);  // numbering starts afresh at each boot
  EXPECT_EQ(b->vm_id, 2);
}

TEST_F(VmMapOpsTest, Uvmspace_FreeDropsReferencesThenEverything) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 4);
  Stamp(vm, va, 4, "x");
  EXPECT_EQ(Anons(), 4);
  vm->vm_refcnt++;  // a second reference: the first free only drops it
  uvmspace_free(vm);
  EXPECT_EQ(vm->vm_refcnt, 1);
  EXPECT_EQ(Anons(), 4);
  Exit(vm);
  EXPECT_EQ(Anons(), 0);
  EXPECT_EQ(PagesInUse(), 0);
  EXPECT_EQ(amap_list_count(), 0);
  EXPECT_EQ(mmu::GetStats().pmaps, 0u);
}

TEST_F(VmMapOpsTest, MapCreate_HasNoPmap) {
  vm_map* map = uvm_map_create(0, 0x100000);
  EXPECT_EQ(map->pmap, nullptr);
  // Mapping works on it; faulting cannot (nowhere to enter a page).
  vaddr_t va = 0;
  ASSERT_EQ(
      uvm_map_anon(map, &va, 2 * kPg, kRW, VM_PROT_ALL, MAP_INHERIT_COPY, 0),
      0);
  EXPECT_EQ(uvm_fault(map, va, VM_PROT_WRITE), EFAULT);
  EXPECT_EQ(uvm_unmap(map, va, va + 2 * kPg), 0);
  uvm_map_destroy(map);
}

// ---------------------------------------------------------------------------
// uvm_map_anon: arguments and placement

TEST_F(VmMapOpsTest, MapAnon_FirstFitFromTheBottom) {
  vmspace* vm = NewSpace();
  EXPECT_EQ(Map(vm, 0, 2, UVM_FLAG_NOMERGE), kMin);
  EXPECT_EQ(Map(vm, 0, 3, UVM_FLAG_NOMERGE), kMin + 2 * kPg);
  // A hole left by an unmap is found again by first fit.
  ASSERT_EQ(uvm_unmap(&vm->vm_map, kMin, kMin + 2 * kPg), 0);
  EXPECT_EQ(Map(vm, 0, 1, UVM_FLAG_NOMERGE), kMin);
  // Too big for the hole: goes after the last entry.
  EXPECT_EQ(Map(vm, 0, 2, UVM_FLAG_NOMERGE), kMin + 5 * kPg);
  // A hint is honoured when the space there is free.
  vaddr_t va = kMin + 100 * kPg;
  ASSERT_EQ(uvm_map_anon(&vm->vm_map, &va, kPg, kRW, VM_PROT_ALL,
                         MAP_INHERIT_COPY, UVM_FLAG_NOMERGE),
            0);
  EXPECT_EQ(va, kMin + 100 * kPg);
  EXPECT_EQ(vm->vm_map.nentries, 4);
  EXPECT_EQ(vm->vm_map.size, 7 * kPg);
}

TEST_F(VmMapOpsTest, MapAnon_NewEntryIsCopyOnWriteNeedsCopyWithoutAmap) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 4);
  std::vector<EntryInfo> e = Entries(vm);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].start, va);
  EXPECT_EQ(e[0].end, va + 4 * kPg);
  EXPECT_EQ(e[0].amap, nullptr);
  EXPECT_EQ(e[0].etype, UVM_ET_COPYONWRITE | UVM_ET_NEEDSCOPY);
  EXPECT_EQ(e[0].prot, kRW);
  EXPECT_EQ(e[0].maxprot, VM_PROT_ALL);
  EXPECT_EQ(e[0].inherit, MAP_INHERIT_COPY);
  EXPECT_EQ(e[0].wired, 0);
  EXPECT_EQ(amap_list_count(), 0);
}

TEST_F(VmMapOpsTest, MapAnon_RejectsBadArguments) {
  vmspace* vm = NewSpace();
  vm_map* map = &vm->vm_map;
  vaddr_t va = 0;
  EXPECT_EQ(uvm_map_anon(map, &va, 0, kRW, VM_PROT_ALL, MAP_INHERIT_COPY, 0),
            EINVAL);
  EXPECT_EQ(uvm_map_anon(map, &va, 100, kRW, VM_PROT_ALL, MAP_INHERIT_COPY, 0),
            EINVAL);
  va = kMin + 1;
  EXPECT_EQ(uvm_map_anon(map, &va, kPg, kRW, VM_PROT_ALL, MAP_INHERIT_COPY,
                         UVM_FLAG_FIXED),
            EINVAL);
  va = ~vaddr_t{0} & ~vaddr_t{PAGE_MASK};  // wraps around
  EXPECT_EQ(uvm_map_anon(map, &va, 2 * kPg, kRW, VM_PROT_ALL, MAP_INHERIT_COPY,
                         UVM_FLAG_FIXED),
            EINVAL);
  va = 0;
  EXPECT_EQ(uvm_map_anon(map, &va, kPg, kRW, VM_PROT_READ, MAP_INHERIT_COPY, 0),
            EACCES);
  EXPECT_EQ(
      uvm_map_anon(map, &va, kPg, kRW, VM_PROT_ALL, MAP_INHERIT_DONATE_COPY, 0),
      EINVAL);
  EXPECT_EQ(map->nentries, 0);
}

TEST_F(VmMapOpsTest, MapAnon_FixedFailsWithEnomemWhenOccupiedOrOutside) {
  vmspace* vm = NewSpace();
  vm_map* map = &vm->vm_map;
  Map(vm, kMin + 4 * kPg, 4);
  // Overlapping the existing entry from either side, or inside it.
  for (vaddr_t at : {kMin + 2 * kPg, kMin + 5 * kPg, kMin + 7 * kPg}) {
    vaddr_t va = at;
    EXPECT_EQ(uvm_map_anon(map, &va, 3 * kPg, kRW, VM_PROT_ALL,
                           MAP_INHERIT_COPY, UVM_FLAG_FIXED),
              ENOMEM)
        << std::hex << at;
  }
  // Below or beyond the map.
  vaddr_t va = kMin - kPg;
  EXPECT_EQ(uvm_map_anon(map, &va, kPg, kRW, VM_PROT_ALL, MAP_INHERIT_COPY,
                         UVM_FLAG_FIXED),
            ENOMEM);
  va = kMax - kPg;
  EXPECT_EQ(uvm_map_anon(map, &va, 2 * kPg, kRW, VM_PROT_ALL, MAP_INHERIT_COPY,
                         UVM_FLAG_FIXED),
            ENOMEM);
  // Right at the end of the map is fine.
  va = kMax - kPg;
  EXPECT_EQ(uvm_map_anon(map, &va, kPg, kRW, VM_PROT_ALL, MAP_INHERIT_COPY,
                         UVM_FLAG_FIXED),
            0);
  EXPECT_EQ(map->nentries, 2);
}

TEST_F(VmMapOpsTest, MapAnon_NoSpaceIsEnomem) {
  vmspace* vm = NewSpace();
  vaddr_t va = 0;
  EXPECT_EQ(uvm_map_anon(&vm->vm_map, &va, kMax, kRW, VM_PROT_ALL,
                         MAP_INHERIT_COPY, 0),
            ENOMEM);
}

TEST_F(VmMapOpsTest, MapAnon_NowaitEntryAllocationFailureIsEnomem) {
  vmspace* vm = NewSpace();
  Map(vm, kMin, 1, UVM_FLAG_NOMERGE);
  FailurePlan plan;
  plan.fail_site = "uvm_mapent_alloc";
  ScopedFailurePlan scoped(plan);
  vaddr_t va = kMin + 4 * kPg;
  EXPECT_EQ(uvm_map_anon(&vm->vm_map, &va, kPg, kRW, VM_PROT_ALL,
                         MAP_INHERIT_COPY, UVM_FLAG_FIXED | UVM_FLAG_NOWAIT),
            ENOMEM);
  EXPECT_EQ(vm->vm_map.nentries, 1);
}

// ---------------------------------------------------------------------------
// uvm_map_anon: merging with the neighbours

TEST_F(VmMapOpsTest, Merge_EntriesWithoutAmapsJustGrow) {
  vmspace* vm = NewSpace();
  Map(vm, kMin, 2);
  Map(vm, kMin + 2 * kPg, 2);  // back merge into the previous
  Map(vm, kMin + 6 * kPg, 2);  // separate
  Map(vm, kMin + 4 * kPg, 2);  // fills the gap: both sides
  std::vector<EntryInfo> e = Entries(vm);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].start, kMin);
  EXPECT_EQ(e[0].end, kMin + 8 * kPg);
  EXPECT_EQ(e[0].amap, nullptr);
  EXPECT_EQ(e[0].etype, UVM_ET_COPYONWRITE | UVM_ET_NEEDSCOPY);
  EXPECT_EQ(vm->vm_map.size, 8 * kPg);
  EXPECT_EQ(vm->vm_map.nentries, 1);
}

TEST_F(VmMapOpsTest, Merge_ForwardExtendsThePreviousAmap) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, kMin, 4);
  Stamp(vm, va, 4, "old");
  vm_amap* amap = AmapAt(vm, va);
  ASSERT_NE(amap, nullptr);
  EXPECT_EQ(amap->am_nslot, 4);

  Map(vm, va + 4 * kPg, 4);
  std::vector<EntryInfo> e = Entries(vm);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].end, va + 8 * kPg);
  EXPECT_EQ(e[0].amap, amap);  // extended, not replaced
  EXPECT_EQ(e[0].pageoff, 0);
  EXPECT_EQ(amap->am_nslot, 8);
  EXPECT_EQ(amap->am_nused, 4);
  EXPECT_EQ(e[0].etype, UVM_ET_COPYONWRITE);  // the amap holder's state
  EXPECT_TRUE(AllAmapsConsistent());

  // Old data intact, new pages zero-filled into the same amap.
  for (int i = 0; i < 4; i++)
    EXPECT_EQ(Peek(vm, va + i * kPg, Tag("old", i)), Tag("old", i));
  EXPECT_EQ(ReadStr(vm, va + 6 * kPg, 4), std::string(4, '\0'));
  ASSERT_EQ(Write(vm, va + 7 * kPg, "new"), 0);
  EXPECT_EQ(amap->am_nused, 6);
  EXPECT_NE(AnonAt(vm, va + 7 * kPg), nullptr);
}

TEST_F(VmMapOpsTest, Merge_BackwardExtendsTheNextAmap) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, kMin + 4 * kPg, 4);
  Stamp(vm, va, 4, "hi");
  vm_amap* amap = AmapAt(vm, va);
  ASSERT_NE(amap, nullptr);

  Map(vm, kMin, 4);  // ends where the amap'd entry starts
  std::vector<EntryInfo> e = Entries(vm);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].start, kMin);
  EXPECT_EQ(e[0].end, kMin + 8 * kPg);
  EXPECT_EQ(e[0].amap, amap);
  EXPECT_GE(amap->am_nslot, 8);
  EXPECT_EQ(amap->am_nslot - e[0].pageoff, 8);  // mapped to its end
  EXPECT_EQ(amap->am_nused, 4);
  EXPECT_TRUE(AllAmapsConsistent());
  for (int i = 0; i < 4; i++) {
    EXPECT_EQ(Peek(vm, va + i * kPg, Tag("hi", i)), Tag("hi", i));
  }
  ASSERT_EQ(Write(vm, kMin, "front"), 0);
  EXPECT_EQ(Peek(vm, kMin, "front"), "front");
  EXPECT_EQ(amap->am_nused, 5);
  EXPECT_EQ(vm->vm_map.size, 8 * kPg);
}

TEST_F(VmMapOpsTest, Merge_AmapNewNone_DoubleForwardExtend) {
  vmspace* vm = NewSpace();
  Map(vm, kMin, 2);
  Stamp(vm, kMin, 2, "p");
  Map(vm, kMin + 4 * kPg, 2);  // no amap yet
  ASSERT_EQ(vm->vm_map.nentries, 2);
  vm_amap* amap = AmapAt(vm, kMin);
  Map(vm, kMin + 2 * kPg, 2);  // the gap
  std::vector<EntryInfo> e = Entries(vm);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].end, kMin + 6 * kPg);
  EXPECT_EQ(e[0].amap, amap);
  EXPECT_EQ(amap->am_nslot, 6);
  EXPECT_EQ(e[0].etype, UVM_ET_COPYONWRITE);
  ASSERT_EQ(Write(vm, kMin + 5 * kPg, "last"), 0);
  EXPECT_EQ(AmapAt(vm, kMin + 5 * kPg), amap);
  EXPECT_EQ(Peek(vm, kMin + kPg, Tag("p", 1)), Tag("p", 1));
  EXPECT_TRUE(AllAmapsConsistent());
}

TEST_F(VmMapOpsTest, Merge_NoneNewAmap_DoubleBackwardExtend) {
  vmspace* vm = NewSpace();
  Map(vm, kMin, 2);  // no amap
  Map(vm, kMin + 4 * kPg, 2);
  Stamp(vm, kMin + 4 * kPg, 2, "n");
  vm_amap* amap = AmapAt(vm, kMin + 4 * kPg);
  Map(vm, kMin + 2 * kPg, 2);
  std::vector<EntryInfo> e = Entries(vm);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].start, kMin);
  EXPECT_EQ(e[0].end, kMin + 6 * kPg);
  EXPECT_EQ(e[0].amap, amap);
  EXPECT_EQ(amap->am_nslot - e[0].pageoff, 6);
  // The entry took over the amap holder's state: no needs-copy (the
  // holder's pages may be mapped writable).
  EXPECT_EQ(e[0].etype, UVM_ET_COPYONWRITE);
  EXPECT_EQ(Peek(vm, kMin + 5 * kPg, Tag("n", 1)), Tag("n", 1));
  ASSERT_EQ(Write(vm, kMin, "first"), 0);
  EXPECT_EQ(AmapAt(vm, kMin), amap);
  EXPECT_EQ(amap->am_nused, 3);
  EXPECT_TRUE(AllAmapsConsistent());
}

TEST_F(VmMapOpsTest, Merge_AmapNewAmap_OnlyTheBackMerge) {
  vmspace* vm = NewSpace();
  Map(vm, kMin, 2);
  Stamp(vm, kMin, 2, "a");
  Map(vm, kMin + 4 * kPg, 2);
  Stamp(vm, kMin + 4 * kPg, 2, "b");
  vm_amap* a = AmapAt(vm, kMin);
  vm_amap* b = AmapAt(vm, kMin + 4 * kPg);
  Map(vm, kMin + 2 * kPg, 2);
  // Two amaps cannot be merged: the gap joins the first only.
  std::vector<EntryInfo> e = Entries(vm);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].end, kMin + 4 * kPg);
  EXPECT_EQ(e[0].amap, a);
  EXPECT_EQ(a->am_nslot, 4);
  EXPECT_EQ(e[1].amap, b);
  EXPECT_EQ(b->am_nslot, 2);
  EXPECT_TRUE(AllAmapsConsistent());
}

TEST_F(VmMapOpsTest, Merge_RefusedForDifferentAttributesOrNomerge) {
  vmspace* vm = NewSpace();
  Map(vm, kMin, 2);
  Map(vm, kMin + 2 * kPg, 2, 0, VM_PROT_READ);  // other protection
  Map(vm, kMin + 4 * kPg, 2, 0, VM_PROT_READ, MAP_INHERIT_NONE);
  Map(vm, kMin + 6 * kPg, 2, UVM_FLAG_NOMERGE, VM_PROT_READ, MAP_INHERIT_NONE);
  Map(vm, kMin + 8 * kPg, 2, 0, VM_PROT_READ, MAP_INHERIT_NONE);
  EXPECT_EQ(vm->vm_map.nentries, 5);
}

TEST_F(VmMapOpsTest, Merge_RefusedWhenTheNeighboursAmapIsShared) {
  vmspace* vm = NewSpace();
  Map(vm, kMin, 2);
  Stamp(vm, kMin, 2, "s");
  vmspace* child = Fork(vm);  // the amap now has two references
  vm_amap* amap = AmapAt(vm, kMin);
  EXPECT_EQ(amap->am_ref, 2);
  Map(vm, kMin + 2 * kPg, 2);
  EXPECT_EQ(vm->vm_map.nentries, 2);
  EXPECT_EQ(amap->am_nslot, 2);
  EXPECT_EQ(Peek(child, kMin + kPg, Tag("s", 1)), Tag("s", 1));
}

TEST_F(VmMapOpsTest, Merge_ExtendTooLargeFallsBackToANewEntry) {
  vmspace* vm = NewSpace();
  Map(vm, kMin, 4);
  ASSERT_EQ(Write(vm, kMin, "x"), 0);
  // amap_extend refuses to grow an amap to UVM_AMAP_LARGE slots (E2BIG).
  Map(vm, kMin + 4 * kPg, UVM_AMAP_LARGE);
  std::vector<EntryInfo> e = Entries(vm);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].end, kMin + 4 * kPg);
  EXPECT_EQ(e[0].amap->am_nslot, 4);
  EXPECT_EQ(e[1].amap, nullptr);
}

TEST_F(VmMapOpsTest, Merge_NowaitExtendFailureFallsBackToANewEntry) {
  vmspace* vm = NewSpace();
  Map(vm, kMin, 4);
  ASSERT_EQ(Write(vm, kMin, "x"), 0);
  FailurePlan plan;
  plan.fail_site = "amap_extend";
  ScopedFailurePlan scoped(plan);
  vaddr_t va = kMin + 4 * kPg;
  // Growing past the amap's allocation (case 3) needs memory.
  ASSERT_EQ(uvm_map_anon(&vm->vm_map, &va, 64 * kPg, kRW, VM_PROT_ALL,
                         MAP_INHERIT_COPY, UVM_FLAG_FIXED | UVM_FLAG_NOWAIT),
            0);
  EXPECT_GT(scoped.failures_injected(), 0u);
  EXPECT_EQ(vm->vm_map.nentries, 2);
  EXPECT_EQ(AmapAt(vm, kMin)->am_nslot, 4);
  EXPECT_TRUE(AllAmapsConsistent());
}

// An amap whose per-page reference counts could not be allocated
// (PPREF_NONE) keeps the anons of a part that was unmapped.  Extending it
// over that part would map them again (amap_extend of 1.87 does not clear
// them): such an amap is never extended, and the new mapping reads zeros.
class VmMapOpsPprefNoneTest : public VmMapOpsTest {
 protected:
  // Maps 8 written pages and unmaps [first, first + 4) with ppref
  // establishment failing; returns the mapping's address.
  vaddr_t UnmapHalfWithoutPpref(vmspace* vm, int first) {
    const vaddr_t va = Map(vm, kMin, 8);
    Stamp(vm, va, 8, "old");
    FailurePlan plan;
    plan.fail_site = "amap_pp_establish";
    ScopedFailurePlan scoped(plan);
    EXPECT_EQ(uvm_unmap(&vm->vm_map, va + first * kPg, va + (first + 4) * kPg),
              0);
    EXPECT_GT(scoped.failures_injected(), 0u);
    return va;
  }
};

TEST_F(VmMapOpsPprefNoneTest, Merge_ForwardIsRefused) {
  vmspace* vm = NewSpace();
  const vaddr_t va = UnmapHalfWithoutPpref(vm, 4);
  vm_amap* amap = AmapAt(vm, va);
  ASSERT_EQ(amap->am_ppref, PPREF_NONE);
  EXPECT_EQ(amap->am_nused, 8);  // the unmapped half's anons are kept
  Map(vm, va + 4 * kPg, 4);
  EXPECT_EQ(vm->vm_map.nentries, 2);
  EXPECT_EQ(ReadStr(vm, va + 5 * kPg, 5), std::string(5, '\0'));
  EXPECT_NE(AmapAt(vm, va + 5 * kPg), amap);
  EXPECT_EQ(Peek(vm, va + 3 * kPg, Tag("old", 3)), Tag("old", 3));
}

TEST_F(VmMapOpsPprefNoneTest, Merge_BackwardIsRefused) {
  vmspace* vm = NewSpace();
  const vaddr_t va = UnmapHalfWithoutPpref(vm, 0);
  ASSERT_EQ(AmapAt(vm, va + 4 * kPg)->am_ppref, PPREF_NONE);
  Map(vm, va, 4);
  EXPECT_EQ(vm->vm_map.nentries, 2);
  EXPECT_EQ(ReadStr(vm, va + kPg, 5), std::string(5, '\0'));
  EXPECT_EQ(Peek(vm, va + 4 * kPg, Tag("old", 4)), Tag("old", 4));
}

TEST_F(VmMapOpsPprefNoneTest, TryMerge_IsRefused) {
  vmspace* vm = NewSpace();
  const vaddr_t va = UnmapHalfWithoutPpref(vm, 0);
  vm_amap* amap = AmapAt(vm, va + 4 * kPg);
  // Kept apart at map time by its protection, alike after mprotect: the
  // first fault would merge it into the neighbour's amap.
  Map(vm, va, 4, 0, VM_PROT_READ);
  ASSERT_EQ(uvm_map_protect(&vm->vm_map, va, va + 4 * kPg, kRW, false), 0);
  ASSERT_EQ(vm->vm_map.nentries, 2);
  EXPECT_EQ(ReadStr(vm, va + 2 * kPg, 5), std::string(5, '\0'));
  EXPECT_EQ(vm->vm_map.nentries, 2);
  EXPECT_NE(AmapAt(vm, va), amap);
}

TEST_F(VmMapOpsTest, SharedAnon_HasItsAmapAtOnceAndNeverMerges) {
  vmspace* vm = NewSpace();
  const vaddr_t a = Map(vm, kMin, 2, UVM_FLAG_SHAREDANON, kRW,
                        MAP_INHERIT_COPY);  // inheritance is overridden
  const vaddr_t b = Map(vm, kMin + 2 * kPg, 2, UVM_FLAG_SHAREDANON);
  Map(vm, kMin + 4 * kPg, 2);
  std::vector<EntryInfo> e = Entries(vm);
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].start, a);
  EXPECT_EQ(e[1].start, b);
  for (int i = 0; i < 2; i++) {
    EXPECT_NE(e[i].amap, nullptr);
    EXPECT_EQ(e[i].amap->am_ref, 1);
    EXPECT_EQ(e[i].amap->am_nslot, 2);
    EXPECT_EQ(e[i].etype, 0);  // neither copy-on-write nor needs-copy
    EXPECT_EQ(e[i].inherit, MAP_INHERIT_SHARE);
  }
  EXPECT_NE(e[0].amap, e[1].amap);
}

// ---------------------------------------------------------------------------
// uvm_mapent_trymerge (amap_copy's UVM_MERGE_COPYING)

TEST_F(VmMapOpsTest, TryMerge_FirstFaultMergesIntoTheNeighboursAmap) {
  vmspace* vm = NewSpace();
  Map(vm, kMin, 2);
  Stamp(vm, kMin, 2, "a");
  vm_amap* amap = AmapAt(vm, kMin);
  // Different protection keeps the new entry apart...
  Map(vm, kMin + 2 * kPg, 2, 0, VM_PROT_READ);
  ASSERT_EQ(vm->vm_map.nentries, 2);
  // ... until mprotect makes the two alike.  They stay two entries (the
  // kernel merges only when mapping or copying), until the first fault
  // on the one without an amap: amap_copy merges it into the neighbour.
  ASSERT_EQ(
      uvm_map_protect(&vm->vm_map, kMin + 2 * kPg, kMin + 4 * kPg, kRW, false),
      0);
  ASSERT_EQ(vm->vm_map.nentries, 2);
  ASSERT_EQ(Write(vm, kMin + 3 * kPg, "b"), 0);
  std::vector<EntryInfo> e = Entries(vm);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].amap, amap);
  EXPECT_EQ(amap->am_nslot, 4);
  EXPECT_EQ(e[0].etype, UVM_ET_COPYONWRITE);
  EXPECT_EQ(Peek(vm, kMin + kPg, Tag("a", 1)), Tag("a", 1));
  EXPECT_EQ(Peek(vm, kMin + 3 * kPg, "b"), "b");
  EXPECT_TRUE(AllAmapsConsistent());
}

TEST_F(VmMapOpsTest, TryMerge_ChunksOfALargeEntryMergeAsTheyAreTouched) {
  vmspace* vm = NewSpace();
  const int pages = 2 * UVM_AMAP_LARGE;
  const vaddr_t va = Map(vm, kMin, pages);
  // The first fault chunks the entry: an amap of UVM_AMAP_CHUNK slots.
  ASSERT_EQ(Write(vm, va + kPg, "c0"), 0);
  std::vector<EntryInfo> e = Entries(vm);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].end, va + UVM_AMAP_CHUNK * kPg);
  ASSERT_NE(e[0].amap, nullptr);
  EXPECT_EQ(e[0].amap->am_nslot, UVM_AMAP_CHUNK);
  EXPECT_EQ(e[1].amap, nullptr);
  // The next chunk merges into the first one's amap.
  ASSERT_EQ(Write(vm, va + (UVM_AMAP_CHUNK + 1) * kPg, "c1"), 0);
  e = Entries(vm);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].end, va + 2 * UVM_AMAP_CHUNK * kPg);
  EXPECT_EQ(e[0].amap->am_nslot, 2 * UVM_AMAP_CHUNK);
  // A chunk far away gets an amap of its own (no neighbour has one).
  ASSERT_EQ(Write(vm, va + 100 * kPg, "far"), 0);
  e = Entries(vm);
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[2].start, va + 96 * kPg);
  EXPECT_EQ(e[2].end, va + 112 * kPg);
  EXPECT_NE(e[2].amap, e[0].amap);
  EXPECT_EQ(Peek(vm, va + kPg, "c0"), "c0");
  EXPECT_EQ(Peek(vm, va + (UVM_AMAP_CHUNK + 1) * kPg, "c1"), "c1");
  EXPECT_EQ(Peek(vm, va + 100 * kPg, "far"), "far");
  EXPECT_EQ(vm->vm_map.size, pages * kPg);
  EXPECT_TRUE(AllAmapsConsistent());
}

// ---------------------------------------------------------------------------
// uvm_unmap

TEST_F(VmMapOpsTest, Unmap_WholeEntryFreesAnonsPagesAndMappings) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 6);
  Stamp(vm, va, 6, "u");
  EXPECT_EQ(Anons(), 6);
  EXPECT_EQ(mmu::GetStats().mappings, 6u);
  ASSERT_EQ(uvm_unmap(&vm->vm_map, va, va + 6 * kPg), 0);
  EXPECT_EQ(vm->vm_map.nentries, 0);
  EXPECT_EQ(vm->vm_map.size, 0u);
  EXPECT_EQ(Anons(), 0);
  EXPECT_EQ(PagesInUse(), 0);
  EXPECT_EQ(amap_list_count(), 0);
  EXPECT_EQ(mmu::GetStats().mappings, 0u);
  std::string s;
  EXPECT_EQ(Read(vm, va, 1, &s), EFAULT);
}

TEST_F(VmMapOpsTest, Unmap_MiddleClipsAndFreesExactlyThosePages) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 8);
  Stamp(vm, va, 8, "m");
  vm_amap* amap = AmapAt(vm, va);
  ASSERT_EQ(uvm_unmap(&vm->vm_map, va + 2 * kPg, va + 5 * kPg), 0);
  std::vector<EntryInfo> e = Entries(vm);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].end, va + 2 * kPg);
  EXPECT_EQ(e[1].start, va + 5 * kPg);
  EXPECT_EQ(e[0].amap, amap);
  EXPECT_EQ(e[1].amap, amap);
  EXPECT_EQ(e[1].pageoff, 5);
  EXPECT_EQ(amap->am_ref, 2);  // the clip split the reference
  EXPECT_EQ(Anons(), 5);
  EXPECT_EQ(amap->am_nused, 5);
  EXPECT_EQ(PagesInUse(), 5);
  EXPECT_TRUE(AllAmapsConsistent());
  std::string s;
  for (int i = 2; i < 5; i++) EXPECT_EQ(Read(vm, va + i * kPg, 1, &s), EFAULT);
  for (int i : {0, 1, 5, 6, 7})
    EXPECT_EQ(Peek(vm, va + i * kPg, Tag("m", i)), Tag("m", i));
  // Unmapping across a hole skips it.
  ASSERT_EQ(uvm_unmap(&vm->vm_map, va, va + 8 * kPg), 0);
  EXPECT_EQ(Anons(), 0);
  EXPECT_EQ(amap_list_count(), 0);
}

TEST_F(VmMapOpsTest, Unmap_RejectsMisalignedRanges) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 2);
  EXPECT_EQ(uvm_unmap(&vm->vm_map, va + 1, va + kPg), EINVAL);
  EXPECT_EQ(uvm_unmap(&vm->vm_map, va + kPg, va), EINVAL);
  EXPECT_EQ(uvm_unmap(&vm->vm_map, va, va), 0);  // empty: nothing to do
  EXPECT_EQ(vm->vm_map.nentries, 1);
}

// ---------------------------------------------------------------------------
// uvm_map_protect / uvm_map_checkprot

TEST_F(VmMapOpsTest, Protect_ReadOnlyRefusesWritesThenAllowsThemAgain) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 4);
  Stamp(vm, va, 4, "p");
  ASSERT_EQ(
      uvm_map_protect(&vm->vm_map, va + kPg, va + 3 * kPg, VM_PROT_READ, false),
      0);
  EXPECT_EQ(vm->vm_map.nentries, 3);  // clipped at both ends
  EXPECT_EQ(mmu::HostProtection(vm->vm_map.pmap, va + kPg) & VM_PROT_WRITE, 0);
  EXPECT_EQ(Write(vm, va + kPg, "no"), EFAULT);
  EXPECT_EQ(uvm_fault(&vm->vm_map, va + 2 * kPg, VM_PROT_WRITE), EACCES);
  EXPECT_EQ(Peek(vm, va + kPg, Tag("p", 1)), Tag("p", 1));
  EXPECT_EQ(Write(vm, va, "ok"), 0);
  EXPECT_EQ(Write(vm, va + 3 * kPg, "ok"), 0);
  EXPECT_FALSE(uvm_map_checkprot(&vm->vm_map, va, va + 4 * kPg, kRW));
  EXPECT_TRUE(uvm_map_checkprot(&vm->vm_map, va, va + 4 * kPg, VM_PROT_READ));

  ASSERT_EQ(uvm_map_protect(&vm->vm_map, va, va + 4 * kPg, kRW, false), 0);
  EXPECT_TRUE(uvm_map_checkprot(&vm->vm_map, va, va + 4 * kPg, kRW));
  EXPECT_EQ(Write(vm, va + kPg, "yes"), 0);
  EXPECT_EQ(Peek(vm, va + kPg, "yes"), "yes");
}

TEST_F(VmMapOpsTest, Protect_NoneRemovesAccessEntirely) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 1);
  ASSERT_EQ(Write(vm, va, "z"), 0);
  ASSERT_EQ(uvm_map_protect(&vm->vm_map, va, va + kPg, VM_PROT_NONE, false), 0);
  std::string s;
  EXPECT_EQ(Read(vm, va, 1, &s), EFAULT);
  EXPECT_EQ(mmu::MappedPage(vm->vm_map.pmap, va), nullptr);
  ASSERT_EQ(uvm_map_protect(&vm->vm_map, va, va + kPg, VM_PROT_READ, false), 0);
  EXPECT_EQ(Peek(vm, va, "z"), "z");
}

TEST_F(VmMapOpsTest, Protect_BeyondMaxIsEaccesAndChangesNothing) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 4);
  ASSERT_EQ(uvm_map_protect(&vm->vm_map, va + 2 * kPg, va + 4 * kPg,
                            VM_PROT_READ, true),
            0);  // set_max: max becomes read-only
  std::vector<EntryInfo> e = Entries(vm);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[1].maxprot, VM_PROT_READ);
  EXPECT_EQ(e[1].prot, VM_PROT_READ);
  EXPECT_EQ(uvm_map_protect(&vm->vm_map, va, va + 4 * kPg, kRW, false), EACCES);
  EXPECT_EQ(Entries(vm)[1].prot, VM_PROT_READ);
  EXPECT_EQ(Write(vm, va + 3 * kPg, "w"), EFAULT);
}

TEST_F(VmMapOpsTest, CheckProt_HolesAndUnmappedFail) {
  vmspace* vm = NewSpace();
  Map(vm, kMin, 2, UVM_FLAG_NOMERGE);
  Map(vm, kMin + 3 * kPg, 2, UVM_FLAG_NOMERGE);
  EXPECT_TRUE(uvm_map_checkprot(&vm->vm_map, kMin, kMin + 2 * kPg, kRW));
  EXPECT_FALSE(
      uvm_map_checkprot(&vm->vm_map, kMin, kMin + 4 * kPg, VM_PROT_READ));
  EXPECT_FALSE(uvm_map_checkprot(&vm->vm_map, kMin + 2 * kPg, kMin + 3 * kPg,
                                 VM_PROT_READ));
  EXPECT_FALSE(uvm_map_checkprot(&vm->vm_map, kMin, kMin + kPg,
                                 VM_PROT_EXECUTE | VM_PROT_READ));
}

// ---------------------------------------------------------------------------
// uvm_map_inherit

TEST_F(VmMapOpsTest, Inherit_ClipsAndSets) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 4);
  ASSERT_EQ(
      uvm_map_inherit(&vm->vm_map, va + kPg, va + 2 * kPg, MAP_INHERIT_SHARE),
      0);
  std::vector<EntryInfo> e = Entries(vm);
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].inherit, MAP_INHERIT_COPY);
  EXPECT_EQ(e[1].inherit, MAP_INHERIT_SHARE);
  EXPECT_EQ(e[1].start, va + kPg);
  EXPECT_EQ(e[1].end, va + 2 * kPg);
  EXPECT_EQ(e[2].inherit, MAP_INHERIT_COPY);
  EXPECT_EQ(uvm_map_inherit(&vm->vm_map, va, va + kPg, 7), EINVAL);
}

// ---------------------------------------------------------------------------
// uvm_map_pageable: wiring

TEST_F(VmMapOpsTest, Wire_FaultsEveryPageInWiredAndOffTheQueues) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 6);
  const int wired_before = uvmexp.wired;
  ASSERT_EQ(uvm_map_pageable(&vm->vm_map, va + kPg, va + 5 * kPg, false), 0);
  std::vector<EntryInfo> e = Entries(vm);
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[1].wired, 1);
  EXPECT_EQ(e[0].wired, 0);
  EXPECT_EQ(e[1].etype & UVM_ET_NEEDSCOPY, 0);
  EXPECT_EQ(uvmexp.wired, wired_before + 4);
  EXPECT_EQ(Anons(), 4);
  for (int i = 1; i < 5; i++) {
    vm_anon* anon = AnonAt(vm, va + i * kPg);
    ASSERT_NE(anon, nullptr);
    ASSERT_NE(anon->an_page, nullptr);
    EXPECT_EQ(anon->an_page->wire_count, 1);
    EXPECT_EQ(anon->an_page->pqflags & (PQ_ACTIVE | PQ_INACTIVE), 0);
    EXPECT_EQ(mmu::MappedPage(vm->vm_map.pmap, va + i * kPg), anon->an_page);
  }
  // Wired memory is usable without further page allocation.
  const int free_before = uvmexp.free;
  ASSERT_EQ(Write(vm, va + 2 * kPg, "wired"), 0);
  EXPECT_EQ(uvmexp.free, free_before);

  // Unwiring puts the pages back on the paging queues.
  ASSERT_EQ(uvm_map_pageable(&vm->vm_map, va + kPg, va + 5 * kPg, true), 0);
  EXPECT_EQ(uvmexp.wired, wired_before);
  for (int i = 1; i < 5; i++) {
    vm_anon* anon = AnonAt(vm, va + i * kPg);
    EXPECT_EQ(anon->an_page->wire_count, 0);
    EXPECT_NE(anon->an_page->pqflags & PQ_ACTIVE, 0);
  }
  EXPECT_EQ(Entries(vm)[1].wired, 0);
  EXPECT_EQ(Peek(vm, va + 2 * kPg, "wired"), "wired");
}

TEST_F(VmMapOpsTest, Wire_TwiceCountsTwiceUnwireOnce) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 2);
  ASSERT_EQ(uvm_map_pageable(&vm->vm_map, va, va + 2 * kPg, false), 0);
  ASSERT_EQ(uvm_map_pageable(&vm->vm_map, va, va + 2 * kPg, false), 0);
  EXPECT_EQ(Entries(vm)[0].wired, 2);
  EXPECT_EQ(AnonAt(vm, va)->an_page->wire_count, 1);  // faulted in once
  // POSIX: a single munlock unlocks, whatever the number of mlocks.
  ASSERT_EQ(uvm_map_pageable(&vm->vm_map, va, va + 2 * kPg, true), 0);
  EXPECT_EQ(Entries(vm)[0].wired, 0);
  EXPECT_EQ(AnonAt(vm, va)->an_page->wire_count, 0);
  EXPECT_EQ(uvmexp.wired, 0);
}

TEST_F(VmMapOpsTest, Wire_HolesAndUnwiredRangesAreRefused) {
  vmspace* vm = NewSpace();
  Map(vm, kMin, 2, UVM_FLAG_NOMERGE);
  Map(vm, kMin + 3 * kPg, 2, UVM_FLAG_NOMERGE);
  vm_map* map = &vm->vm_map;
  EXPECT_EQ(uvm_map_pageable(map, kMin, kMin + 5 * kPg, false), EINVAL);
  EXPECT_EQ(uvm_map_pageable(map, kMin + 2 * kPg, kMin + 3 * kPg, false),
            EFAULT);
  EXPECT_EQ(uvm_map_pageable(map, kMin, kMin + kPg, true), EINVAL);
  for (const EntryInfo& e : Entries(vm)) EXPECT_EQ(e.wired, 0);
  EXPECT_EQ(uvmexp.wired, 0);
  // An entry with no access cannot be wired.
  ASSERT_EQ(uvm_map_protect(map, kMin, kMin + 2 * kPg, VM_PROT_NONE, false), 0);
  EXPECT_EQ(uvm_map_pageable(map, kMin, kMin + 2 * kPg, false), EINVAL);
  EXPECT_EQ(uvm_map_pageable(map, kMin + kPg, kMin, false), EINVAL);
}

TEST_F(VmMapOpsTest, Wire_UnmapOfAWiredRangeUnwiresFirst) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 4);
  ASSERT_EQ(uvm_map_pageable(&vm->vm_map, va, va + 4 * kPg, false), 0);
  EXPECT_EQ(uvmexp.wired, 4);
  ASSERT_EQ(uvm_unmap(&vm->vm_map, va + kPg, va + 3 * kPg), 0);
  EXPECT_EQ(uvmexp.wired, 2);
  EXPECT_EQ(Anons(), 2);
  Exit(vm);  // the rest, still wired, goes with the address space
  EXPECT_EQ(uvmexp.wired, 0);
}

TEST_F(VmMapOpsTest, Wire_ReadOnlyEntryWithWritableMaxGetsPrivatePages) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 2);
  Stamp(vm, va, 2, "ro");
  vmspace* child = Fork(vm);  // the child's anons are shared (COW)
  ASSERT_EQ(
      uvm_map_protect(&child->vm_map, va, va + 2 * kPg, VM_PROT_READ, false),
      0);
  EXPECT_EQ(Peek(child, va, Tag("ro", 0)), Tag("ro", 0));
  EXPECT_EQ(AnonAt(child, va)->an_ref, 2);
  // Wiring checks against the maximum protection: copy-on-write is
  // broken at once so that the wired pages are the child's own.
  ASSERT_EQ(uvm_map_pageable(&child->vm_map, va, va + 2 * kPg, false), 0);
  vm_anon* anon = AnonAt(child, va);
  EXPECT_EQ(anon->an_ref, 1);
  EXPECT_NE(anon, AnonAt(vm, va));
  EXPECT_EQ(AnonAt(vm, va)->an_ref, 1);
  EXPECT_EQ(mmu::HostProtection(child->vm_map.pmap, va) & VM_PROT_WRITE, 0);
  EXPECT_EQ(Peek(child, va + kPg, Tag("ro", 1)), Tag("ro", 1));
}

}  // namespace
}  // namespace uvmemu::testing
