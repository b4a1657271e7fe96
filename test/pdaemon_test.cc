// The page daemon (lib/uvm_pdaemon.cc): page-out under memory pressure,
// page-in on fault, second chance, clean pages, full swap, wired pages,
// copy-on-write sharing and the counters.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "test/page_pattern.h"
#include "test/vm_fixture.h"

namespace uvmemu::testing {
namespace {

constexpr int kMemPages = 64;

class PdaemonTest : public VmTest {
 protected:
  explicit PdaemonTest(KernelConfig config = {.physical_pages = kMemPages,
                                              .swap_slots = 1024})
      : VmTest(config) {}

  static void Fill(vmspace* vm, vaddr_t va, int seed) {
    ASSERT_EQ(Write(vm, va, PagePattern(seed)), 0) << std::hex << va;
  }
  static ::testing::AssertionResult Holds(vmspace* vm, vaddr_t va, int seed) {
    std::string s;
    if (Read(vm, va, PAGE_SIZE, &s) != 0)
      return ::testing::AssertionFailure()
             << "read fault at " << std::hex << va;
    if (s != PagePattern(seed))
      return ::testing::AssertionFailure()
             << "page at " << std::hex << va << " differs from pattern "
             << std::dec << seed;
    return ::testing::AssertionSuccess();
  }
  static int PageOutAnon(vm_anon* anon) {
    mutex_enter(&anon->an_lock);
    const int error = uvm_pageout_anon(anon);
    mutex_exit(&anon->an_lock);
    return error;
  }
  // Puts every queued page on the inactive queue, unreferenced, as the
  // page daemon's refill does.
  static void DeactivateAll() {
    mutex_enter(&uvm_pageqlock);
    while (vm_page* pg = uvm_pageq_first(PQ_ACTIVE)) {
      pmap_clear_reference(pg);
      uvm_pagedeactivate(pg);
    }
    for (vm_page* pg = uvm_pageq_first(PQ_INACTIVE); pg != nullptr;
         pg = uvm_pageq_next(pg))
      pmap_clear_reference(pg);
    mutex_exit(&uvm_pageqlock);
  }
  // Swap accounting: every slot in use belongs to an anon (paged out, or
  // kept by a clean page), and swpgonly counts the anons without a page.
  static void ExpectSwapAccounting(const std::vector<vmspace*>& spaces) {
    std::map<vm_anon*, bool> anons;
    for (vmspace* vm : spaces) {
      for (vm_map_entry* e = uvm_map_first(&vm->vm_map); e != nullptr;
           e = uvm_map_next(&vm->vm_map, e)) {
        vm_amap* amap = e->aref.ar_amap;
        if (amap == nullptr) continue;
        for (int i = 0; i < amap->am_nused; i++)
          anons[amap->am_anon[amap->am_slots[i]]] = true;
      }
    }
    int slots = 0, only = 0;
    for (const auto& [anon, unused] : anons) {
      if (anon->an_swslot != 0) slots++;
      if (anon->an_swslot != 0 && anon->an_page == nullptr) only++;
      EXPECT_TRUE(anon->an_page != nullptr || anon->an_swslot != 0);
    }
    EXPECT_EQ(uvm_swap_inuse(), slots);
    EXPECT_EQ(uvmexp.swpgonly, only);
  }
};

TEST_F(PdaemonTest, Tune_DefaultTargetsFromMemorySize) {
  EXPECT_EQ(uvmexp.freemin, 4);  // 64 / 20 = 3, raised to 16 KiB
  EXPECT_EQ(uvmexp.freetarg, 5);
  EXPECT_FALSE(uvm_pageout_needed());
  EXPECT_EQ(uvmexp.swpgavail, 1024);
}

TEST_F(PdaemonTest, Run_NothingQueued_FreesNothing) {
  EXPECT_EQ(uvm_pageout_run(10), 0);
  EXPECT_EQ(uvmexp.pdwoke, 1);
  EXPECT_EQ(uvmexp.pdfreed, 0);
}

// The daemon refills the inactive queue from the oldest active pages and
// writes them out; a fault reads them back.
TEST_F(PdaemonTest, Run_PagesOutOldestAndFaultPagesBackIn) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 10);
  for (int i = 0; i < 10; i++) Fill(vm, va + i * kPg, i);
  const int free = uvmexp.free;

  EXPECT_EQ(uvm_pageout_run(4), 4);
  EXPECT_EQ(uvmexp.free, free + 4);
  EXPECT_EQ(uvmexp.pdfreed, 4);
  EXPECT_EQ(uvmexp.pdpageouts, 4);
  EXPECT_EQ(uvmexp.pgswapout, 4);
  EXPECT_EQ(uvmexp.swpginuse, 4);
  EXPECT_EQ(uvmexp.swpgonly, 4);
  EXPECT_GE(uvmexp.pddeact, 4);
  for (int i = 0; i < 10; i++) {
    vm_anon* anon = AnonAt(vm, va + i * kPg);
    // the first pages faulted in are the oldest on the active queue
    EXPECT_EQ(anon->an_page == nullptr, i < 4) << i;
    EXPECT_EQ(anon->an_swslot != 0, i < 4) << i;
    if (i < 4) {
      EXPECT_EQ(mmu::MappedPage(vm->vm_map.pmap, va + i * kPg), nullptr);
    }
  }
  for (int i = 0; i < 10; i++) EXPECT_TRUE(Holds(vm, va + i * kPg, i));
  EXPECT_EQ(uvmexp.pgswapin, 4);
  EXPECT_EQ(uvmexp.swpgonly, 0);
  EXPECT_EQ(uvmexp.swpginuse, 4);  // clean pages keep their slots
  ExpectSwapAccounting({vm});
}

TEST_F(PdaemonTest, Scan_ReferencedInactivePagesGetASecondChance) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 8);
  for (int i = 0; i < 8; i++) Fill(vm, va + i * kPg, i);
  DeactivateAll();
  ASSERT_EQ(uvmexp.inactive, 8);
  for (int i = 0; i < 4; i++) EXPECT_TRUE(Holds(vm, va + i * kPg, i));

  EXPECT_EQ(uvm_pageout_run(4), 4);
  EXPECT_EQ(uvmexp.pdreact, 4);
  for (int i = 0; i < 8; i++) {
    vm_anon* anon = AnonAt(vm, va + i * kPg);
    EXPECT_EQ(anon->an_page == nullptr, i >= 4) << i;
    if (i < 4) {
      EXPECT_NE(anon->an_page->pqflags & PQ_ACTIVE, 0) << i;
    }
  }
  for (int i = 0; i < 8; i++) EXPECT_TRUE(Holds(vm, va + i * kPg, i));
}

// NetBSD keeps the slot of a page read back from swap: while the page is
// clean it is freed without a write; once modified, the stale slot is
// dropped and the page written to a new one.
TEST_F(PdaemonTest, PageOut_CleanPageIsFreedWithoutWriteDirtyOneRewritten) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 1);
  Fill(vm, va, 1);
  vm_anon* anon = AnonAt(vm, va);
  ASSERT_EQ(PageOutAnon(anon), 0);
  const int slot = anon->an_swslot;
  ASSERT_NE(slot, 0);
  EXPECT_TRUE(Holds(vm, va, 1));  // read: paged in, clean
  ASSERT_NE(anon->an_page, nullptr);
  EXPECT_NE(anon->an_page->flags & PG_CLEAN, 0);
  EXPECT_EQ(anon->an_swslot, slot);

  const int outs = uvmexp.pgswapout;
  ASSERT_EQ(PageOutAnon(anon), 0);
  EXPECT_EQ(uvmexp.pgswapout, outs);  // nothing written
  EXPECT_EQ(anon->an_swslot, slot);
  EXPECT_EQ(uvmexp.swpgonly, 1);
  EXPECT_TRUE(Holds(vm, va, 1));

  Fill(vm, va, 2);  // modified: the slot's copy is stale
  ASSERT_EQ(PageOutAnon(anon), 0);
  EXPECT_EQ(uvmexp.pgswapout, outs + 1);
  EXPECT_EQ(uvm_swap_inuse(), 1);
  EXPECT_TRUE(Holds(vm, va, 2));
  ExpectSwapAccounting({vm});
}

TEST_F(PdaemonTest, PageOutAnon_NoPageOrWired_Refused) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 2);
  Fill(vm, va, 1);
  Fill(vm, va + kPg, 2);
  ASSERT_EQ(uvm_map_pageable(&vm->vm_map, va + kPg, va + 2 * kPg, false), 0);
  vm_anon* anon = AnonAt(vm, va);
  ASSERT_EQ(PageOutAnon(anon), 0);
  EXPECT_EQ(PageOutAnon(anon), ENOENT);
  EXPECT_EQ(PageOutAnon(AnonAt(vm, va + kPg)), EBUSY);
  EXPECT_TRUE(Holds(vm, va, 1));
  EXPECT_TRUE(Holds(vm, va + kPg, 2));
}

// A page shared copy-on-write by a parent and its child is one anon with
// two references: it is paged out once, unmapped from both, and read
// back once for both.
TEST_F(PdaemonTest, PageOut_CowSharedAnon_OneSlotForBothProcesses) {
  vmspace* parent = NewSpace();
  const vaddr_t va = Map(parent, 0, 2);
  Fill(parent, va, 1);
  Fill(parent, va + kPg, 2);
  vmspace* child = Fork(parent);
  EXPECT_TRUE(Holds(child, va, 1));  // maps the shared page in the child
  vm_anon* anon = AnonAt(parent, va);
  ASSERT_EQ(AnonAt(child, va), anon);
  ASSERT_EQ(anon->an_ref, 2);

  ASSERT_EQ(PageOutAnon(anon), 0);
  EXPECT_EQ(uvm_swap_inuse(), 1);
  EXPECT_EQ(mmu::MappedPage(parent->vm_map.pmap, va), nullptr);
  EXPECT_EQ(mmu::MappedPage(child->vm_map.pmap, va), nullptr);

  EXPECT_TRUE(Holds(child, va, 1));
  EXPECT_EQ(uvmexp.pgswapin, 1);
  EXPECT_TRUE(Holds(parent, va, 1));
  EXPECT_EQ(uvmexp.pgswapin, 1);  // the parent found the page resident
  EXPECT_EQ(anon->an_ref, 2);

  // a write still copies: the child gets its own anon
  ASSERT_EQ(PageOutAnon(anon), 0);
  Fill(child, va, 3);
  EXPECT_NE(AnonAt(child, va), anon);
  EXPECT_EQ(anon->an_ref, 1);
  EXPECT_TRUE(Holds(parent, va, 1));
  EXPECT_TRUE(Holds(child, va, 3));
  EXPECT_TRUE(Holds(child, va + kPg, 2));
  ExpectSwapAccounting({parent, child});
  EXPECT_TRUE(AllAmapsConsistent());
}

TEST_F(PdaemonTest, Pressure_WiredPagesAreNeverPagedOut) {
  vmspace* vm = NewSpace();
  const vaddr_t wired = Map(vm, 0, 16);
  for (int i = 0; i < 16; i++) Fill(vm, wired + i * kPg, 100 + i);
  ASSERT_EQ(uvm_map_pageable(&vm->vm_map, wired, wired + 16 * kPg, false), 0);
  const vaddr_t va = Map(vm, 0, 3 * kMemPages);
  for (int i = 0; i < 3 * kMemPages; i++) Fill(vm, va + i * kPg, i);
  EXPECT_GT(uvmexp.pdpageouts, 2 * kMemPages);
  const int free = uvmexp.free;
  EXPECT_EQ(uvm_pageout_run(kMemPages), kMemPages - 16 - free);
  EXPECT_EQ(uvmexp.free, kMemPages - 16);
  for (int i = 0; i < 16; i++) {
    vm_anon* anon = AnonAt(vm, wired + i * kPg);
    ASSERT_NE(anon->an_page, nullptr) << i;
    EXPECT_GT(anon->an_page->wire_count, 0);
    EXPECT_EQ(anon->an_swslot, 0);
  }
  for (int i = 0; i < 16; i++) EXPECT_TRUE(Holds(vm, wired + i * kPg, 100 + i));
  for (int i = 0; i < 3 * kMemPages; i++)
    EXPECT_TRUE(Holds(vm, va + i * kPg, i));
  ExpectSwapAccounting({vm});
}

// Several processes, fork, copy-on-write and a shared amap, with three
// times more data than memory: uvm_wait pages out inline whenever a
// fault finds memory short, and every byte comes back.
TEST_F(PdaemonTest, Pressure_ForkCowAndSharedAmaps_EveryByteComesBack) {
  constexpr int kPrivate = 48, kShared = 24;
  vmspace* a = NewSpace();
  const vaddr_t priv = Map(a, 0, kPrivate);
  const vaddr_t shared = Map(a, 0, kShared, UVM_FLAG_SHAREDANON,
                             VM_PROT_READ | VM_PROT_WRITE, MAP_INHERIT_SHARE);
  for (int i = 0; i < kPrivate; i++) Fill(a, priv + i * kPg, i);
  for (int i = 0; i < kShared; i++) Fill(a, shared + i * kPg, 1000 + i);
  vmspace* b = Fork(a);
  vmspace* c = Fork(b);
  // b writes the even private pages, c the pages divisible by 3; all
  // three write the shared pages in turn.
  for (int i = 0; i < kPrivate; i += 2) Fill(b, priv + i * kPg, 2000 + i);
  for (int i = 0; i < kPrivate; i += 3) Fill(c, priv + i * kPg, 3000 + i);
  for (int i = 0; i < kShared; i++)
    Fill(i % 3 == 0 ? a : i % 3 == 1 ? b : c, shared + i * kPg, 4000 + i);
  EXPECT_GT(uvmexp.pdwoke, 0);
  EXPECT_GT(uvmexp.pdpageouts, 0);

  auto expect_all = [&] {
    for (int i = 0; i < kPrivate; i++) {
      EXPECT_TRUE(Holds(a, priv + i * kPg, i));
      EXPECT_TRUE(Holds(b, priv + i * kPg, i % 2 == 0 ? 2000 + i : i));
      EXPECT_TRUE(Holds(c, priv + i * kPg, i % 3 == 0 ? 3000 + i : i));
    }
    for (int i = 0; i < kShared; i++)
      for (vmspace* vm : {a, b, c})
        EXPECT_TRUE(Holds(vm, shared + i * kPg, 4000 + i));
  };
  expect_all();
  EXPECT_GT(uvmexp.pgswapin, 0);
  ExpectSwapAccounting({a, b, c});
  EXPECT_TRUE(AllAmapsConsistent());
  Exit(b);
  for (int i = 0; i < kPrivate; i++) {
    EXPECT_TRUE(Holds(a, priv + i * kPg, i));
    EXPECT_TRUE(Holds(c, priv + i * kPg, i % 3 == 0 ? 3000 + i : i));
  }
  ExpectSwapAccounting({a, c});
}

// Fork copies the wired pages of the parent at once (amap_cow_now); with
// memory short it waits (uvm_wait, which pages out) and restarts, and
// may find a copy it made already paged out.
TEST_F(PdaemonTest, Pressure_ForkOfWiredMemory_CowNowWaitsAndRestarts) {
  vmspace* p = NewSpace();
  const vaddr_t wired = Map(p, 0, 20);
  for (int i = 0; i < 20; i++) Fill(p, wired + i * kPg, i);
  ASSERT_EQ(uvm_map_pageable(&p->vm_map, wired, wired + 20 * kPg, false), 0);
  const vaddr_t other = Map(p, 0, kMemPages - 20);
  for (int i = 0; i < kMemPages - 20; i++) Fill(p, other + i * kPg, 500 + i);
  ASSERT_LT(uvmexp.free, 20);
  const int woke = uvmexp.pdwoke;

  vmspace* child = Fork(p);
  EXPECT_GT(uvmexp.pdwoke, woke);
  for (int i = 0; i < 20; i++) {
    vm_anon* pa = AnonAt(p, wired + i * kPg);
    vm_anon* ca = AnonAt(child, wired + i * kPg);
    EXPECT_NE(pa, ca) << i;  // copied at fork
    EXPECT_EQ(pa->an_ref, 1);
  }
  for (int i = 0; i < 20; i++) {
    EXPECT_TRUE(Holds(p, wired + i * kPg, i));
    EXPECT_TRUE(Holds(child, wired + i * kPg, i));
  }
  for (int i = 0; i < kMemPages - 20; i++) {
    EXPECT_TRUE(Holds(p, other + i * kPg, 500 + i));
    EXPECT_TRUE(Holds(child, other + i * kPg, 500 + i));
  }
  EXPECT_TRUE(AllAmapsConsistent());
}

// When the wired pages leave the copies as the only pageable pages, the
// page-out run by amap_cow_now's uvm_wait pages out copies it has made
// already; the restarted loop finds them with one reference and no page
// ("the new page might even have been paged out") and moves on.
TEST_F(PdaemonTest, Pressure_ForkOfWiredMemory_CopiesPagedOutBeforeRestart) {
  constexpr int kWired = 40;
  vmspace* p = NewSpace();
  const vaddr_t wired = Map(p, 0, kWired);
  for (int i = 0; i < kWired; i++) Fill(p, wired + i * kPg, i);
  ASSERT_EQ(uvm_map_pageable(&p->vm_map, wired, wired + kWired * kPg, false),
            0);
  ASSERT_EQ(uvmexp.active + uvmexp.inactive, 0);
  ASSERT_LT(uvmexp.free, kWired);

  vmspace* child = Fork(p);
  int paged_out = 0;
  for (int i = 0; i < kWired; i++) {
    vm_anon* ca = AnonAt(child, wired + i * kPg);
    ASSERT_NE(ca, AnonAt(p, wired + i * kPg));
    EXPECT_EQ(ca->an_ref, 1);
    if (ca->an_page == nullptr) {
      EXPECT_NE(ca->an_swslot, 0);
      paged_out++;
    }
  }
  EXPECT_GT(paged_out, 0);
  for (int i = 0; i < kWired; i++) {
    EXPECT_TRUE(Holds(p, wired + i * kPg, i));
    EXPECT_TRUE(Holds(child, wired + i * kPg, i));
  }
  EXPECT_EQ(uvmexp.wired, kWired);
  EXPECT_TRUE(AllAmapsConsistent());
}

// With swap full, the daemon skips dirty pages (reactivating them) and
// a fault that finds no memory fails with ENOMEM; nothing is lost.
class PdaemonSmallSwapTest : public PdaemonTest {
 protected:
  PdaemonSmallSwapTest()
      : PdaemonTest({.physical_pages = kMemPages, .swap_slots = 8}) {}
};

TEST_F(PdaemonSmallSwapTest, SwapFull_PageOutSkipsAndFaultFailsWithEnomem) {
  vmspace* vm = NewSpace();
  const int pages = kMemPages + 20;
  const vaddr_t va = Map(vm, 0, pages);
  int ok = 0;
  for (; ok < pages; ok++) {
    if (Write(vm, va + ok * kPg, PagePattern(ok)) != 0) break;
  }
  EXPECT_EQ(ok, kMemPages + 8);  // memory plus swap
  EXPECT_EQ(uvmexp.swpgonly, 8);
  EXPECT_TRUE(uvm_swapisfull());
  EXPECT_FALSE(uvm_reclaimable());
  EXPECT_EQ(uvm_fault(&vm->vm_map, va + ok * kPg, VM_PROT_WRITE), ENOMEM);

  const int outs = uvmexp.pgswapout;
  const int freed = uvmexp.pdfreed;
  EXPECT_EQ(uvm_pageout_run(10), 0);
  EXPECT_EQ(uvmexp.pgswapout, outs);
  EXPECT_EQ(uvmexp.pdfreed, freed);
  // reading a paged-out page needs memory that cannot be had
  std::string s;
  EXPECT_EQ(Read(vm, va, 1, &s), EFAULT);

  // free the last pages written (resident): everything else comes back
  ASSERT_EQ(uvm_unmap(&vm->vm_map, va + (ok - 16) * kPg, va + ok * kPg), 0);
  for (int i = 0; i < ok - 16; i++) EXPECT_TRUE(Holds(vm, va + i * kPg, i));
  ExpectSwapAccounting({vm});
}

// With every slot held by a resident clean page, swap is not full but no
// slot is free: the daemon takes slots back from active pages.
TEST_F(PdaemonSmallSwapTest, SlotsHeldByResidentPages_AreTakenBack) {
  vmspace* vm = NewSpace();
  const vaddr_t va = Map(vm, 0, 16);
  for (int i = 0; i < 16; i++) Fill(vm, va + i * kPg, i);
  for (int i = 0; i < 8; i++)
    ASSERT_EQ(PageOutAnon(AnonAt(vm, va + i * kPg)), 0);
  for (int i = 0; i < 8; i++) EXPECT_TRUE(Holds(vm, va + i * kPg, i));
  ASSERT_EQ(uvm_swap_inuse(), 8);
  ASSERT_EQ(uvmexp.swpgonly, 0);
  // dirty them all: no clean page can be freed for nothing
  for (int i = 0; i < 8; i++) Fill(vm, va + i * kPg, 50 + i);

  // four slots are taken back from resident pages (which become dirty
  // and slotless) and reused for the four pages paged out
  EXPECT_EQ(uvm_pageout_run(4), 4);
  EXPECT_EQ(uvm_swap_inuse(), 8);
  EXPECT_EQ(uvmexp.swpgonly, 4);
  for (int i = 0; i < 16; i++)
    EXPECT_TRUE(Holds(vm, va + i * kPg, i < 8 ? 50 + i : i));
  ExpectSwapAccounting({vm});
}

}  // namespace
}  // namespace uvmemu::testing
