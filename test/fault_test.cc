// The anonymous-memory fault handler (lib/uvm_fault.cc): zero fill,
// refusals, out-of-memory, allocation failures, page-in from swap and
// fault wiring, reached through the software MMU (raw loads and stores
// into a window, and CopyIn/CopyOut) or by calling uvm_fault directly.

#include <cstdint>
#include <string>

#include "emu/mmu.h"
#include "gtest/gtest.h"
#include "test/vm_fixture.h"
#include "uvm/uvm.h"
#include "uvmemu/inject.h"

namespace uvmemu::testing {
namespace {

class FaultTest : public VmTest {};

TEST_F(FaultTest, ZeroFill_FirstReadGivesAZeroedPageOfItsOwn) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 4);
  const int zeropages = uvmexp.zeropages;
  std::string s;
  ASSERT_EQ(Read(vm, va + kPg, PAGE_SIZE, &s), 0);
  EXPECT_EQ(s, std::string(PAGE_SIZE, '\0'));
  EXPECT_EQ(uvmexp.zeropages, zeropages + 1);
  // The fault gave the entry its amap (it needed a copy) and the page
  // an anon in it.
  vm_map_entry* e = EntryAt(vm, va);
  ASSERT_NE(e->aref.ar_amap, nullptr);
  EXPECT_EQ(e->etype & UVM_ET_NEEDSCOPY, 0);
  EXPECT_EQ(e->aref.ar_amap->am_nused, 1);
  vm_anon* anon = AnonAt(vm, va + kPg);
  ASSERT_NE(anon, nullptr);
  EXPECT_EQ(anon->an_ref, 1);
  ASSERT_NE(anon->an_page, nullptr);
  EXPECT_EQ(anon->an_page->uanon, anon);
  EXPECT_EQ(anon->an_page->flags & (PG_BUSY | PG_FAKE), 0);
  EXPECT_NE(anon->an_page->pqflags & PQ_ACTIVE, 0);
  EXPECT_EQ(anon->an_page->owner_tag, nullptr);
  EXPECT_EQ(mmu::MappedPage(vm->vm_map.pmap, va + kPg), anon->an_page);
  // The other pages are untouched.
  EXPECT_EQ(AnonAt(vm, va), nullptr);
  EXPECT_EQ(mmu::MappedPage(vm->vm_map.pmap, va), nullptr);
  EXPECT_EQ(Anons(), 1);
  EXPECT_EQ(PagesInUse(), 1);
}

TEST_F(FaultTest, ZeroFill_WriteAfterReadNeedsNoNewPage) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 1);
  EXPECT_EQ(ReadStr(vm, va, 8), std::string(8, '\0'));
  vm_page* pg = AnonAt(vm, va)->an_page;
  ASSERT_EQ(Write(vm, va + 100, "hello"), 0);
  EXPECT_EQ(AnonAt(vm, va)->an_page, pg);
  EXPECT_EQ(Peek(vm, va + 100, "hello"), "hello");
  EXPECT_EQ(std::string(static_cast<const char*>(uvm_pagedata(pg)) + 100, 5),
            "hello");
  EXPECT_EQ(Anons(), 1);
}

TEST_F(FaultTest, RawPointers_StoresAndLoadsFaultThroughUvm) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 3);
  const uint64_t uvm_faults = mmu::GetStats().uvm_faults;
  volatile char* p = Ptr(vm, va);
  p[0] = 'a';  // write fault: zero fill, writable
  p[2 * PAGE_SIZE + 7] = 'c';
  EXPECT_EQ(p[PAGE_SIZE], 0);  // read fault: zero fill
  EXPECT_EQ(p[0], 'a');
  EXPECT_EQ(p[2 * PAGE_SIZE + 7], 'c');
  EXPECT_EQ(p[2 * PAGE_SIZE + 6], 0);
  EXPECT_GE(mmu::GetStats().uvm_faults, uvm_faults + 3);
  EXPECT_EQ(Anons(), 3);
  EXPECT_EQ(Peek(vm, va, "a"), "a");
}

TEST_F(FaultTest, Refusals_NoEntryIsEfaultProtectionIsEacces) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, kMin + 4 * kPg, 1, 0, VM_PROT_READ);
  EXPECT_EQ(uvm_fault(&vm->vm_map, kMin, VM_PROT_READ), EFAULT);
  EXPECT_EQ(uvm_fault(&vm->vm_map, kMax, VM_PROT_READ), EFAULT);
  EXPECT_EQ(uvm_fault(&vm->vm_map, va, VM_PROT_WRITE), EACCES);
  EXPECT_EQ(uvm_fault(&vm->vm_map, va, VM_PROT_READ), 0);
  std::string s;
  EXPECT_EQ(Read(vm, kMin, 1, &s), EFAULT);
  EXPECT_EQ(Write(vm, va, "w"), EFAULT);
  EXPECT_EQ(uvm_fault(kernel_map, kMin, VM_PROT_READ), EFAULT);
  EXPECT_EQ(Anons(), 1);
}

TEST_F(FaultTest, Fault_UnalignedAddressFaultsItsPage) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 2);
  ASSERT_EQ(uvm_fault(&vm->vm_map, va + kPg + 123, VM_PROT_WRITE), 0);
  EXPECT_NE(mmu::MappedPage(vm->vm_map.pmap, va + kPg), nullptr);
  EXPECT_EQ(mmu::MappedPage(vm->vm_map.pmap, va), nullptr);
}

// Without swap the page daemon has nowhere to page out to.
class FaultNoSwapTest : public VmTest {
 protected:
  FaultNoSwapTest() : VmTest({.physical_pages = 256, .swap_slots = 0}) {}
};

TEST_F(FaultNoSwapTest, OutOfMemory_FaultFailsWithEnomemAndLeaksNothing) {
  vmspace* vm = NewSpace();
  const int pages = uvmexp.npages + 8;
  const vaddr_t va = Map(vm, 0, pages);
  int ok = 0;
  for (int i = 0; i < pages; i++) {
    if (Write(vm, va + i * kPg, "m") != 0) break;
    ok++;
  }
  EXPECT_EQ(ok, uvmexp.npages);
  EXPECT_EQ(uvmexp.free, 0);
  EXPECT_EQ(uvm_fault(&vm->vm_map, va + ok * kPg, VM_PROT_WRITE), ENOMEM);
  EXPECT_EQ(Anons(), ok);  // the spare anon was given back
  // Reads of pages that have data still work.
  EXPECT_EQ(Peek(vm, va + (ok - 1) * kPg, "m"), "m");
  // Freeing memory makes the fault succeed again.
  ASSERT_EQ(uvm_unmap(&vm->vm_map, va, va + kPg), 0);
  EXPECT_EQ(Write(vm, va + ok * kPg, "again"), 0);
  EXPECT_TRUE(AllAmapsConsistent());
}

// Every allocation a fault makes (amap, anon, page; NOWAIT kmem and
// pools) made to fail in turn: the fault waits and retries, and in the
// end succeeds with nothing leaked.
TEST_F(FaultTest, FailureSweep_EachAllocationOfAFaultFailsInTurn) {
  vmspace* vm = NewSpace();
  constexpr vm_prot_t kRW = VM_PROT_READ | VM_PROT_WRITE;
  for (uint64_t n = 1;; n++) {
    SCOPED_TRACE(n);
    // An entry with an amap, and next to it one without (kept apart by
    // its protection until mprotect): the first fault on the second
    // copies its amap by merging into the first's (amap_extend), or, if
    // that fails, by allocating one.
    Map(vm, kMin, 4);
    ASSERT_EQ(Write(vm, kMin, "first"), 0);
    Map(vm, kMin + 4 * kPg, 2, 0, VM_PROT_READ);
    ASSERT_EQ(uvm_map_protect(&vm->vm_map, kMin + 4 * kPg, kMin + 6 * kPg, kRW,
                              false),
              0);
    uint64_t seen;
    {
      FailurePlan plan;
      plan.fail_nth = n;
      ScopedFailurePlan scoped(plan);
      ASSERT_EQ(Write(vm, kMin + 5 * kPg, "swept"), 0);
      ASSERT_EQ(Write(vm, kMin + 2 * kPg, "more"), 0);
      seen = scoped.points_seen();
    }
    EXPECT_EQ(Peek(vm, kMin + 5 * kPg, "swept"), "swept");
    EXPECT_EQ(Peek(vm, kMin + 2 * kPg, "more"), "more");
    EXPECT_EQ(Peek(vm, kMin, "first"), "first");
    EXPECT_TRUE(AllAmapsConsistent());
    ASSERT_EQ(uvm_unmap(&vm->vm_map, kMin, kMin + 6 * kPg), 0);
    EXPECT_EQ(Anons(), 0);
    EXPECT_EQ(amap_list_count(), 0);
    if (seen < n) break;
    ASSERT_LT(n, 100u);
  }
}

// The page daemon's part for one anon: its page goes to swap and is
// freed.
static void PageOut(vm_anon* anon) {
  mutex_enter(&anon->an_lock);
  ASSERT_NE(anon->an_page, nullptr);
  EXPECT_EQ(uvm_pageout_anon(anon), 0);
  mutex_exit(&anon->an_lock);
}

TEST_F(FaultTest, Swap_AnonWithoutPageIsPagedIn) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 2);
  Stamp(vm, va, 2, "swap");
  vm_anon* anon = AnonAt(vm, va + kPg);
  PageOut(anon);
  EXPECT_EQ(anon->an_page, nullptr);
  EXPECT_EQ(uvm_swap_inuse(), 1);
  EXPECT_EQ(uvmexp.swpgonly, 1);
  const int slot = anon->an_swslot;
  EXPECT_EQ(mmu::MappedPage(vm->vm_map.pmap, va + kPg), nullptr);
  const int fltanget = uvmexp.fltanget;
  const int pgswapin = uvmexp.pgswapin;

  EXPECT_EQ(Peek(vm, va + kPg, Tag("swap", 1)), Tag("swap", 1));
  EXPECT_EQ(AnonAt(vm, va + kPg), anon);  // same anon, new page
  ASSERT_NE(anon->an_page, nullptr);
  // As in NetBSD, the slot stays with the (clean) page until the page is
  // modified and paged out again, wired, or freed.
  EXPECT_EQ(anon->an_swslot, slot);
  EXPECT_NE(anon->an_page->flags & PG_CLEAN, 0);
  EXPECT_EQ(uvm_swap_inuse(), 1);
  EXPECT_EQ(uvmexp.swpgonly, 0);
  EXPECT_EQ(uvmexp.fltanget, fltanget + 1);
  EXPECT_EQ(uvmexp.pgswapin, pgswapin + 1);
  EXPECT_NE(anon->an_page->pqflags & PQ_ACTIVE, 0);
  ASSERT_EQ(Write(vm, va + kPg, "back"), 0);
  EXPECT_EQ(Peek(vm, va, Tag("swap", 0)), Tag("swap", 0));
  ASSERT_EQ(uvm_unmap(&vm->vm_map, va, va + 2 * kPg), 0);
  EXPECT_EQ(uvm_swap_inuse(), 0);
}

TEST_F(FaultTest, Swap_PagedOutAnonFreedByUnmapReleasesItsSlot) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 1);
  ASSERT_EQ(Write(vm, va, "gone"), 0);
  PageOut(AnonAt(vm, va));
  EXPECT_EQ(uvm_swap_inuse(), 1);
  ASSERT_EQ(uvm_unmap(&vm->vm_map, va, va + kPg), 0);
  EXPECT_EQ(uvm_swap_inuse(), 0);
  EXPECT_EQ(Anons(), 0);
}

TEST_F(FaultTest, Wire_FaultWireWiresPagesAndUnwireReleasesThem) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 3);
  ASSERT_EQ(Write(vm, va, "pre"), 0);  // one page already resident
  ASSERT_EQ(uvm_fault_wire(&vm->vm_map, va, va + 3 * kPg,
                           VM_PROT_READ | VM_PROT_WRITE),
            0);
  EXPECT_EQ(uvmexp.wired, 3);
  for (int i = 0; i < 3; i++) {
    vm_page* pg = AnonAt(vm, va + i * kPg)->an_page;
    EXPECT_EQ(pg->wire_count, 1);
    EXPECT_EQ(pg->pqflags & (PQ_ACTIVE | PQ_INACTIVE), 0);
    EXPECT_EQ(pg->flags & PG_CLEAN, 0);
  }
  EXPECT_EQ(Entries(vm)[0].wired, 0);  // a transient wiring
  uvm_fault_unwire(&vm->vm_map, va, va + 3 * kPg);
  EXPECT_EQ(uvmexp.wired, 0);
  for (int i = 0; i < 3; i++) {
    vm_page* pg = AnonAt(vm, va + i * kPg)->an_page;
    EXPECT_EQ(pg->wire_count, 0);
    EXPECT_NE(pg->pqflags & PQ_ACTIVE, 0);
  }
  EXPECT_EQ(Peek(vm, va, "pre"), "pre");
}

TEST_F(FaultTest, Wire_FaultWireChecksTheMaximumProtection) {
  vmspace* vm = NewSpace();
  vaddr_t va = 0;
  ASSERT_EQ(uvm_map_anon(&vm->vm_map, &va, kPg, VM_PROT_READ, VM_PROT_READ,
                         MAP_INHERIT_COPY, 0),
            0);
  EXPECT_EQ(uvm_fault_wire(&vm->vm_map, va, va + kPg, VM_PROT_WRITE), EACCES);
  EXPECT_EQ(uvm_fault_wire(&vm->vm_map, va, va + kPg, VM_PROT_READ), 0);
  EXPECT_EQ(uvmexp.wired, 1);
  uvm_fault_unwire(&vm->vm_map, va, va + kPg);
  EXPECT_EQ(uvmexp.wired, 0);
}

TEST_F(FaultTest, Wire_OutOfMemoryMidwayUnwiresWhatWasWired) {
  vmspace* vm = NewSpace();
  const int pages = uvmexp.npages + 4;
  const vaddr_t va = Map(vm, 0, pages);
  EXPECT_EQ(uvm_map_pageable(&vm->vm_map, va, va + pages * kPg, false), ENOMEM);
  EXPECT_EQ(uvmexp.wired, 0);
  for (const EntryInfo& e : Entries(vm)) EXPECT_EQ(e.wired, 0);
  // The pages that were faulted in stay, unwired, on the queues.
  EXPECT_EQ(Anons(), uvmexp.npages);
  EXPECT_EQ(uvmexp.active + uvmexp.inactive, uvmexp.npages);
  ASSERT_EQ(uvm_unmap(&vm->vm_map, va, va + pages * kPg), 0);
  EXPECT_EQ(PagesInUse(), 0);
}

}  // namespace
}  // namespace uvmemu::testing
