// The MMU's host mapping budget: more pages mapped than the host allows
// mappings (vm.max_map_count) still work, through eviction and refill.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <vector>

#include "emu/mmu.h"
#include "uvm/uvm.h"
#include "uvmemu/kernel.h"

namespace {

using uvmemu::mmu::GetStats;

constexpr vm_prot_t kRW = VM_PROT_READ | VM_PROT_WRITE;

// A kernel of `pages` physical pages whose MMU keeps at most `budget`
// host mappings, and one pmap.
class MmuBudgetTest : public ::testing::Test {
 protected:
  void Boot(size_t pages, size_t budget) {
    kernel_.emplace(uvmemu::KernelConfig{.physical_pages = pages,
                                         .host_mapping_budget = budget});
    pmap_set_fault_hook(nullptr);  // every access here is the pmap's own
    pmap_ = pmap_create();
  }

  // Allocates n pages and enters page i read/write at va i * stride, not
  // yet referenced (so not on the host).
  void MapPages(size_t n, vaddr_t stride) {
    pages_.reserve(n);
    for (size_t i = 0; i < n; i++) {
      vm_page* pg = uvm_pagealloc(nullptr, 0, nullptr, 0);
      ASSERT_NE(pg, nullptr);
      pg->flags &= ~(PG_BUSY | PG_FAKE);
      UVM_PAGE_OWN(pg, nullptr);
      pages_.push_back(pg);
      ASSERT_EQ(pmap_enter(pmap_, i * stride, VM_PAGE_TO_PHYS(pg), kRW, 0), 0);
    }
  }

  void TearDown() override {
    if (pmap_ != nullptr) {
      pmap_remove(pmap_, 0, pmap_window_size());
      pmap_destroy(pmap_);
    }
    mutex_enter(&uvm_pageqlock);
    for (vm_page* pg : pages_) uvm_pagefree(pg);
    mutex_exit(&uvm_pageqlock);
    const absl::Status leaks = uvmemu::Kernel::CheckNoLeaks();
    EXPECT_TRUE(leaks.ok()) << leaks.message();
  }

  volatile uint8_t* At(vaddr_t va) {
    return reinterpret_cast<volatile uint8_t*>(pmap_window(pmap_) + va);
  }

  static uint8_t Value(size_t i) { return static_cast<uint8_t>(i * 31 + 7); }
  static size_t Offset(size_t i) { return (i * 97) % PAGE_SIZE; }

  std::optional<uvmemu::Kernel> kernel_;
  struct pmap* pmap_ = nullptr;
  std::vector<vm_page*> pages_;
};

TEST_F(MmuBudgetTest, EvictsAndRefills) {
  constexpr size_t kBudget = 64;
  constexpr size_t kPages = 1000;
  Boot(kPages + 16, kBudget);
  MapPages(kPages, 2 * PAGE_SIZE);  // every other page: no two adjacent

  for (size_t i = 0; i < kPages; i++) {
    At(i * 2 * PAGE_SIZE + Offset(i))[0] = Value(i);
  }
  for (size_t i = 0; i < kPages; i++) {
    ASSERT_EQ(At(i * 2 * PAGE_SIZE + Offset(i))[0], Value(i)) << i;
    ASSERT_EQ(static_cast<uint8_t*>(uvm_pagedata(pages_[i]))[Offset(i)],
              Value(i))
        << i;
  }

  const uvmemu::mmu::Stats s = GetStats();
  EXPECT_GT(s.evictions, 0u);
  EXPECT_GT(s.refills, 0u);
  EXPECT_LE(s.peak_host_mappings, kBudget);
  EXPECT_LE(s.host_mappings, kBudget);
  EXPECT_EQ(s.mappings, kPages);
  EXPECT_EQ(s.uvm_faults, 0u);
  // Every page was written before it was read back: no page is clean.
  for (vm_page* pg : pages_) EXPECT_TRUE(pmap_is_modified(pg));
}

TEST_F(MmuBudgetTest, EnterBeyondBudget_Evicts) {
  constexpr size_t kBudget = 16;
  Boot(128, kBudget);
  for (size_t i = 0; i < 100; i++) {
    vm_page* pg = uvm_pagealloc(nullptr, 0, nullptr, UVM_PGA_ZERO);
    ASSERT_NE(pg, nullptr);
    pg->flags &= ~(PG_BUSY | PG_FAKE);
    UVM_PAGE_OWN(pg, nullptr);
    pages_.push_back(pg);
    // Entered for a write: mapped read/write on the host at once.
    ASSERT_EQ(pmap_enter(pmap_, i * PAGE_SIZE, VM_PAGE_TO_PHYS(pg), kRW, kRW),
              0);
    EXPECT_LE(GetStats().host_mappings, kBudget);
  }
  EXPECT_EQ(GetStats().peak_host_mappings, kBudget);
  // Evicted pages come back with their modified bit: read/write at once.
  const uint64_t faults = GetStats().faults;
  At(0)[0] = 1;
  EXPECT_EQ(GetStats().faults, faults + 1);
  EXPECT_EQ(uvmemu::mmu::HostProtection(pmap_, 0), kRW);
  uvmemu::mmu::ResetPeak();
  EXPECT_EQ(GetStats().peak_host_mappings, GetStats().host_mappings);
}

// A budget above what the host allows: the host's ENOMEM (at
// vm.max_map_count) is met by evicting, and everything still works.
TEST_F(MmuBudgetTest, Slow_BudgetAboveHostLimit_EvictsOnEnomem) {
  // Every other page: one host mapping each (with sparse windows; two with
  // the reservation pieces between them), 70,000 > vm.max_map_count.
  constexpr size_t kPages = 70000;
  Boot(kPages + 16, 1000000);
  MapPages(kPages, 2 * PAGE_SIZE);
  for (size_t i = 0; i < kPages; i++) {
    At(i * 2 * PAGE_SIZE + Offset(i))[0] = Value(i);
  }
  for (size_t i = 0; i < kPages; i++) {
    ASSERT_EQ(At(i * 2 * PAGE_SIZE + Offset(i))[0], Value(i)) << i;
  }
  const uvmemu::mmu::Stats s = GetStats();
  EXPECT_GT(s.evictions, 0u);
  std::printf("[     INFO ] evictions %llu, peak host mappings %zu\n",
              static_cast<unsigned long long>(s.evictions),
              s.peak_host_mappings);
}

// 1 GiB of emulated memory in one address space: 262,144 pages, far more
// than the host's mapping limit.
TEST_F(MmuBudgetTest, Slow_OneGibWorkingSet_Works) {
  constexpr size_t kPages = 262144;
  using Clock = std::chrono::steady_clock;
  const auto ms = [](Clock::duration d) {
    return static_cast<long long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  };
  const auto t0 = Clock::now();
  Boot(kPages + 16, uvmemu::KernelConfig{}.host_mapping_budget);
  const auto t1 = Clock::now();
  MapPages(kPages, PAGE_SIZE);
  const auto t2 = Clock::now();
  for (size_t i = 0; i < kPages; i++) {
    At(i * PAGE_SIZE + Offset(i))[0] = Value(i);
  }
  const auto t3 = Clock::now();
  for (size_t i = 0; i < kPages; i++) {
    ASSERT_EQ(At(i * PAGE_SIZE + Offset(i))[0], Value(i)) << i;
  }
  const auto t4 = Clock::now();
  for (size_t i = 0; i < kPages; i += 4099) {
    ASSERT_EQ(static_cast<uint8_t*>(uvm_pagedata(pages_[i]))[Offset(i)],
              Value(i));
  }
  const uvmemu::mmu::Stats s = GetStats();
  EXPECT_LE(s.peak_host_mappings, uvmemu::KernelConfig{}.host_mapping_budget);
  EXPECT_GT(s.evictions, 0u);
  EXPECT_EQ(s.mappings, kPages);
  std::printf(
      "[     INFO ] boot %lld ms, enter %lld ms, write %lld ms, read %lld ms;"
      " faults %llu, evictions %llu, refills %llu, peak host mappings %zu\n",
      ms(t1 - t0), ms(t2 - t1), ms(t3 - t2), ms(t4 - t3),
      static_cast<unsigned long long>(s.faults),
      static_cast<unsigned long long>(s.evictions),
      static_cast<unsigned long long>(s.refills), s.peak_host_mappings);
}

}  // namespace
