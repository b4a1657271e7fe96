// The MMU's windows on the host: sparse windows (a window in use keeps
// no PROT_NONE reservation where nothing is mapped: those pages are
// holes) and the dense layout they fall back to, which keeps one.
// mincore() tells the two apart: it fails with ENOMEM on a hole and
// succeeds on any mapping, PROT_NONE included.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "emu/mmu.h"
#include "uvm/uvm.h"
#include "uvmemu/kernel.h"

namespace {

using uvmemu::mmu::CopyIn;
using uvmemu::mmu::ReservationBase;
using uvmemu::mmu::ReservationBytes;
using uvmemu::mmu::SparseWindows;

constexpr vm_prot_t kRW = VM_PROT_READ | VM_PROT_WRITE;

// Whether anything is mapped on the host at the page of p.
bool HostMapped(const volatile void* p) {
  const uintptr_t page =
      reinterpret_cast<uintptr_t>(p) & ~static_cast<uintptr_t>(PAGE_MASK);
  unsigned char vec = 0;
  if (mincore(reinterpret_cast<void*>(page), PAGE_SIZE, &vec) == 0) {
    return true;
  }
  EXPECT_EQ(errno, ENOMEM);
  return false;
}

// The host mappings (lines of /proc/self/maps) that overlap [lo, hi).
int HostMappingsIn(const volatile void* lo, const volatile void* hi) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  int n = 0;
  while (std::getline(maps, line)) {
    unsigned long start = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &start, &end) != 2) continue;
    if (start < reinterpret_cast<uintptr_t>(hi) &&
        end > reinterpret_cast<uintptr_t>(lo)) {
      n++;
    }
  }
  return n;
}

// Enters the page the fault hook is asked for, read/write.
vm_page* g_backing = nullptr;
int EnterBacking(struct pmap* pmap, vaddr_t va, vm_prot_t access) {
  if (g_backing == nullptr) return EFAULT;
  return pmap_enter(pmap, va, VM_PAGE_TO_PHYS(g_backing), kRW, access);
}

class MmuWindowsTest : public ::testing::TestWithParam<bool> {
 protected:
  MmuWindowsTest()
      : kernel_(uvmemu::KernelConfig{.physical_pages = 64,
                                     .sparse_windows = GetParam()}) {}

  void SetUp() override { pmap_set_fault_hook(&EnterBacking); }

  void TearDown() override {
    g_backing = nullptr;
    pmap_set_fault_hook(nullptr);
    for (vm_page* pg : pages_) {
      mutex_enter(&uvm_pageqlock);
      uvm_pagefree(pg);
      mutex_exit(&uvm_pageqlock);
    }
    const absl::Status leaks = uvmemu::Kernel::CheckNoLeaks();
    EXPECT_TRUE(leaks.ok()) << leaks.message();
  }

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

  // Sparse windows where they were asked for (the low region is free in
  // a test process on x86-64).
  bool Sparse() const {
#if defined(__x86_64__)
    return GetParam();
#else
    return false;
#endif
  }

  uvmemu::Kernel kernel_;
  std::vector<vm_page*> pages_;
};

INSTANTIATE_TEST_SUITE_P(Layouts, MmuWindowsTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Sparse" : "Dense";
                         });

TEST_P(MmuWindowsTest, Layout_AsConfigured) {
  EXPECT_EQ(SparseWindows(), Sparse());
  struct pmap* p = pmap_create();
  // A window in use: holes (sparse) or reservation (dense).
  EXPECT_EQ(HostMapped(At(p, 0)), !Sparse());
  EXPECT_EQ(HostMapped(At(p, pmap_window_size() - PAGE_SIZE)), !Sparse());
  // A window not in use is always reserved.
  EXPECT_TRUE(HostMapped(At(p, pmap_window_size())));
  const char* window = pmap_window(p);
  pmap_destroy(p);
  // Given back, the window is reserved again.
  EXPECT_TRUE(HostMapped(window));
}

TEST_P(MmuWindowsTest, FaultMapsAndRemoveReserves) {
  struct pmap* p = pmap_create();
  g_backing = NewPage(0x5c);
  const vaddr_t va = 0x7000;
  EXPECT_EQ(At(p, va)[0], 0x5c);  // a fault; the hook enters the page
  At(p, va)[1] = 0x33;            // a write: modified emulation
  EXPECT_EQ(static_cast<uint8_t*>(uvm_pagedata(g_backing))[1], 0x33);
  EXPECT_TRUE(HostMapped(At(p, va)));
  EXPECT_EQ(HostMapped(At(p, va + PAGE_SIZE)), !Sparse());

  // Entered again, read-only (the frame mapped anew, replacing ours).
  vm_page* other = NewPage(0x11);
  ASSERT_EQ(pmap_enter(p, va, VM_PAGE_TO_PHYS(other), VM_PROT_READ,
                       VM_PROT_READ),
            0);
  EXPECT_EQ(At(p, va)[0], 0x11);

  pmap_remove(p, 0, pmap_window_size());
  EXPECT_EQ(HostMapped(At(p, va)), !Sparse());
  g_backing = nullptr;
  char c = 0;
  EXPECT_EQ(CopyIn(p, va, &c, 1), EFAULT);  // the fault reaches the hook
  pmap_destroy(p);
}

// Consecutive frames at consecutive addresses: with sparse windows each
// frame mapped next to its neighbour extends the neighbour's host mapping.
TEST_P(MmuWindowsTest, ConsecutiveFrames_AllReadBack) {
  struct pmap* p = pmap_create();
  constexpr int kN = 16;
  std::vector<vm_page*> pg;
  for (int i = 0; i < kN; i++) pg.push_back(NewPage(static_cast<uint8_t>(i)));
  for (int i = 0; i < kN; i++) {
    ASSERT_EQ(pmap_enter(p, i * PAGE_SIZE, VM_PAGE_TO_PHYS(pg[i]), kRW, kRW),
              0);
  }
  for (int i = 0; i < kN; i++) EXPECT_EQ(At(p, i * PAGE_SIZE)[9], i) << i;
  // Sparse: one host mapping for the run (dense: the run, and the
  // reservation on either side of it).
  EXPECT_EQ(HostMappingsIn(At(p, 0), At(p, kN * PAGE_SIZE)), 1);
  // Removing the middle punches a hole in the run; the rest still reads.
  pmap_remove(p, 4 * PAGE_SIZE, 12 * PAGE_SIZE);
  for (int i = 0; i < kN; i++) {
    if (i >= 4 && i < 12) continue;
    EXPECT_EQ(At(p, i * PAGE_SIZE)[9], i) << i;
  }
  EXPECT_EQ(HostMappingsIn(At(p, 0), At(p, kN * PAGE_SIZE)),
            Sparse() ? 2 : 3);
  pmap_remove(p, 0, pmap_window_size());
  pmap_destroy(p);
}

// The host's own mmap(NULL) never lands in a hole of a sparse window:
// the reservation lies below where it looks.
TEST_P(MmuWindowsTest, HostMmapNull_StaysOutOfTheWindows) {
  struct pmap* p = pmap_create();
  const uintptr_t lo = reinterpret_cast<uintptr_t>(ReservationBase());
  const uintptr_t hi = lo + ReservationBytes();
  std::vector<std::pair<void*, size_t>> maps;
  for (size_t len : {size_t{PAGE_SIZE}, size_t{64} << 10, size_t{1} << 20,
                     size_t{256} << 20, size_t{4} << 30}) {
    for (int i = 0; i < 4; i++) {
      void* m = mmap(nullptr, len, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      ASSERT_NE(m, MAP_FAILED);
      maps.emplace_back(m, len);
      const uintptr_t a = reinterpret_cast<uintptr_t>(m);
      EXPECT_TRUE(a + len <= lo || a >= hi)
          << len << " bytes at " << m << " inside the windows [" << lo << ", "
          << hi << ")";
    }
  }
  for (const auto& [m, len] : maps) munmap(m, len);
  pmap_destroy(p);
}

using MmuWindowsDeathTest = MmuWindowsTest;

INSTANTIATE_TEST_SUITE_P(Layouts, MmuWindowsDeathTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Sparse" : "Dense";
                         });

// Something else maps a page at a fixed address inside a sparse window:
// the MMU does not clobber it, it panics naming the address.
TEST_P(MmuWindowsDeathTest, ForeignMappingInAHole_Panics) {
  if (!Sparse()) GTEST_SKIP() << "a dense window has no holes";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  struct pmap* p = pmap_create();
  vm_page* pg = NewPage(0);
  void* where = pmap_window(p) + 0x3000;
  void* m = mmap(where, PAGE_SIZE, PROT_READ,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  ASSERT_EQ(m, where);
  EXPECT_DEATH(
      pmap_enter(p, 0x3000, VM_PAGE_TO_PHYS(pg), kRW, VM_PROT_READ),
      "a mapping the MMU did not make is at 0x[0-9a-f]+, inside the window "
      "reservation");
  munmap(m, PAGE_SIZE);
  pmap_destroy(p);
}

}  // namespace
