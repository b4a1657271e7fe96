// The software MMU (emu/pmap*.cc, emu/mmu*.cc): mappings on real host
// page protection, the SIGSEGV handler, referenced/modified emulation,
// pv lists and CopyIn/CopyOut.  These drive the pmap directly, with a
// test fault hook standing in for UVM.
#include "emu/mmu.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <map>
#include <vector>

#include "emu/pmap_log.h"
#include "uvm/uvm.h"
#include "uvmemu/kernel.h"
#include "uvmemu/panic.h"

namespace {

using uvmemu::mmu::CopyIn;
using uvmemu::mmu::CopyOut;
using uvmemu::mmu::GetStats;
using uvmemu::mmu::HostProtection;
using uvmemu::mmu::MappedPage;
using uvmemu::mmu::MappingCount;

constexpr vm_prot_t kRW = VM_PROT_READ | VM_PROT_WRITE;

// What the test fault hook saw, and what it does: refuse (EFAULT), or
// enter the page the test registered for the va with that protection.
struct HookCall {
  struct pmap* pmap;
  vaddr_t va;
  vm_prot_t access;
};
struct Backing {
  vm_page* pg;
  vm_prot_t prot;
};
struct TestHook {
  std::vector<HookCall> calls;
  std::map<std::pair<struct pmap*, vaddr_t>, Backing> backing;
};
TestHook g_hook;

int RecordingHook(struct pmap* pmap, vaddr_t va, vm_prot_t access) {
  g_hook.calls.push_back({pmap, va, access});
  auto it = g_hook.backing.find({pmap, va});
  if (it == g_hook.backing.end()) return EFAULT;
  if ((access & ~it->second.prot) != 0) return EACCES;
  return pmap_enter(pmap, va, VM_PAGE_TO_PHYS(it->second.pg), it->second.prot,
                    access);
}

class MmuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_hook = TestHook{};
    pmap_set_fault_hook(&RecordingHook);
    pmap_ = NewPmap();
  }

  void TearDown() override {
    for (struct pmap* p : pmaps_) {
      pmap_remove(p, 0, pmap_window_size());
      pmap_destroy(p);
    }
    for (vm_page* pg : pages_) {
      mutex_enter(&uvm_pageqlock);
      uvm_pagefree(pg);
      mutex_exit(&uvm_pageqlock);
    }
    pmap_set_fault_hook(nullptr);
    const absl::Status leaks = uvmemu::Kernel::CheckNoLeaks();
    EXPECT_TRUE(leaks.ok()) << leaks.message();
  }

  struct pmap* NewPmap() {
    struct pmap* p = pmap_create();
    pmaps_.push_back(p);
    return p;
  }

  // A page owned by nobody (unbusied), every byte `fill`; freed at the end.
  vm_page* NewPage(uint8_t fill) {
    vm_page* pg = uvm_pagealloc(nullptr, 0, nullptr, 0);
    EXPECT_NE(pg, nullptr);
    pg->flags &= ~(PG_BUSY | PG_FAKE);
    UVM_PAGE_OWN(pg, nullptr);
    memset(uvm_pagedata(pg), fill, PAGE_SIZE);
    pages_.push_back(pg);
    return pg;
  }

  static volatile uint8_t* At(struct pmap* p, vaddr_t va) {
    return reinterpret_cast<volatile uint8_t*>(pmap_window(p) + va);
  }
  static uint8_t* Frame(vm_page* pg) {
    return static_cast<uint8_t*>(uvm_pagedata(pg));
  }

  uvmemu::Kernel kernel_{uvmemu::KernelConfig{.physical_pages = 64}};
  struct pmap* pmap_ = nullptr;
  std::vector<struct pmap*> pmaps_;  // destroyed in TearDown
  std::vector<vm_page*> pages_;      // freed in TearDown
};

using MmuDeathTest = MmuTest;

TEST_F(MmuTest, EnterReadOnly_LoadsSeeFrameBytes) {
  vm_page* pg = NewPage(0);
  for (int i = 0; i < PAGE_SIZE; i++)
    Frame(pg)[i] = static_cast<uint8_t>(i * 13);
  const vaddr_t va = 0x10000;
  const uint64_t faults = GetStats().faults;
  ASSERT_EQ(
      pmap_enter(pmap_, va, VM_PAGE_TO_PHYS(pg), VM_PROT_READ, VM_PROT_READ),
      0);
  EXPECT_EQ(HostProtection(pmap_, va), VM_PROT_READ);
  for (int i = 0; i < PAGE_SIZE; i++) {
    ASSERT_EQ(At(pmap_, va)[i], static_cast<uint8_t>(i * 13)) << i;
  }
  // The mapping is the frame itself: a store through the direct map
  // shows through the window at once.
  Frame(pg)[100] = 0xab;
  EXPECT_EQ(At(pmap_, va)[100], 0xab);
  // Referenced at enter time: no fault was needed.
  EXPECT_EQ(GetStats().faults, faults);

  paddr_t pa = 0;
  EXPECT_TRUE(pmap_extract(pmap_, va + 5, &pa));
  EXPECT_EQ(pa, VM_PAGE_TO_PHYS(pg) + 5);
  EXPECT_FALSE(pmap_extract(pmap_, va + PAGE_SIZE, &pa));
  EXPECT_EQ(MappedPage(pmap_, va), pg);
  EXPECT_EQ(MappingCount(pg), 1u);
  EXPECT_EQ(uvmemu::Kernel::Counts().host_mappings, 1);
}

TEST_F(MmuTest, SamePageInTwoPmaps_SharesBytes) {
  struct pmap* other = NewPmap();
  ASSERT_NE(pmap_window(other), pmap_window(pmap_));
  EXPECT_EQ(pmap_window(other) - pmap_window(pmap_),
            static_cast<ptrdiff_t>(pmap_window_size()));
  vm_page* pg = NewPage(0x11);
  ASSERT_EQ(pmap_enter(pmap_, 0x3000, VM_PAGE_TO_PHYS(pg), kRW, kRW), 0);
  ASSERT_EQ(pmap_enter(other, 0x7000, VM_PAGE_TO_PHYS(pg), kRW, kRW), 0);
  EXPECT_EQ(MappingCount(pg), 2u);

  At(pmap_, 0x3000)[42] = 0x77;
  EXPECT_EQ(At(other, 0x7000)[42], 0x77);
  At(other, 0x7000)[43] = 0x88;
  EXPECT_EQ(At(pmap_, 0x3000)[43], 0x88);
  EXPECT_EQ(Frame(pg)[42], 0x77);
  EXPECT_EQ(Frame(pg)[43], 0x88);
  EXPECT_EQ(Frame(pg)[44], 0x11);
}

TEST_F(MmuTest, WriteToReadOnly_CallsFaultHookWithWriteAccess) {
  vm_page* pg = NewPage(0x22);
  const vaddr_t va = 0x5000;
  ASSERT_EQ(
      pmap_enter(pmap_, va, VM_PAGE_TO_PHYS(pg), VM_PROT_READ, VM_PROT_READ),
      0);
  g_hook.backing[{pmap_, va}] = {pg, kRW};  // "UVM" allows the upgrade

  At(pmap_, va)[7] = 0x99;

  ASSERT_EQ(g_hook.calls.size(), 1u);
  EXPECT_EQ(g_hook.calls[0].pmap, pmap_);
  EXPECT_EQ(g_hook.calls[0].va, va);
  EXPECT_EQ(g_hook.calls[0].access, VM_PROT_WRITE);
  EXPECT_EQ(Frame(pg)[7], 0x99);
  EXPECT_TRUE(pmap_is_modified(pg));
  EXPECT_EQ(HostProtection(pmap_, va), kRW);
  EXPECT_EQ(GetStats().uvm_faults, 1u);

  // A load from an unmapped page reaches the hook as a read.
  vm_page* pg2 = NewPage(0x33);
  g_hook.backing[{pmap_, 0x9000}] = {pg2, VM_PROT_READ};
  EXPECT_EQ(At(pmap_, 0x9123)[0], 0x33);
  ASSERT_EQ(g_hook.calls.size(), 2u);
  EXPECT_EQ(g_hook.calls[1].va, 0x9000u);
  EXPECT_EQ(g_hook.calls[1].access, VM_PROT_READ);
  EXPECT_EQ(HostProtection(pmap_, 0x9000), VM_PROT_READ);
}

TEST_F(MmuTest, RefusedFaultInCopyIn_ReturnsEfault) {
  char buf[64] = {};
  EXPECT_EQ(CopyIn(pmap_, 0x4000, buf, sizeof buf), EFAULT);
  ASSERT_EQ(g_hook.calls.size(), 1u);
  EXPECT_EQ(g_hook.calls[0].access, VM_PROT_READ);

  // A read-only page: CopyIn works, CopyOut is refused and changes nothing.
  vm_page* pg = NewPage(0x44);
  ASSERT_EQ(pmap_enter(pmap_, 0x4000, VM_PAGE_TO_PHYS(pg), VM_PROT_READ,
                       VM_PROT_READ),
            0);
  EXPECT_EQ(CopyIn(pmap_, 0x4010, buf, sizeof buf), 0);
  EXPECT_EQ(buf[0], 0x44);
  memset(buf, 0x55, sizeof buf);
  EXPECT_EQ(CopyOut(pmap_, buf, 0x4010, sizeof buf), EFAULT);
  ASSERT_EQ(g_hook.calls.size(), 2u);
  EXPECT_EQ(g_hook.calls[1].access, VM_PROT_WRITE);
  EXPECT_EQ(Frame(pg)[0x10], 0x44);

  // A copy that runs off the end of a mapping fails at the boundary.
  EXPECT_EQ(CopyIn(pmap_, 0x4000 + PAGE_SIZE - 8, buf, 16), EFAULT);

  // Out of the window: EFAULT without touching memory or asking UVM.
  const size_t calls = g_hook.calls.size();
  EXPECT_EQ(CopyIn(pmap_, pmap_window_size() - 8, buf, 16), EFAULT);
  EXPECT_EQ(CopyOut(pmap_, buf, ~vaddr_t{0} - 4, 16), EFAULT);
  EXPECT_EQ(g_hook.calls.size(), calls);

  // The handler stays installed and working after a jump out of it.
  g_hook.backing[{pmap_, 0x8000}] = {NewPage(0), kRW};
  EXPECT_EQ(CopyOut(pmap_, buf, 0x8000, sizeof buf), 0);
  EXPECT_EQ(At(pmap_, 0x8000)[3], 0x55);
}

TEST_F(MmuDeathTest, RefusedFaultThroughPointer_DiesWithEmulatedSegv) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  pmap_set_owner(pmap_, nullptr, 7);
  EXPECT_DEATH(At(pmap_, 0x5008)[0] = 1,
               "emulated segmentation violation at va 0x5008 in process 7 "
               "\\(write access\\): Bad address");
}

TEST_F(MmuDeathTest, FaultInWindowWithoutPmap_DiesWithEmulatedSegv) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // pmap_ holds window 0; window 1 has no address space.
  volatile uint8_t* p = reinterpret_cast<volatile uint8_t*>(
      pmap_window(pmap_) + pmap_window_size() + 0x1000);
  EXPECT_DEATH((void)p[0],
               "emulated segmentation violation at va 0x1000 in window 1");
}

// A broken fault hook that touches the page it is asked to fault in.
int RecursingHook(struct pmap* pmap, vaddr_t va, vm_prot_t) {
  return *reinterpret_cast<volatile uint8_t*>(pmap_window(pmap) + va);
}

TEST_F(MmuDeathTest, FaultInsideHandler_AbortsWithRecursionMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  pmap_set_fault_hook(&RecursingHook);
  EXPECT_DEATH((void)At(pmap_, 0x2000)[0],
               "fault at 0x[0-9a-f]+ while handling the fault at "
               "0x[0-9a-f]+ \\(recursive MMU fault\\)");
}

// A wild store outside the MMU's region, into a page that really is
// inaccessible.
void WildWrite() {
  void* mem =
      mmap(nullptr, PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  *static_cast<volatile int*>(mem) = 1;
}

TEST_F(MmuDeathTest, FaultOutsideRegion_StillCrashes) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
#if defined(__SANITIZE_ADDRESS__)
  // ASan's handler was there first: the fault reaches it, as without us.
  EXPECT_EXIT(WildWrite(), ::testing::ExitedWithCode(1),
              "AddressSanitizer: SEGV");
#else
  EXPECT_EXIT(WildWrite(), ::testing::KilledBySignal(SIGSEGV), "");
#endif
}

TEST_F(MmuTest, PageProtectNone_RemovesAllMappings) {
  struct pmap* other = NewPmap();
  vm_page* pg = NewPage(0x66);
  const paddr_t pa = VM_PAGE_TO_PHYS(pg);
  ASSERT_EQ(pmap_enter(pmap_, 0x1000, pa, kRW, kRW), 0);
  ASSERT_EQ(pmap_enter(pmap_, 0x6000, pa, VM_PROT_READ, VM_PROT_READ), 0);
  // Entered without an access, but the page is referenced and modified
  // already (the bits are per page), so it goes on the host read/write.
  ASSERT_EQ(pmap_enter(other, 0x1000, pa, kRW, 0), 0);
  EXPECT_EQ(HostProtection(other, 0x1000), kRW);
  EXPECT_EQ(MappingCount(pg), 3u);
  EXPECT_EQ(GetStats().host_mappings, 3u);

  uvmemu::pmap::ClearProtectLog();
  pmap_page_protect(pg, VM_PROT_NONE);

  EXPECT_EQ(MappingCount(pg), 0u);
  EXPECT_FALSE(pmap_extract(pmap_, 0x1000, nullptr));
  EXPECT_FALSE(pmap_extract(pmap_, 0x6000, nullptr));
  EXPECT_FALSE(pmap_extract(other, 0x1000, nullptr));
  EXPECT_EQ(GetStats().host_mappings, 0u);
  EXPECT_EQ(GetStats().mappings, 0u);
  const auto log = uvmemu::pmap::ProtectLog();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].first, pg);
  EXPECT_EQ(log[0].second, VM_PROT_NONE);

  // The host pages really are gone: accesses fault to UVM (refused).
  char c;
  EXPECT_EQ(CopyIn(pmap_, 0x1000, &c, 1), EFAULT);
  EXPECT_EQ(CopyIn(pmap_, 0x6000, &c, 1), EFAULT);
  EXPECT_EQ(CopyIn(other, 0x1000, &c, 1), EFAULT);
  EXPECT_EQ(g_hook.calls.size(), 3u);
}

TEST_F(MmuTest, PageProtectRead_DowngradesAll) {
  struct pmap* other = NewPmap();
  vm_page* pg = NewPage(0);
  const paddr_t pa = VM_PAGE_TO_PHYS(pg);
  ASSERT_EQ(pmap_enter(pmap_, 0x2000, pa, kRW, kRW), 0);
  ASSERT_EQ(pmap_enter(other, 0x4000, pa, kRW, kRW), 0);
  At(pmap_, 0x2000)[0] = 1;
  At(other, 0x4000)[1] = 2;
  EXPECT_EQ(HostProtection(pmap_, 0x2000), kRW);
  EXPECT_EQ(HostProtection(other, 0x4000), kRW);

  uvmemu::pmap::ClearProtectLog();
  pmap_page_protect(pg, VM_PROT_READ);

  EXPECT_EQ(HostProtection(pmap_, 0x2000), VM_PROT_READ);
  EXPECT_EQ(HostProtection(other, 0x4000), VM_PROT_READ);
  EXPECT_EQ(MappingCount(pg), 2u);
  ASSERT_EQ(uvmemu::pmap::ProtectLog().size(), 1u);
  EXPECT_EQ(uvmemu::pmap::ProtectLog()[0].second, VM_PROT_READ);

  // Loads still work without a fault; stores go to UVM as writes.
  const uint64_t faults = GetStats().faults;
  EXPECT_EQ(At(pmap_, 0x2000)[0], 1);
  EXPECT_EQ(At(other, 0x4000)[1], 2);
  EXPECT_EQ(GetStats().faults, faults);
  const char byte = 9;
  EXPECT_EQ(CopyOut(pmap_, &byte, 0x2000, 1), EFAULT);
  EXPECT_EQ(CopyOut(other, &byte, 0x4000, 1), EFAULT);
  ASSERT_EQ(g_hook.calls.size(), 2u);
  EXPECT_EQ(g_hook.calls[0].access, VM_PROT_WRITE);
  EXPECT_EQ(g_hook.calls[1].access, VM_PROT_WRITE);
  EXPECT_EQ(Frame(pg)[0], 1);

  // Write permission requested again is a no-op.
  pmap_page_protect(pg, VM_PROT_ALL);
  EXPECT_EQ(HostProtection(pmap_, 0x2000), VM_PROT_READ);
}

TEST_F(MmuTest, ModifiedBit_SetOnFirstWriteOnly) {
  vm_page* pg = NewPage(0);
  const vaddr_t va = 0x3000;
  // Entered with no access: neither referenced nor mapped on the host.
  ASSERT_EQ(pmap_enter(pmap_, va, VM_PAGE_TO_PHYS(pg), kRW, 0), 0);
  EXPECT_EQ(HostProtection(pmap_, va), VM_PROT_NONE);
  EXPECT_FALSE(pmap_is_referenced(pg));
  EXPECT_FALSE(pmap_is_modified(pg));
  const uvmemu::mmu::Stats before = GetStats();

  EXPECT_EQ(At(pmap_, va)[0], 0);  // a read: referenced, mapped read-only
  EXPECT_TRUE(pmap_is_referenced(pg));
  EXPECT_FALSE(pmap_is_modified(pg));
  EXPECT_EQ(HostProtection(pmap_, va), VM_PROT_READ);

  At(pmap_, va)[1] = 5;  // the first write: modified, read/write
  EXPECT_TRUE(pmap_is_modified(pg));
  EXPECT_EQ(HostProtection(pmap_, va), kRW);
  const uvmemu::mmu::Stats after = GetStats();
  EXPECT_EQ(after.faults - before.faults, 2u);
  EXPECT_EQ(after.refmod_faults - before.refmod_faults, 2u);
  EXPECT_EQ(after.uvm_faults, before.uvm_faults);

  At(pmap_, va)[2] = 6;  // later writes do not fault
  At(pmap_, va)[3] = 7;
  EXPECT_EQ(GetStats().faults, after.faults);
  EXPECT_EQ(Frame(pg)[1], 5);
  EXPECT_EQ(Frame(pg)[3], 7);
  EXPECT_TRUE(g_hook.calls.empty());
}

TEST_F(MmuTest, ClearModify_NextWriteFaultsAgain) {
  vm_page* pg = NewPage(0);
  const vaddr_t va = 0x3000;
  ASSERT_EQ(pmap_enter(pmap_, va, VM_PAGE_TO_PHYS(pg), kRW, kRW), 0);
  EXPECT_TRUE(pmap_is_modified(pg));
  EXPECT_EQ(HostProtection(pmap_, va), kRW);

  EXPECT_TRUE(pmap_clear_modify(pg));
  EXPECT_FALSE(pmap_is_modified(pg));
  EXPECT_FALSE(pmap_clear_modify(pg));
  EXPECT_EQ(HostProtection(pmap_, va), VM_PROT_READ);

  const uint64_t faults = GetStats().faults;
  EXPECT_EQ(At(pmap_, va)[0], 0);  // reads still need no fault
  EXPECT_EQ(GetStats().faults, faults);
  At(pmap_, va)[0] = 1;
  EXPECT_EQ(GetStats().faults, faults + 1);
  EXPECT_TRUE(pmap_is_modified(pg));
  EXPECT_EQ(HostProtection(pmap_, va), kRW);
  EXPECT_TRUE(g_hook.calls.empty());
}

TEST_F(MmuTest, Referenced_SetOnFirstAccess) {
  vm_page* pg = NewPage(0x5a);
  const vaddr_t va = 0x7000;
  ASSERT_EQ(pmap_enter(pmap_, va, VM_PAGE_TO_PHYS(pg), VM_PROT_READ, 0), 0);
  EXPECT_FALSE(pmap_is_referenced(pg));
  const uint64_t faults = GetStats().faults;

  EXPECT_EQ(At(pmap_, va)[10], 0x5a);
  EXPECT_TRUE(pmap_is_referenced(pg));
  EXPECT_EQ(GetStats().faults, faults + 1);
  EXPECT_EQ(At(pmap_, va)[11], 0x5a);
  EXPECT_EQ(GetStats().faults, faults + 1);

  // Clearing the bit takes host access away; the next access sets it.
  EXPECT_TRUE(pmap_clear_reference(pg));
  EXPECT_FALSE(pmap_is_referenced(pg));
  EXPECT_FALSE(pmap_clear_reference(pg));
  EXPECT_EQ(HostProtection(pmap_, va), VM_PROT_NONE);
  EXPECT_EQ(At(pmap_, va)[12], 0x5a);
  EXPECT_TRUE(pmap_is_referenced(pg));
  EXPECT_EQ(GetStats().faults, faults + 2);
  EXPECT_FALSE(pmap_is_modified(pg));

  // An enter for an access sets the bit at once.
  vm_page* pg2 = NewPage(0);
  ASSERT_EQ(pmap_enter(pmap_, 0x8000, VM_PAGE_TO_PHYS(pg2), VM_PROT_READ,
                       VM_PROT_READ),
            0);
  EXPECT_TRUE(pmap_is_referenced(pg2));
  EXPECT_TRUE(g_hook.calls.empty());
}

TEST_F(MmuTest, Remove_Range_UnmapsAndReservesAgain) {
  constexpr int kN = 8;
  vm_page* pg[kN];
  for (int i = 0; i < kN; i++) {
    pg[i] = NewPage(static_cast<uint8_t>(i + 1));
    ASSERT_EQ(pmap_enter(pmap_, i * PAGE_SIZE, VM_PAGE_TO_PHYS(pg[i]), kRW,
                         i % 2 == 0 ? kRW : 0),  // odd ones not on the host
              0);
  }
  EXPECT_EQ(GetStats().host_mappings, 4u);

  pmap_remove(pmap_, 2 * PAGE_SIZE, 6 * PAGE_SIZE);

  EXPECT_EQ(GetStats().mappings, 4u);
  EXPECT_EQ(GetStats().host_mappings, 2u);
  for (int i = 0; i < kN; i++) {
    const bool removed = i >= 2 && i < 6;
    const vaddr_t va = i * PAGE_SIZE;
    EXPECT_EQ(MappedPage(pmap_, va), removed ? nullptr : pg[i]) << i;
    EXPECT_EQ(MappingCount(pg[i]), removed ? 0u : 1u) << i;
    char c = 0;
    EXPECT_EQ(CopyIn(pmap_, va, &c, 1), removed ? EFAULT : 0) << i;
    if (!removed) {
      EXPECT_EQ(c, i + 1);
    }
  }
  // Only the removed pages reached UVM.
  ASSERT_EQ(g_hook.calls.size(), 4u);
  EXPECT_EQ(g_hook.calls[0].va, 2u * PAGE_SIZE);
  EXPECT_EQ(g_hook.calls[3].va, 5u * PAGE_SIZE);

  // The reservation is back: a page entered there anew works.
  ASSERT_EQ(pmap_enter(pmap_, 3 * PAGE_SIZE, VM_PAGE_TO_PHYS(pg[0]), kRW,
                       VM_PROT_READ),
            0);
  EXPECT_EQ(At(pmap_, 3 * PAGE_SIZE)[0], 1);
}

TEST_F(MmuTest, Protect_Range_WriteProtectsWithFewCalls) {
  constexpr int kN = 6;
  for (int i = 0; i < kN; i++) {
    vm_page* pg = NewPage(0);
    ASSERT_EQ(pmap_enter(pmap_, i * PAGE_SIZE, VM_PAGE_TO_PHYS(pg), kRW,
                         i == 4 ? 0 : kRW),
              0);
  }
  pmap_protect(pmap_, PAGE_SIZE, 5 * PAGE_SIZE, VM_PROT_READ);
  EXPECT_EQ(HostProtection(pmap_, 0), kRW);
  EXPECT_EQ(HostProtection(pmap_, PAGE_SIZE), VM_PROT_READ);
  EXPECT_EQ(HostProtection(pmap_, 3 * PAGE_SIZE), VM_PROT_READ);
  EXPECT_EQ(HostProtection(pmap_, 4 * PAGE_SIZE), VM_PROT_NONE);
  EXPECT_EQ(HostProtection(pmap_, 5 * PAGE_SIZE), kRW);

  // Page 4 was never on the host; a read now maps it read-only.
  EXPECT_EQ(At(pmap_, 4 * PAGE_SIZE)[0], 0);
  EXPECT_EQ(HostProtection(pmap_, 4 * PAGE_SIZE), VM_PROT_READ);
  const char byte = 1;
  EXPECT_EQ(CopyOut(pmap_, &byte, 2 * PAGE_SIZE, 1), EFAULT);
  EXPECT_EQ(CopyOut(pmap_, &byte, 4 * PAGE_SIZE, 1), EFAULT);
  EXPECT_EQ(CopyOut(pmap_, &byte, 5 * PAGE_SIZE, 1), 0);
  EXPECT_EQ(g_hook.calls.size(), 2u);

  // Protecting to none removes.
  pmap_protect(pmap_, 0, PAGE_SIZE, VM_PROT_NONE);
  EXPECT_EQ(MappedPage(pmap_, 0), nullptr);
}

TEST_F(MmuTest, Enter_ReplacesMapping) {
  vm_page* a = NewPage(0xaa);
  vm_page* b = NewPage(0xbb);
  ASSERT_EQ(pmap_enter(pmap_, 0x1000, VM_PAGE_TO_PHYS(a), kRW,
                       VM_PROT_READ | PMAP_WIRED),
            0);
  EXPECT_EQ(At(pmap_, 0x1000)[0], 0xaa);
  ASSERT_EQ(
      pmap_enter(pmap_, 0x1000, VM_PAGE_TO_PHYS(b), VM_PROT_READ, VM_PROT_READ),
      0);
  EXPECT_EQ(At(pmap_, 0x1000)[0], 0xbb);
  EXPECT_EQ(MappingCount(a), 0u);
  EXPECT_EQ(MappingCount(b), 1u);
  EXPECT_EQ(GetStats().host_mappings, 1u);
  EXPECT_EQ(GetStats().mappings, 1u);
  pmap_unwire(pmap_, 0x1000);
}

TEST_F(MmuTest, Destroy_WithMappings_Panics) {
  vm_page* pg = NewPage(0);
  ASSERT_EQ(pmap_enter(pmap_, 0x1000, VM_PAGE_TO_PHYS(pg), kRW, 0), 0);
  pmap_set_owner(pmap_, nullptr, 3);
  uvmemu::ScopedPanicThrows throws;
  try {
    pmap_destroy(pmap_);
    ADD_FAILURE() << "pmap_destroy returned";
  } catch (const uvmemu::KernelPanic& e) {
    EXPECT_NE(std::string(e.what()).find("still has 1 mappings"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(MmuTest, Create_TakesLowestFreeWindow) {
  struct pmap* b = pmap_create();
  struct pmap* c = pmap_create();
  EXPECT_EQ(pmap_window(c) - pmap_window(b),
            static_cast<ptrdiff_t>(pmap_window_size()));
  pmap_destroy(b);
  struct pmap* again = pmap_create();
  EXPECT_EQ(pmap_window(again), pmap_window(pmap_) + pmap_window_size());
  EXPECT_EQ(GetStats().pmaps, 3u);
  pmap_destroy(again);
  pmap_destroy(c);
  int cookie;
  pmap_set_owner(pmap_, &cookie, 12);
  EXPECT_EQ(pmap_owner(pmap_), &cookie);
  EXPECT_EQ(pmap_owner_id(pmap_), 12);
}

}  // namespace
