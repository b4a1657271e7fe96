// Page-out and swap-off through the public API (Machine::PageOut,
// SwapOff, SwapOn, Stats; Process::PageOut) with several processes
// sharing memory by fork, copy-on-write and shared mappings.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "test/page_pattern.h"
#include "uvm/uvm.h"
#include "uvmemu/machine.h"

namespace uvmemu {
namespace {

using testing::PagePattern;

constexpr uint64_t kPage = 4096;

void Fill(Process& p, uint64_t va, int seed) {
  const std::string s = PagePattern(seed);
  ASSERT_TRUE(p.Write(va, s.data(), s.size()).ok()) << std::hex << va;
}

::testing::AssertionResult Holds(const Process& p, uint64_t va, int seed) {
  std::string s(kPage, '\0');
  if (absl::Status st = p.Read(va, s.data(), s.size()); !st.ok())
    return ::testing::AssertionFailure() << st;
  if (s != PagePattern(seed))
    return ::testing::AssertionFailure()
           << "process " << p.pid() << " page at " << std::hex << va
           << " differs from pattern " << std::dec << seed;
  return ::testing::AssertionSuccess();
}

// The swap slots held by anons of the processes' amaps, each once.
std::vector<int> SlotsInUse(const std::vector<const Process*>& procs) {
  std::vector<int> slots;
  std::vector<vm_anon*> seen;
  for (const Process* p : procs) {
    vm_map* map = &p->vmspace()->vm_map;
    for (vm_map_entry* e = uvm_map_first(map); e != nullptr;
         e = uvm_map_next(map, e)) {
      vm_amap* amap = e->aref.ar_amap;
      if (amap == nullptr) continue;
      for (int i = 0; i < amap->am_nused; i++) {
        vm_anon* anon = amap->am_anon[amap->am_slots[i]];
        if (std::find(seen.begin(), seen.end(), anon) != seen.end()) continue;
        seen.push_back(anon);
        if (anon->an_swslot != 0) slots.push_back(anon->an_swslot);
      }
    }
  }
  return slots;
}

// Eight processes: a parent with private and shared memory and seven
// descendants, each writing its own copies of half the private pages;
// about twice as much data as memory.
class SwapOffProcessTest : public ::testing::Test {
 protected:
  static constexpr int kPrivate = 96;
  static constexpr int kShared = 32;
  static constexpr int kProcs = 8;

  SwapOffProcessTest()
      : machine_(std::make_unique<Machine>(
            MachineConfig{.physical_pages = 256, .swap_slots = 4096})) {}

  void Populate() {
    procs_.push_back(*machine_->Spawn());
    Process& p0 = procs_[0];
    priv_ = *p0.Mmap(kPrivate * kPage, kReadWrite);
    shared_ = *p0.Mmap(kShared * kPage, kReadWrite, {.shared = true, .fixed_address = std::nullopt});
    seeds_.assign(kProcs, std::vector<int>(kPrivate));
    for (int i = 0; i < kPrivate; i++) {
      Fill(p0, priv_ + i * kPage, i);
      seeds_[0][i] = i;
    }
    shared_seeds_.resize(kShared);
    for (int i = 0; i < kShared; i++) {
      Fill(p0, shared_ + i * kPage, 100000 + i);
      shared_seeds_[i] = 100000 + i;
    }
    // each child forks from an earlier process (a binary tree) and writes
    // every other private page, and one shared page
    for (int k = 1; k < kProcs; k++) {
      const int parent = k / 2;
      procs_.push_back(*procs_[parent].Fork());
      seeds_[k] = seeds_[parent];
      for (int i = k % 2; i < kPrivate; i += 2) {
        Fill(procs_[k], priv_ + i * kPage, k * 1000 + i);
        seeds_[k][i] = k * 1000 + i;
      }
      Fill(procs_[k], shared_ + k * kPage, 200000 + k);
      shared_seeds_[k] = 200000 + k;
    }
  }

  void ExpectAll() {
    for (size_t k = 0; k < procs_.size(); k++) {
      if (procs_[k].exited()) continue;
      for (int i = 0; i < kPrivate; i++)
        ASSERT_TRUE(Holds(procs_[k], priv_ + i * kPage, seeds_[k][i]));
      for (int i = 0; i < kShared; i++)
        ASSERT_TRUE(Holds(procs_[k], shared_ + i * kPage, shared_seeds_[i]));
    }
  }

  std::vector<const Process*> Live() const {
    std::vector<const Process*> live;
    for (const Process& p : procs_)
      if (!p.exited()) live.push_back(&p);
    return live;
  }

  std::unique_ptr<Machine> machine_;
  std::vector<Process> procs_;
  uint64_t priv_ = 0, shared_ = 0;
  std::vector<std::vector<int>> seeds_;
  std::vector<int> shared_seeds_;
};

TEST_F(SwapOffProcessTest,
       SwapOff_ManyProcessesUnderPressure_NoByteLostAllSlotsFreed) {
  Populate();
  MemoryStats st = machine_->Stats();
  EXPECT_GT(st.page_outs, 200);
  EXPECT_GT(st.swap_in_use, 200);
  ExpectAll();
  EXPECT_GT(machine_->Stats().page_ins, 0);

  // swap off the first half while memory is full: the pages come in and
  // others go out to the second half
  const int in_use = st.swap_in_use, ins = machine_->Stats().page_ins;
  ASSERT_TRUE(machine_->SwapOff(1, 2049).ok());
  st = machine_->Stats();
  std::printf(
      "swap-off of slots 1..2048: %d slots in use, %d pages paged "
      "in, %d anon pages in %d processes, %d pages of memory\n",
      in_use, st.page_ins - ins, st.anon_pages + st.swap_only, kProcs,
      st.pages);
  EXPECT_EQ(st.swap_slots, 2048);
  EXPECT_EQ(st.swap_available, 2048);
  for (int slot : SlotsInUse(Live())) EXPECT_GE(slot, 2049);
  EXPECT_EQ(static_cast<int>(SlotsInUse(Live()).size()), st.swap_in_use);
  ExpectAll();

  // what is left fits in memory: swap off everything
  for (int k = 2; k < kProcs; k++) ASSERT_TRUE(procs_[k].Exit().ok());
  ASSERT_TRUE(machine_->PageOut(1000).ok());  // all of it to swap first
  const int only = machine_->Stats().swap_only;
  EXPECT_GT(only, 100);
  ASSERT_TRUE(machine_->SwapOff().ok());
  st = machine_->Stats();
  std::printf("swap-off of all slots: %d pages only in swap brought back\n",
              only);
  EXPECT_EQ(st.swap_slots, 0);
  EXPECT_EQ(st.swap_available, 0);
  EXPECT_EQ(st.swap_in_use, 0);
  EXPECT_EQ(st.swap_only, 0);
  EXPECT_TRUE(SlotsInUse(Live()).empty());
  ExpectAll();

  // and on again: paging works as before
  ASSERT_TRUE(machine_->SwapOn().ok());
  EXPECT_EQ(machine_->Stats().swap_slots, 4096);
  EXPECT_EQ(*machine_->PageOut(50), 50);
  ExpectAll();
}

TEST_F(SwapOffProcessTest, SwapOff_PagesDoNotFit_ResourceExhaustedSlotsStayOn) {
  Populate();
  const absl::Status s = machine_->SwapOff();
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  const MemoryStats st = machine_->Stats();
  EXPECT_EQ(st.swap_slots, 4096);
  EXPECT_EQ(st.swap_available, 4096);
  ExpectAll();
}

class PagingApiTest : public ::testing::Test {
 protected:
  PagingApiTest()
      : machine_(std::make_unique<Machine>(
            MachineConfig{.physical_pages = 128, .swap_slots = 64})) {}
  std::unique_ptr<Machine> machine_;
};

TEST_F(PagingApiTest, Misuse_ReturnsErrors) {
  EXPECT_EQ(machine_->PageOut(-1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(machine_->SwapOff(0, 5).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(machine_->SwapOff(5, 5).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(machine_->SwapOff(1, 66).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(machine_->SwapOff(1, 65).ok());
  EXPECT_EQ(machine_->SwapOff(5, 15).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(machine_->SwapOn(1, 10).ok());
  EXPECT_EQ(machine_->SwapOn(5, 15).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(machine_->SwapOn().ok());
  EXPECT_EQ(machine_->Stats().swap_slots, 64);

  Process p = *machine_->Spawn();
  const uint64_t va = *p.Mmap(2 * kPage, kReadWrite);
  EXPECT_EQ(p.PageOut(va + 1, kPage).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(p.Exit().ok());
  EXPECT_EQ(p.PageOut(va, kPage).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(PagingApiTest, ProcessPageOut_DumpShowsSlotsAndReadBringsBack) {
  Process p = *machine_->Spawn();
  const uint64_t va = *p.Mmap(4 * kPage, kReadWrite);
  for (int i = 0; i < 3; i++) Fill(p, va + i * kPage, i);
  const MemoryStats before = machine_->Stats();
  EXPECT_EQ(*p.PageOut(va, 4 * kPage), 3);  // page 3 was never touched
  const MemoryStats after = machine_->Stats();
  EXPECT_EQ(after.page_outs, before.page_outs + 3);
  EXPECT_EQ(after.swap_only, 3);
  EXPECT_EQ(after.free, before.free + 3);
  const std::string dump = p.Dump();
  EXPECT_NE(dump.find("no page, swap slot 1"), std::string::npos) << dump;
  EXPECT_NE(dump.find("no page, swap slot 3"), std::string::npos) << dump;
  EXPECT_EQ(*p.PageOut(va, 4 * kPage), 0);  // nothing resident
  for (int i = 0; i < 3; i++) EXPECT_TRUE(Holds(p, va + i * kPage, i));
  EXPECT_EQ(machine_->Stats().page_ins, 3);
}

TEST_F(PagingApiTest, RelieveMemoryPressure_FreesUpToTheTarget) {
  EXPECT_EQ(machine_->RelieveMemoryPressure(), 0);
  Process p = *machine_->Spawn();
  const MemoryStats st = machine_->Stats();
  const int pages = st.free - st.free_min + 2;  // below free_min
  const uint64_t va = *p.Mmap(pages * kPage, kReadWrite);
  for (int i = 0; i < pages; i++) Fill(p, va + i * kPage, i);
  ASSERT_LT(machine_->Stats().free, st.free_min);
  EXPECT_GT(machine_->RelieveMemoryPressure(), 0);
  EXPECT_EQ(machine_->Stats().free, st.free_target);
  for (int i = 0; i < pages; i++) EXPECT_TRUE(Holds(p, va + i * kPage, i));
}

// Plain loads and stores: a load of a paged-out page faults through
// SIGSEGV into uvm_fault and pages it in; a store to the clean page read
// back is caught by the modified-bit emulation, so the next page-out
// writes the new bytes instead of freeing the page for nothing.
TEST_F(PagingApiTest, RawAccess_PagesInAndStoresAreNotLost) {
  Process p = *machine_->Spawn();
  const uint64_t va = *p.Mmap(kPage, kReadWrite);
  std::strcpy(p.Ptr(va), "first");
  ASSERT_EQ(*p.PageOut(va, kPage), 1);
  EXPECT_STREQ(p.Ptr<const char>(va), "first");  // load: page-in
  EXPECT_EQ(machine_->Stats().page_ins, 1);
  ASSERT_EQ(*p.PageOut(va, kPage), 1);  // clean: freed, not written
  EXPECT_EQ(machine_->Stats().page_outs, 1);
  EXPECT_STREQ(p.Ptr<const char>(va), "first");
  std::strcpy(p.Ptr(va), "second");  // store to the clean page
  ASSERT_EQ(*p.PageOut(va, kPage), 1);
  EXPECT_EQ(machine_->Stats().page_outs, 2);
  EXPECT_STREQ(p.Ptr<const char>(va), "second");
}

// Stores through raw pointers to three times more memory than there is:
// each fault that finds memory short pages out inline, inside the
// SIGSEGV handler; loads page the data back in.
TEST(PagingRawTest, RawStores_ThreeTimesMemory_EveryPageKeepsItsBytes) {
  Machine machine({.physical_pages = 128, .swap_slots = 512});
  Process p = *machine.Spawn();
  constexpr int kPages = 3 * 128;
  const uint64_t va = *p.Mmap(kPages * kPage, kReadWrite);
  for (int i = 0; i < kPages; i++) {
    uint32_t* w = p.Ptr<uint32_t>(va + i * kPage);
    for (size_t j = 0; j < kPage / 4; j++) w[j] = i * 7919u + j;
  }
  EXPECT_GT(machine.Stats().page_outs, 2 * 128 - 16);
  for (int i = 0; i < kPages; i++) {
    const uint32_t* w = p.Ptr<const uint32_t>(va + i * kPage);
    for (size_t j = 0; j < kPage / 4; j++)
      ASSERT_EQ(w[j], i * 7919u + j) << "page " << i << " word " << j;
  }
  EXPECT_GT(machine.Stats().page_ins, 2 * 128 - 16);
}

TEST(PagingConfigTest, FreeTargets_FromConfig) {
  Machine machine({.physical_pages = 128,
                   .swap_slots = 16,
                   .free_min = 10,
                   .free_target = 20});
  const MemoryStats st = machine.Stats();
  EXPECT_EQ(st.free_min, 10);
  EXPECT_EQ(st.free_target, 20);
  EXPECT_EQ(st.swap_slots, 16);
  EXPECT_EQ(st.pages, 128);
}

}  // namespace
}  // namespace uvmemu
