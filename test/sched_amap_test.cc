// The seed's sleeps, yields and lock drops (lib/uvm_amap.cc) with real
// LWPs: amap_cow_now meeting a busy page and running out of pages,
// amap_wipeout yielding mid-way, amap_extend's unlocked allocation and
// amap_swap_off's lock_try retry and marker walk, explored with random,
// PCT and DFS schedules.
#include <gtest/gtest.h>
#include <sys/proc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "emu/sched_hooks.h"
#include "test/amap_fixture.h"
#include "uvmemu/scheduler.h"
#include "uvmemu/trace.h"

namespace uvmemu::testing {
namespace {

class SchedAmapTest : public AmapTest {
 protected:
  SchedAmapTest() : AmapTest({.physical_pages = 64, .trace_records = 65536}) {}
  void SetUp() override { map_ = uvm_map_create(0, vaddr_t{1} << 30); }
  void TearDown() override {
    uvm_map_destroy(map_);
    AmapTest::TearDown();
  }

  // A wired parent amap with anons at `slots` tagged slot + 1, shared by
  // copy-on-write with a child entry whose amap_copy has been done (each
  // anon has an_ref 2), as fork leaves them for amap_cow_now.
  void Fork(int nslot, const std::vector<int>& slots) {
    parent_ = amap_alloc(nslot * kPage, 0, 0);
    vm_aref aref{0, parent_};
    for (int s : slots) {
      vm_anon* anon = AddAnon(&aref, s, static_cast<unsigned char>(s + 1));
      mutex_enter(&uvm_pageqlock);
      uvm_pagewire(anon->an_page);
      mutex_exit(&uvm_pageqlock);
    }
    child_ = std::make_unique<LooseEntry>(0, nslot * kPage, parent_);
    child_->entry.etype = UVM_ET_COPYONWRITE | UVM_ET_NEEDSCOPY;
    amap_ref(parent_, 0, nslot, 0);
    vm_map_entry* e = &child_->entry;
    amap_copy(map_, e, 0, e->start, e->end);
  }

  void Cleanup(int nslot) {
    mutex_enter(&uvm_pageqlock);
    for (int i = 0; i < parent_->am_nused; i++)
      uvm_pageunwire(parent_->am_anon[parent_->am_slots[i]]->an_page);
    mutex_exit(&uvm_pageqlock);
    amap_unref(child_->entry.aref.ar_amap, 0, nslot, true);
    amap_unref(parent_, 0, nslot, true);
    child_.reset();
  }

  // Every parent anon has its own copy in the child, with the same bytes.
  void ExpectCopied(const std::vector<int>& slots) {
    vm_amap* child = child_->entry.aref.ar_amap;
    for (int s : slots) {
      SCOPED_TRACE(s);
      EXPECT_NE(child->am_anon[s], parent_->am_anon[s]);
      EXPECT_EQ(parent_->am_anon[s]->an_ref, 1);
      EXPECT_EQ(AnonTag(child->am_anon[s]), s + 1);
    }
    EXPECT_TRUE(AmapConsistent(child));
  }

  vm_map* map_ = nullptr;
  vm_amap* parent_ = nullptr;
  std::unique_ptr<LooseEntry> child_;
};

// Whether the trace has a record of `function` by LWP `lid` (with format
// `format`, if given).
bool Traced(const char* function, int lid, const char* format = nullptr) {
  for (const TraceRecord& r : Trace::Tail())
    if (r.lwp == lid && std::strcmp(r.function, function) == 0 &&
        (format == nullptr || std::strcmp(r.format, format) == 0))
      return true;
  return false;
}

// Makes a page busy as the page daemon does while it writes it out.
void Busy(vm_anon* anon) {
  mutex_enter(&anon->an_lock);
  anon->an_page->flags |= PG_BUSY;
  UVM_PAGE_OWN(anon->an_page, "schedtest");
  mutex_exit(&anon->an_lock);
}

// Unbusies it, waking whoever set PG_WANTED; returns whether someone had.
bool Unbusy(vm_anon* anon) {
  mutex_enter(&anon->an_lock);
  vm_page* pg = anon->an_page;
  const bool wanted = (pg->flags & PG_WANTED) != 0;
  if (wanted) wakeup(pg);
  pg->flags &= ~(PG_BUSY | PG_WANTED);
  UVM_PAGE_OWN(pg, nullptr);
  mutex_exit(&anon->an_lock);
  return wanted;
}

// --- amap_cow_now ------------------------------------------------------------

TEST_F(SchedAmapTest, CowNow_BusyPage_SleepsUntilUnbusiedThenRestarts) {
  Fork(3, {0, 1, 2});
  vm_anon* busy = parent_->am_anon[1];
  bool wanted = false;
  Scheduler sched;
  sched.Spawn("pagedaemon", [&] {
    Busy(busy);
    kpause("pageout", false, 5, nullptr);  // "writing" the page
    wanted = Unbusy(busy);
  });
  const int cow =
      sched.Spawn("fork", [&] { amap_cow_now(map_, &child_->entry); });
  ASSERT_TRUE(sched.Run().ok());
  EXPECT_TRUE(wanted) << "amap_cow_now did not wait for the busy page";
  EXPECT_TRUE(Traced("uvm_unlock_and_wait", cow));
  ExpectCopied({0, 1, 2});
  Cleanup(3);
}

TEST_F(SchedAmapTest, CowNow_BusyPage_EveryScheduleCopiesAll) {
  int waited = 0;
  const ExploreResult r = Explore(
      {.policy = SchedPolicy::kRandom, .max_runs = 200}, [&](Scheduler& sched) {
        Fork(3, {0, 1, 2});
        vm_anon* busy = parent_->am_anon[0];  // the first one copied
        bool wanted = false;
        sched.Spawn("pagedaemon", [&] {
          Busy(busy);
          preempt();
          wanted = Unbusy(busy);
        });
        sched.Spawn("fork", [&] { amap_cow_now(map_, &child_->entry); });
        absl::Status s = sched.Run();
        waited += wanted;
        ExpectCopied({0, 1, 2});
        Cleanup(3);
        return ::testing::Test::HasFailure()
                   ? absl::InternalError("expectation failed")
                   : s;
      });
  EXPECT_FALSE(r.failed) << r.failure;
  EXPECT_EQ(r.runs, 200u);
  EXPECT_GT(waited, 0) << "no schedule met the busy page";
  EXPECT_LT(waited, 200) << "no schedule missed it";
}

TEST_F(SchedAmapTest, CowNow_OutOfPages_WaitsUntilAnotherLwpFrees) {
  Fork(2, {0, 1});
  std::vector<vm_page*> hoard;
  while (vm_page* pg = uvm_pagealloc(nullptr, 0, nullptr, 0))
    hoard.push_back(pg);
  ASSERT_EQ(uvmexp.free, 0);
  Trace::Clear();
  Scheduler sched;
  const int cow =
      sched.Spawn("fork", [&] { amap_cow_now(map_, &child_->entry); });
  sched.Spawn("exit", [&] {
    kpause("exit", false, 3, nullptr);  // after the fork has run dry
    for (vm_page* pg : hoard) uvm_pagefree(pg);
  });
  ASSERT_TRUE(sched.Run().ok());
  EXPECT_TRUE(Traced("uvm_wait", cow, "  sleeping on uvmexp.free (wmesg %p)"))
      << "amap_cow_now did not sleep in uvm_wait";
  ExpectCopied({0, 1});
  Cleanup(2);
}

// A page daemon as a kernel thread: uvm_wait wakes it, it frees memory
// (here: pages the test hoarded), which wakes the waiting fork.
TEST_F(SchedAmapTest, CowNow_OutOfPages_KernelThreadWokenByUvmWaitFrees) {
  Fork(2, {0, 1});
  std::vector<vm_page*> hoard;
  while (vm_page* pg = uvm_pagealloc(nullptr, 0, nullptr, 0))
    hoard.push_back(pg);
  int rounds = 0;
  const int daemon = sched::SpawnKernelThread("pagedaemon", [&] {
    for (;;) {
      tsleep(&uvm_pagedaemon_wchan, PVM, "pgdaemon", 0);
      if (sched::StopRequested()) break;
      rounds++;
      for (vm_page* pg : hoard) uvm_pagefree(pg);
      hoard.clear();
    }
  });
  {
    Scheduler sched;
    const int cow =
        sched.Spawn("fork", [&] { amap_cow_now(map_, &child_->entry); });
    EXPECT_EQ(cow, daemon + 1);
    ASSERT_TRUE(sched.Run().ok());  // does not wait for the kernel thread
  }
  EXPECT_EQ(rounds, 1);
  ExpectCopied({0, 1});
  EXPECT_TRUE(sched::OtherLwpsExist());
  sched::StopKernelThread(daemon);
  EXPECT_FALSE(sched::OtherLwpsExist());
  Cleanup(2);
}

// --- amap_wipeout ------------------------------------------------------------

TEST_F(SchedAmapTest, Wipeout_ShouldYield_OtherLwpRunsMidWay) {
  struct Case {
    YieldPolicy yield;
    uint64_t every;
    bool yields;
  };
  for (const Case& c :
       {Case{YieldPolicy::kEveryN, 2, true}, Case{YieldPolicy::kClock, 3, true},
        Case{YieldPolicy::kAlways, 1, true},
        Case{YieldPolicy::kNever, 1, false}}) {
    SCOPED_TRACE(static_cast<int>(c.yield));
    vm_amap* amap = amap_alloc(6 * kPage, 0, 0);
    vm_aref aref{0, amap};
    for (int s = 0; s < 6; s++) AddAnon(&aref, s, s);
    std::vector<int> seen;  // anons left, as the other LWP saw them
    uint64_t wipeout_preempts = 0;
    Scheduler sched({.yield = c.yield, .yield_every = c.every});
    sched.Spawn("exit", [&] {
      const uint64_t before = sched::PreemptCount();
      amap_unref(amap, 0, 6, true);
      wipeout_preempts = sched::PreemptCount() - before;
    });
    sched.Spawn("other", [&] {
      for (int i = 0; i < 6; i++) {
        seen.push_back(uvm_anon_count());
        preempt();
      }
    });
    ASSERT_TRUE(sched.Run().ok());
    const bool mid_way = std::any_of(seen.begin(), seen.end(),
                                     [](int n) { return n > 0 && n < 6; });
    if (c.yields) {
      // the other LWP's preempts count too, but only while both run
      EXPECT_GT(wipeout_preempts, 0u);
      EXPECT_TRUE(mid_way) << "the other LWP never ran mid-way";
    } else {
      EXPECT_EQ(wipeout_preempts, 0u);
      EXPECT_FALSE(mid_way);
    }
    EXPECT_EQ(uvm_anon_count(), 0);
  }
}

TEST_F(SchedAmapTest, Wipeout_ExplorerYields_AlwaysFreesEverything) {
  const ExploreResult r =
      Explore({.policy = SchedPolicy::kPct,
               .max_runs = 100,
               .yield = YieldPolicy::kExplorer},
              [&](Scheduler& sched) {
                vm_amap* a = amap_alloc(4 * kPage, 0, 0);
                vm_amap* b = amap_alloc(4 * kPage, 0, 0);
                vm_aref aref{0, a}, bref{0, b};
                for (int s = 0; s < 4; s++) AddAnon(&aref, s, s);
                vm_anon* shared = a->am_anon[0];
                shared->an_ref++;  // also in b
                amap_lock(b);
                amap_add(&bref, 0, shared, false);
                amap_unlock(b);
                sched.Spawn("a", [&] { amap_unref(a, 0, 4, true); });
                sched.Spawn("b", [&] { amap_unref(b, 0, 4, true); });
                absl::Status s = sched.Run();
                if (s.ok() && Kernel::Counts().anons != 0)
                  s = absl::InternalError("anons left");
                return s;
              });
  EXPECT_FALSE(r.failed) << r.failure;
}

// --- amap_extend -------------------------------------------------------------

TEST_F(SchedAmapTest, Extend_OtherLwpAddsWhileUnlocked_AnonKept) {
  int window_hits = 0;
  const ExploreResult r = Explore(
      {.policy = SchedPolicy::kRandom, .max_runs = 100}, [&](Scheduler& sched) {
        vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
        LooseEntry e(0, 4 * kPage, amap);
        vm_aref whole{0, amap};
        AddAnon(&whole, 0, 10);
        bool in_extend = false, window = false;
        int error = -1;
        sched.Spawn("extend", [&] {
          in_extend = true;
          error = amap_extend(&e.entry, 4 * kPage, AMAP_EXTEND_FORWARDS);
          in_extend = false;
        });
        sched.Spawn("fault", [&] {
          vm_anon* anon = NewAnon(12);
          amap_lock(amap);
          window = in_extend;  // holds the lock inside amap_extend
          amap_add(&whole, 2 * kPage, anon, false);
          amap_unlock(amap);
        });
        absl::Status s = sched.Run();
        window_hits += window;
        if (s.ok() &&
            (error != 0 || amap->am_maxslot < 8 ||
             amap->am_anon[2] == nullptr || AnonTag(amap->am_anon[2]) != 12 ||
             !AmapConsistent(amap)))
          s = absl::InternalError("extend lost the anon added meanwhile");
        amap_unref(amap, 0, 8, true);
        return s;
      });
  EXPECT_FALSE(r.failed) << r.failure;
  EXPECT_GT(window_hits, 0) << "no schedule ran the other LWP in the window";
}

// --- amap_swap_off -----------------------------------------------------------

// Pages an anon out with the page daemon's own routine: its bytes go to
// a swap slot and its page is freed.
int SwapOut(vm_anon* anon) {
  mutex_enter(&anon->an_lock);
  EXPECT_EQ(uvm_pageout_anon(anon), 0);
  const int slot = anon->an_swslot;
  mutex_exit(&anon->an_lock);
  EXPECT_GT(slot, 0);
  return slot;
}

TEST_F(SchedAmapTest, SwapOff_AmapLocked_RetriesAfterPreempt) {
  vm_amap* a = amap_alloc(2 * kPage, 0, 0);
  vm_aref aref{0, a};
  vm_anon* anon = AddAnon(&aref, 1, 7);
  const int slot = SwapOut(anon);
  bool rv = true;
  Scheduler sched;
  const int holder = sched.Spawn("holder", [&] {
    amap_lock(a);
    preempt();  // swapoff runs, finds the amap locked, preempts back
    amap_unlock(a);
  });
  const int swapoff =
      sched.Spawn("swapoff", [&] { rv = amap_swap_off(slot, slot + 1); });
  ASSERT_TRUE(sched.Run().ok());
  EXPECT_FALSE(rv);
  bool retried = false;
  for (const Decision& d : sched.Decisions())
    if (d.kind == Decision::Kind::kPreempt && d.runnable.front() == swapoff) {
      retried = true;
      EXPECT_EQ(d.lid, holder);
    }
  EXPECT_TRUE(retried) << sched.DecisionLog();
  EXPECT_EQ(anon->an_swslot, 0);
  EXPECT_EQ(AnonTag(anon), 7);
  amap_unref(a, 0, 2, true);
}

// What one schedule of the swap-off race reached.
struct RacePaths {
  bool lock_try_failed = false;  // swapoff preempted at amap_lock_try
  bool unref_freed = false;      // the unref's amap_wipeout finished
  bool marker_skip = false;      // both: the amap went while swapoff
                                 // waited, the marker walk skipped it
  bool swapoff_wiped = false;    // amap_wipeout deferred (AMAP_SWAPOFF)
                                 // and done by swapoff
};

// Three amaps with swapped-out anons; swapoff of every slot races an
// unref that drops the last reference to the middle amap.  Checks every
// byte and slot; returns the paths taken via *paths.
absl::Status SwapOffRace(Scheduler& sched, RacePaths* paths) {
  Trace::Clear();
  vm_amap* am[3];
  std::vector<vm_anon*> anons[3];
  int lo = 1 << 30, hi = 0;
  for (int i = 0; i < 3; i++) {
    am[i] = amap_alloc(2 * kPage, 0, 0);
    vm_aref aref{0, am[i]};
    for (int s = 0; s < 2; s++) {
      vm_anon* anon = AddAnon(&aref, s, static_cast<unsigned char>(10 * i + s));
      const int slot = SwapOut(anon);
      lo = std::min(lo, slot);
      hi = std::max(hi, slot + 1);
      anons[i].push_back(anon);
    }
  }
  bool rv = true;
  const int swapoff =
      sched.Spawn("swapoff", [&] { rv = amap_swap_off(lo, hi); });
  const int unref =
      sched.Spawn("unref", [&] { amap_unref(am[1], 0, 2, true); });
  absl::Status s = sched.Run();
  paths->lock_try_failed = false;
  for (const Decision& d : sched.Decisions())
    if (d.kind == Decision::Kind::kPreempt && d.runnable.front() == swapoff)
      paths->lock_try_failed = true;
  paths->unref_freed = Traced("amap_wipeout", unref, "<- done!");
  paths->marker_skip = paths->lock_try_failed && paths->unref_freed;
  paths->swapoff_wiped = Traced("amap_wipeout", swapoff, "<- done!");
  std::string bad;
  if (rv) bad += "amap_swap_off failed; ";
  if (paths->unref_freed == paths->swapoff_wiped)
    bad += "the amap was not freed exactly once; ";
  if (amap_list_count() != 2) bad += "amap count; ";
  for (int i : {0, 2}) {
    for (size_t k = 0; k < anons[i].size(); k++) {
      vm_anon* anon = anons[i][k];
      if (anon->an_swslot != 0 || anon->an_page == nullptr ||
          AnonTag(anon) != 10 * i + static_cast<int>(k))
        bad += "anon not paged in intact; ";
    }
    if (am[i]->am_flags & AMAP_SWAPOFF) bad += "AMAP_SWAPOFF left set; ";
    if (!AmapConsistent(am[i])) bad += "amap inconsistent; ";
    amap_unref(am[i], 0, 2, true);
  }
  if (uvm_swap_inuse() != 0) bad += "swap slots leaked; ";
  if (s.ok() && !bad.empty()) s = absl::InternalError(bad);
  return s;
}

struct PathCounts {
  int lock_try_failed = 0, marker_skip = 0, swapoff_wiped = 0, runs = 0;
  void Add(const RacePaths& p) {
    lock_try_failed += p.lock_try_failed;
    marker_skip += p.marker_skip;
    swapoff_wiped += p.swapoff_wiped;
    runs++;
  }
};

TEST_F(SchedAmapTest, SwapOffRace_Dfs_EverySchedulePagesInEverything) {
  PathCounts counts;
  const auto start = std::chrono::steady_clock::now();
  const ExploreResult r = Explore(
      {.policy = SchedPolicy::kDfs, .max_runs = 20000, .preemption_bound = 2},
      [&](Scheduler& sched) {
        RacePaths p;
        absl::Status s = SwapOffRace(sched, &p);
        counts.Add(p);
        return s;
      });
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  EXPECT_FALSE(r.failed) << r.failure;
  EXPECT_TRUE(r.exhausted);
  std::printf(
      "swap-off race, DFS preemption bound 2: %llu schedules "
      "(%.0f/s, up to %llu switch points); lock_try retry in %d, "
      "marker skip in %d, wipeout by swapoff in %d\n",
      static_cast<unsigned long long>(r.runs), r.runs / secs,
      static_cast<unsigned long long>(r.max_steps), counts.lock_try_failed,
      counts.marker_skip, counts.swapoff_wiped);
  EXPECT_GT(counts.lock_try_failed, 0);
  EXPECT_GT(counts.marker_skip, 0);
  EXPECT_GT(counts.swapoff_wiped, 0);
}

TEST_F(SchedAmapTest, SwapOffRace_Pct_EverySchedulePagesInEverything) {
  PathCounts counts;
  const ExploreResult r = Explore({.policy = SchedPolicy::kPct,
                                   .seed = 100,
                                   .max_runs = 300,
                                   .pct_depth = 3},
                                  [&](Scheduler& sched) {
                                    RacePaths p;
                                    absl::Status s = SwapOffRace(sched, &p);
                                    counts.Add(p);
                                    return s;
                                  });
  EXPECT_FALSE(r.failed) << r.failure;
  EXPECT_EQ(r.runs, 300u);
  EXPECT_GT(counts.marker_skip, 0);
  EXPECT_GT(counts.swapoff_wiped, 0);
}

}  // namespace
}  // namespace uvmemu::testing
