// Scenarios through the public API with real loads and stores: what a
// program running in an emulated process would see.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>

#include "emu/mmu.h"
#include "uvm/uvm.h"
#include "uvmemu/machine.h"

namespace uvmemu {
namespace {

constexpr uint64_t kPage = 4096;

MapOptions SharedOptions() {
  MapOptions options;
  options.shared = true;
  return options;
}

class ProcessScenarioTest : public ::testing::Test {
 protected:
  explicit ProcessScenarioTest(MachineConfig config = {.physical_pages = 512})
      : machine_(std::make_unique<Machine>(config)) {}

  void TearDown() override {
    machine_.reset();  // exits every process still running
    // the Kernel is gone with the machine; it aborts on leaks, so getting
    // here means none
  }

  // Writes "<tag> <page>" at the start of every page with plain stores.
  static void Stamp(Process& p, uint64_t va, uint64_t pages,
                    const std::string& tag) {
    for (uint64_t i = 0; i < pages; i++)
      std::snprintf(p.Ptr(va + i * kPage), 32, "%s %d", tag.c_str(),
                    static_cast<int>(i));
  }
  static std::string At(const Process& p, uint64_t va) {
    return std::string(p.Ptr<const char>(va));
  }

  std::unique_ptr<Machine> machine_;
};

TEST_F(ProcessScenarioTest, Fork_WritesOnEitherSideStayPrivate) {
  Process parent = *machine_->Spawn();
  const uint64_t va = *parent.Mmap(4 * kPage, kReadWrite);
  Stamp(parent, va, 4, "p");
  Process child = *parent.Fork();
  Stamp(child, va, 2, "c");                 // child writes pages 0, 1
  Stamp(parent, va + 2 * kPage, 2, "P");    // parent writes pages 2, 3
  EXPECT_EQ(At(parent, va), "p 0");
  EXPECT_EQ(At(parent, va + kPage), "p 1");
  EXPECT_EQ(At(parent, va + 2 * kPage), "P 0");
  EXPECT_EQ(At(child, va), "c 0");
  EXPECT_EQ(At(child, va + kPage), "c 1");
  EXPECT_EQ(At(child, va + 2 * kPage), "p 2");
  EXPECT_EQ(At(child, va + 3 * kPage), "p 3");
}

TEST_F(ProcessScenarioTest, SharedMapping_WritesVisibleBothWays) {
  Process parent = *machine_->Spawn();
  const uint64_t va = *parent.Mmap(2 * kPage, kReadWrite, SharedOptions());
  Stamp(parent, va, 2, "p");
  Process child = *parent.Fork();
  Stamp(child, va, 1, "c");
  EXPECT_EQ(At(parent, va), "c 0");
  Stamp(parent, va + kPage, 1, "P");
  EXPECT_EQ(At(child, va + kPage), "P 0");
}

TEST_F(ProcessScenarioTest, InheritNone_ChildReadGetsEfault) {
  Process parent = *machine_->Spawn();
  const uint64_t va = *parent.Mmap(kPage, kReadWrite);
  Stamp(parent, va, 1, "p");
  ASSERT_TRUE(parent.Minherit(va, kPage, Inherit::kNone).ok());
  Process child = *parent.Fork();
  char c;
  EXPECT_EQ(child.Read(va, &c, 1).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(At(parent, va), "p 0");
}

TEST_F(ProcessScenarioTest, Mprotect_ReadOnlyRefusesWritesButReads) {
  Process p = *machine_->Spawn();
  const uint64_t va = *p.Mmap(kPage, kReadWrite);
  Stamp(p, va, 1, "x");
  ASSERT_TRUE(p.Mprotect(va, kPage, kRead).ok());
  EXPECT_EQ(p.Write(va, "y", 1).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(At(p, va), "x 0");
  ASSERT_TRUE(p.Mprotect(va, kPage, kReadWrite).ok());
  EXPECT_TRUE(p.Write(va, "y", 1).ok());
  EXPECT_EQ(At(p, va), "y 0");
}

TEST_F(ProcessScenarioTest, RawStoreToReadOnly_IsAnEmulatedSegv) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Process p = *machine_->Spawn();
  const uint64_t va = *p.Mmap(kPage, kRead);
  EXPECT_DEATH(p.Ptr(va)[0] = 1,
               "emulated segmentation violation at va 0x[0-9a-f]+ in process");
}

TEST_F(ProcessScenarioTest, PartialMunmapOfForkSharedAmap_FreesOnlyThosePages) {
  Process parent = *machine_->Spawn();
  const uint64_t va = *parent.Mmap(8 * kPage, kReadWrite);
  Stamp(parent, va, 8, "p");
  Process child = *parent.Fork();
  const long anons = uvm_anon_count();
  // both unmap [2,4): the anons there lose both references
  ASSERT_TRUE(parent.Munmap(va + 2 * kPage, 2 * kPage).ok());
  EXPECT_EQ(uvm_anon_count(), anons);
  ASSERT_TRUE(child.Munmap(va + 2 * kPage, 2 * kPage).ok());
  EXPECT_EQ(uvm_anon_count(), anons - 2);
  EXPECT_EQ(At(child, va + 4 * kPage), "p 4");
  EXPECT_EQ(At(parent, va + kPage), "p 1");
  char c;
  EXPECT_FALSE(child.Read(va + 2 * kPage, &c, 1).ok());
}

TEST_F(ProcessScenarioTest, GrowForwardsAndBackwards_MergesIntoOneEntry) {
  Process p = *machine_->Spawn();
  const uint64_t va = 0x100000;
  ASSERT_TRUE(p.Mmap(2 * kPage, kReadWrite, {.fixed_address = va}).ok());
  Stamp(p, va, 2, "m");
  ASSERT_TRUE(p.Mmap(2 * kPage, kReadWrite, {.fixed_address = va + 2 * kPage}).ok());
  ASSERT_TRUE(p.Mmap(kPage, kReadWrite, {.fixed_address = va - kPage}).ok());
  EXPECT_EQ(p.vmspace()->vm_map.nentries, 1) << p.Dump();
  Stamp(p, va - kPage, 1, "b");
  Stamp(p, va + 3 * kPage, 1, "f");
  EXPECT_EQ(At(p, va - kPage), "b 0");
  EXPECT_EQ(At(p, va), "m 0");
  EXPECT_EQ(At(p, va + kPage), "m 1");
  EXPECT_EQ(At(p, va + 3 * kPage), "f 0");
}

TEST_F(ProcessScenarioTest, WiredFork_ChildGetsCopiesParentStaysWritable) {
  Process parent = *machine_->Spawn();
  const uint64_t va = *parent.Mmap(2 * kPage, kReadWrite);
  ASSERT_TRUE(parent.Wire(va, 2 * kPage).ok());
  Stamp(parent, va, 2, "w");
  const auto before = mmu::GetStats();
  Process child = *parent.Fork();
  Stamp(parent, va, 2, "W");  // wired: no fault, no COW in the parent
  EXPECT_EQ(mmu::GetStats().uvm_faults, before.uvm_faults);
  EXPECT_EQ(At(child, va), "w 0");
  EXPECT_EQ(At(parent, va), "W 0");
  ASSERT_TRUE(parent.Unwire(va, 2 * kPage).ok());
}

TEST_F(ProcessScenarioTest, ThreeGenerations_EachKeepsItsOwnHistory) {
  Process a = *machine_->Spawn();
  const uint64_t va = *a.Mmap(3 * kPage, kReadWrite);
  Stamp(a, va, 3, "a");
  Process b = *a.Fork();
  Stamp(b, va + kPage, 1, "b");
  Process c = *b.Fork();
  Stamp(c, va + 2 * kPage, 1, "c");
  Stamp(a, va, 1, "A");
  EXPECT_EQ(At(a, va) + "|" + At(a, va + kPage) + "|" + At(a, va + 2 * kPage),
            "A 0|a 1|a 2");
  EXPECT_EQ(At(b, va) + "|" + At(b, va + kPage) + "|" + At(b, va + 2 * kPage),
            "a 0|b 0|a 2");
  EXPECT_EQ(At(c, va) + "|" + At(c, va + kPage) + "|" + At(c, va + 2 * kPage),
            "a 0|b 0|c 0");
}

TEST_F(ProcessScenarioTest, ParentExits_ChildKeepsCowPages) {
  Process parent = *machine_->Spawn();
  const uint64_t va = *parent.Mmap(4 * kPage, kReadWrite);
  Stamp(parent, va, 4, "p");
  Process child = *parent.Fork();
  Stamp(child, va, 1, "c");
  ASSERT_TRUE(parent.Exit().ok());
  EXPECT_EQ(At(child, va), "c 0");
  EXPECT_EQ(At(child, va + 3 * kPage), "p 3");
  Stamp(child, va + 3 * kPage, 1, "C");  // sole owner now: no copy needed
  EXPECT_EQ(At(child, va + 3 * kPage), "C 0");
}

// A 1 GiB working set: 262,144 pages, far more than the host allows
// separate mappings, through the MMU's budget.  Run with -L slow.
class Slow_ProcessScenarioTest : public ProcessScenarioTest {
 protected:
  Slow_ProcessScenarioTest()
      : ProcessScenarioTest({.physical_pages = 2 * 262144 + 64}) {}
};

TEST_F(Slow_ProcessScenarioTest, OneGibWorkingSet_ForkAndWriteEveryPage) {
  constexpr uint64_t kPages = 262144;
  const auto start = std::chrono::steady_clock::now();
  Process parent = *machine_->Spawn();
  const uint64_t va = *parent.Mmap(kPages * kPage, kReadWrite);
  for (uint64_t i = 0; i < kPages; i++)
    *parent.Ptr<uint64_t>(va + i * kPage) = i;
  Process child = *parent.Fork();
  for (uint64_t i = 0; i < kPages; i++)
    *child.Ptr<uint64_t>(va + i * kPage) = ~i;
  for (uint64_t i = 0; i < kPages; i += 997) {
    ASSERT_EQ(*parent.Ptr<uint64_t>(va + i * kPage), i);
    ASSERT_EQ(*child.Ptr<uint64_t>(va + i * kPage), ~i);
  }
  const mmu::Stats stats = mmu::GetStats();
  EXPECT_GT(stats.evictions, 0u);
  std::printf("1 GiB fork+write: %.1f s, peak host mappings %zu, "
              "evictions %llu\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                            start)
                  .count(),
              stats.peak_host_mappings,
              static_cast<unsigned long long>(stats.evictions));
}

}  // namespace
}  // namespace uvmemu
