// A soak of memory pressure, page-out, swap-off/swap-on, fork and exit
// through the public API, with a random seed (printed; set
// UVMEMU_PAGING_SEED to replay one), checked against a model of every
// page of every process.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "test/page_pattern.h"
#include "uvmemu/machine.h"

namespace uvmemu {
namespace {

constexpr uint64_t kPage = 4096;
constexpr int kPrivate = 48;  // private pages per process (copy on fork)
constexpr int kShared = 16;   // pages shared by all processes
constexpr int kMaxProcs = 6;
constexpr int kSlots = 512;
constexpr uint64_t kPrivVa = 0x100000;
constexpr uint64_t kSharedVa = 0x400000;

// Page contents for a seed; seed 0 is an untouched (zero) page.
std::string Pattern(int seed) {
  return seed == 0 ? std::string(kPage, '\0') : testing::PagePattern(seed);
}

struct Proc {
  Process process;
  std::vector<int> priv;  // seed of each private page
  int wired_first = 0;    // a wired range of private pages (mlock)
  int wired_len = 0;
};

constexpr int kMaxWired = 24;  // pages wired at once, all processes

class Slow_PagingSoakTest : public ::testing::Test {
 protected:
  Slow_PagingSoakTest()
      : machine_(std::make_unique<Machine>(
            MachineConfig{.physical_pages = 96, .swap_slots = kSlots})),
        slot_on_(kSlots + 1, true) {}

  uint64_t Below(uint64_t n) { return rng_() % n; }

  void CheckPage(Proc& p, int page, bool shared, int step) {
    const uint64_t va = (shared ? kSharedVa : kPrivVa) + page * kPage;
    const int seed = shared ? shared_[page] : p.priv[page];
    std::string s(kPage, '\0');
    ASSERT_TRUE(p.process.Read(va, s.data(), s.size()).ok())
        << "step " << step << " seed " << seed_;
    ASSERT_TRUE(s == Pattern(seed))
        << "step " << step << " process " << p.process.pid() << " "
        << (shared ? "shared" : "private") << " page " << page
        << " lost its bytes (replay with UVMEMU_PAGING_SEED=" << seed_ << ")";
  }

  void CheckAll(int step) {
    for (Proc& p : procs_) {
      for (int i = 0; i < kPrivate; i++) CheckPage(p, i, false, step);
      for (int i = 0; i < kShared; i++) CheckPage(p, i, true, step);
    }
    // wiring breaks copy-on-write sharing: each wired page is a page of
    // its own, and none was paged out
    ASSERT_EQ(machine_->Stats().wired, Wired()) << "step " << step;
  }

  int Wired() const {
    int n = 0;
    for (const Proc& p : procs_) n += p.wired_len;
    return n;
  }

  // A random run of slots that are all on (want_on) or all off, or
  // {0, 0} if there is none where we look.
  std::pair<int, int> RandomRun(bool want_on) {
    const int first = 1 + static_cast<int>(Below(kSlots));
    if (slot_on_[first] != want_on) return {0, 0};
    int end = first;
    const int len = 1 + static_cast<int>(Below(64));
    while (end <= kSlots && end - first < len && slot_on_[end] == want_on)
      end++;
    return {first, end};
  }

  int SlotsOn() const {
    int n = 0;
    for (int s = 1; s <= kSlots; s++) n += slot_on_[s];
    return n;
  }

  void Step(int step) {
    const uint64_t op = Below(100);
    Proc& p = procs_[Below(procs_.size())];
    if (op < 55) {  // write a page
      const bool shared = Below(4) == 0;
      const int page = static_cast<int>(Below(shared ? kShared : kPrivate));
      const int seed = next_seed_++;
      const std::string s = Pattern(seed);
      const uint64_t va = (shared ? kSharedVa : kPrivVa) + page * kPage;
      ASSERT_TRUE(p.process.Write(va, s.data(), s.size()).ok())
          << "step " << step << " seed " << seed_;
      (shared ? shared_[page] : p.priv[page]) = seed;
    } else if (op < 65) {  // read a page
      const bool shared = Below(4) == 0;
      CheckPage(p, static_cast<int>(Below(shared ? kShared : kPrivate)), shared,
                step);
    } else if (op < 70) {  // fork
      if (procs_.size() >= kMaxProcs) return;
      absl::StatusOr<Process> child = p.process.Fork();
      ASSERT_TRUE(child.ok()) << child.status();
      std::vector<int> priv = p.priv;
      procs_.push_back(Proc{std::move(*child), std::move(priv)});  // unwired
      forks_++;
    } else if (op < 74) {  // exit
      if (procs_.size() <= 1) return;
      const size_t k = Below(procs_.size());
      ASSERT_TRUE(procs_[k].process.Exit().ok());  // unwires
      procs_.erase(procs_.begin() + static_cast<long>(k));
    } else if (op < 78) {  // page out a range of one process
      const int first = static_cast<int>(Below(kPrivate));
      const int len = 1 + static_cast<int>(Below(kPrivate - first));
      ASSERT_TRUE(p.process.PageOut(kPrivVa + first * kPage, len * kPage).ok());
    } else if (op < 80) {  // wire or unwire a range
      if (p.wired_len > 0) {
        ASSERT_TRUE(
            p.process
                .Unwire(kPrivVa + p.wired_first * kPage, p.wired_len * kPage)
                .ok());
        p.wired_len = 0;
        return;
      }
      const int len = 1 + static_cast<int>(Below(8));
      if (Wired() + len > kMaxWired) return;
      const int first = static_cast<int>(Below(kPrivate - len + 1));
      const uint64_t va = kPrivVa + first * kPage;
      const absl::Status s = p.process.Wire(va, len * kPage);
      ASSERT_TRUE(s.ok()) << s << " step " << step << " seed " << seed_;
      p.wired_first = first;
      p.wired_len = len;
      // wired pages stay
      ASSERT_EQ(*p.process.PageOut(va, len * kPage), 0) << "step " << step;
    } else if (op < 84) {  // memory pressure
      machine_->RelieveMemoryPressure();
      ASSERT_TRUE(machine_->PageOut(static_cast<int>(Below(32))).ok());
    } else if (op < 92) {  // swap off a range
      // keep at least half the slots on: the data must fit somewhere
      auto [first, end] = RandomRun(/*want_on=*/true);
      if (first == 0 || SlotsOn() - (end - first) < kSlots / 2) return;
      const absl::Status s = machine_->SwapOff(first, end);
      if (s.code() == absl::StatusCode::kResourceExhausted) return;
      ASSERT_TRUE(s.ok()) << s << " seed " << seed_;
      for (int slot = first; slot < end; slot++) slot_on_[slot] = false;
      swapoffs_++;
    } else {  // swap a range back on
      auto [first, end] = RandomRun(/*want_on=*/false);
      if (first == 0) return;
      ASSERT_TRUE(machine_->SwapOn(first, end).ok());
      for (int slot = first; slot < end; slot++) slot_on_[slot] = true;
    }
  }

  std::unique_ptr<Machine> machine_;
  std::vector<Proc> procs_;
  std::vector<int> shared_ = std::vector<int>(kShared, 0);
  std::vector<bool> slot_on_;
  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  int next_seed_ = 1;
  int forks_ = 0, swapoffs_ = 0;
};

TEST_F(Slow_PagingSoakTest, PressureSwapOffAndFork_NoByteLost) {
  if (const char* env = std::getenv("UVMEMU_PAGING_SEED")) {
    seed_ = std::strtoull(env, nullptr, 10);
  } else {
    seed_ = std::random_device{}();
  }
  std::printf("paging soak seed %llu (UVMEMU_PAGING_SEED to replay)\n",
              static_cast<unsigned long long>(seed_));
  rng_.seed(seed_);

  Process first = *machine_->Spawn();
  ASSERT_TRUE(
      first.Mmap(kPrivate * kPage, kReadWrite, {.fixed_address = kPrivVa})
          .ok());
  ASSERT_TRUE(first
                  .Mmap(kShared * kPage, kReadWrite,
                        {.shared = true, .fixed_address = kSharedVa})
                  .ok());
  procs_.push_back(Proc{std::move(first), std::vector<int>(kPrivate, 0)});

  constexpr int kSteps = 60000;
  for (int step = 0; step < kSteps; step++) {
    ASSERT_NO_FATAL_FAILURE(Step(step));
    if (step % 250 == 249) {
      ASSERT_NO_FATAL_FAILURE(CheckAll(step));
    }
  }
  ASSERT_NO_FATAL_FAILURE(CheckAll(kSteps));
  const MemoryStats st = machine_->Stats();
  std::printf("forks %d, swap-offs %d, page-outs %d, page-ins %d\n", forks_,
              swapoffs_, st.page_outs, st.page_ins);
  EXPECT_GT(st.page_outs, 0);
  EXPECT_GT(st.page_ins, 0);

  // end: one process left, all swap off (it fits in memory), no slot used
  while (procs_.size() > 1) {
    ASSERT_TRUE(procs_.back().process.Exit().ok());
    procs_.pop_back();
  }
  ASSERT_TRUE(machine_->SwapOn().ok());
  ASSERT_TRUE(machine_->SwapOff().ok());
  EXPECT_EQ(machine_->Stats().swap_in_use, 0);
  EXPECT_EQ(machine_->Stats().swap_only, 0);
  ASSERT_NO_FATAL_FAILURE(CheckAll(kSteps + 1));
}

}  // namespace
}  // namespace uvmemu
