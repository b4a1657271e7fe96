// The scheduler on toy programs: mutex handoff, sleep/wakeup, deadlock
// reports, replay, PCT and DFS.
#include <gtest/gtest.h>
#include <sys/condvar.h>
#include <sys/proc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include "emu/sched_core.h"
#include "emu/sched_hooks.h"
#include "test/amap_fixture.h"
#include "test/test_mutex.h"
#include "uvmemu/scheduler.h"
#include "uvmemu/trace.h"

namespace uvmemu::testing {
namespace {

TEST(SchedBasic, MutexHandoff_BlockedLwpGetsMutexWhenOwnerExits) {
  TestMutex mtx;
  std::vector<std::string> events;
  Scheduler sched;
  const int a = sched.Spawn("a", [&] {
    mutex_enter(&mtx.m);
    events.push_back("a in");
    preempt();  // b runs and blocks on the mutex
    EXPECT_EQ(mtx.m.mtx_waiters, 1);
    events.push_back("a out");
    mutex_exit(&mtx.m);
  });
  const int b = sched.Spawn("b", [&] {
    mutex_enter(&mtx.m);
    EXPECT_EQ(mutex_owner(&mtx.m), curlwp);
    events.push_back("b in");
    mutex_exit(&mtx.m);
  });
  ASSERT_TRUE(sched.Run().ok());
  EXPECT_EQ(events, (std::vector<std::string>{"a in", "a out", "b in"}));
  EXPECT_EQ(a, 2);
  EXPECT_EQ(b, 3);
  EXPECT_EQ(curlwp, sched::Lwp0());
}

TEST(SchedBasic, CvWait_ReleasesInterlockAndWakesWithIt) {
  for (uint64_t seed = 1; seed <= 50; seed++) {
    SCOPED_TRACE(seed);
    TestMutex mtx;
    kcondvar_t cv;
    cv_init(&cv, "testcv");
    bool ready = false;
    int value = 0, got = 0;
    Scheduler sched({.policy = SchedPolicy::kRandom, .seed = seed});
    sched.Spawn("consumer", [&] {
      mutex_enter(&mtx.m);
      while (!ready) cv_wait(&cv, &mtx.m);
      EXPECT_TRUE(mutex_owned(&mtx.m));
      got = value;
      mutex_exit(&mtx.m);
    });
    sched.Spawn("producer", [&] {
      mutex_enter(&mtx.m);  // possible only if cv_wait released it
      value = 42;
      ready = true;
      cv_broadcast(&cv);
      mutex_exit(&mtx.m);
    });
    ASSERT_TRUE(sched.Run().ok());
    EXPECT_EQ(got, 42);
    EXPECT_FALSE(cv_has_waiters(&cv));
    cv_destroy(&cv);
  }
}

// A waiter checks a flag under a mutex and sleeps until it is set; the
// waker sets it and calls wakeup.  With the interlock handed to mtsleep
// no schedule loses the wakeup; checking, unlocking and then sleeping
// does lose it in some schedule (seen as the 10-tick timeout).
absl::Status WaitForFlag(Scheduler& sched, bool interlocked) {
  TestMutex mtx;
  bool flag = false;
  int error = 0;
  sched.Spawn("waiter", [&] {
    mutex_enter(&mtx.m);
    if (!flag) {
      if (interlocked) {
        error = mtsleep(&flag, PVM, "flag", 10, &mtx.m);
        mutex_exit(&mtx.m);
      } else {
        mutex_exit(&mtx.m);
        error = tsleep(&flag, PVM, "flag", 10);
      }
    } else {
      mutex_exit(&mtx.m);
    }
  });
  sched.Spawn("waker", [&] {
    mutex_enter(&mtx.m);
    flag = true;
    wakeup(&flag);
    mutex_exit(&mtx.m);
  });
  if (absl::Status s = sched.Run(); !s.ok()) return s;
  if (error == EWOULDBLOCK) return absl::InternalError("wakeup lost");
  return absl::OkStatus();
}

TEST(SchedBasic, Mtsleep_NoScheduleLosesTheWakeup) {
  const ExploreResult r = Explore(
      {.policy = SchedPolicy::kDfs, .max_runs = 10000, .preemption_bound = 10},
      [](Scheduler& s) { return WaitForFlag(s, true); });
  EXPECT_FALSE(r.failed) << r.failure;
  EXPECT_TRUE(r.exhausted);
  EXPECT_GT(r.runs, 2u);
}

TEST(SchedBasic, SleepAfterUnlock_SomeScheduleLosesTheWakeup) {
  const ExploreResult r =
      Explore({.policy = SchedPolicy::kDfs,
               .max_runs = 10000,
               .preemption_bound = 10,
               .print_failure = false},
              [](Scheduler& s) { return WaitForFlag(s, false); });
  EXPECT_TRUE(r.failed);
  EXPECT_EQ(r.failure, "wakeup lost");
}

TEST(SchedBasic, Kpause_VirtualClockAdvancesOnlyWhenIdle) {
  std::vector<std::string> events;
  Scheduler sched;
  sched.Spawn("slow", [&] {
    EXPECT_EQ(kpause("slow", false, 30, nullptr), 0);
    events.push_back("slow");
  });
  sched.Spawn("fast", [&] {
    EXPECT_EQ(kpause("fast", false, 10, nullptr), 0);
    events.push_back("fast");
  });
  ASSERT_TRUE(sched.Run().ok());
  EXPECT_EQ(events, (std::vector<std::string>{"fast", "slow"}));
}

void CrossedLocks() {
  TestMutex m1, m2;
  Scheduler sched;
  sched.Spawn("a", [&] {
    mutex_enter(&m1.m);
    preempt();
    mutex_enter(&m2.m);
  });
  sched.Spawn("b", [&] {
    mutex_enter(&m2.m);
    preempt();
    mutex_enter(&m1.m);
  });
  (void)sched.Run();
}

TEST(SchedBasicDeathTest, CrossedLocks_ReportsEveryLwpThenPanics) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(CrossedLocks(),
               "deadlock: mutex 0x[0-9a-f]+ held by LWP 2, no other LWP "
               "can run\n"
               "--- LWPs at virtual tick 0 ---\n"
               "LWP 1 \\(lwp0\\): sleeping on 0x[0-9a-f]+, wmesg \"lwpwait\"\n"
               "  holds: nothing\n"
               "LWP 2 \\(a\\): waiting for a mutex 0x[0-9a-f]+ held by LWP 3\n"
               "  holds: mutex 0x[0-9a-f]+ \\(1 waiting\\)\n"
               "LWP 3 \\(b\\): waiting for a mutex 0x[0-9a-f]+ held by LWP 2\n"
               "  holds: mutex 0x[0-9a-f]+ \\(1 waiting\\)\n"
               "(.|\n)*panic: deadlock(.|\n)*replay with UVMEMU_REPLAY=");
}

TEST(SchedBasicDeathTest, SleepNobodyWakes_ReportsDeadlock) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Scheduler sched;
        int chan = 0;
        sched.Spawn("sleeper", [&] { tsleep(&chan, PVM, "forever", 0); });
        (void)sched.Run();
      },
      "deadlock: forever: LWP 2 sleeping on 0x[0-9a-f]+, no other LWP can "
      "run");
}

// Three LWPs taking turns on two mutexes, logging what they see.
struct Toy {
  std::vector<int> events;
  absl::Status Body(Scheduler& sched, bool extra_step = false,
                    bool last_round = true) {
    TestMutex a, b;
    for (int id = 0; id < 3; id++) {
      sched.Spawn("t" + std::to_string(id), [&, id] {
        if (extra_step && id == 0) preempt();
        for (int i = 0; i < 3; i++) {
          kmutex_t* m = (i + id) % 2 ? &a.m : &b.m;
          mutex_enter(m);
          events.push_back(id * 10 + i);
          mutex_exit(m);
        }
      });
    }
    return last_round ? sched.Run() : sched.RunRound();
  }
};

TEST(SchedReplay, ReplayString_ReproducesTheRun) {
  Toy first;
  std::string replay;
  {
    Scheduler sched(
        {.policy = SchedPolicy::kRandom, .seed = 11, .replay_from_env = false});
    ASSERT_TRUE(first.Body(sched).ok());
    replay = sched.ReplayString();
    EXPECT_GT(sched.Decisions().size(), 3u);
  }
  EXPECT_EQ(replay.rfind("uvmemu1:", 0), 0u) << replay;
  Toy fifo;
  {
    Scheduler sched({.replay_from_env = false});
    ASSERT_TRUE(fifo.Body(sched).ok());
  }
  ASSERT_NE(fifo.events, first.events) << "seed 11 should not be FIFO";
  Toy again;
  {
    Scheduler sched({.policy = SchedPolicy::kFifo, .replay = replay});
    ASSERT_TRUE(again.Body(sched).ok());
    EXPECT_EQ(sched.ReplayString(), replay);
  }
  EXPECT_EQ(again.events, first.events);
}

// A session of two rounds (as the differential harness runs processes'
// operations): one replay string covers both; RunRound() leaves the
// second round's tokens for it, and Run() at the end reports tokens left.
TEST(SchedReplay, Rounds_OneReplayStringCoversEveryRound) {
  Toy first1, first2;
  std::string replay;
  {
    Scheduler sched(
        {.policy = SchedPolicy::kRandom, .seed = 11, .replay_from_env = false});
    ASSERT_TRUE(first1.Body(sched, false, /*last_round=*/false).ok());
    const size_t round1 = sched.Decisions().size();
    ASSERT_TRUE(first2.Body(sched).ok());
    EXPECT_GT(round1, 0u);
    EXPECT_GT(sched.Decisions().size(), round1);
    replay = sched.ReplayString();
  }
  Toy again1, again2;
  {
    Scheduler sched({.replay = replay});
    ASSERT_TRUE(again1.Body(sched, false, /*last_round=*/false).ok());
    ASSERT_TRUE(again2.Body(sched).ok());
    EXPECT_EQ(sched.ReplayString(), replay);
  }
  EXPECT_EQ(again1.events, first1.events);
  EXPECT_EQ(again2.events, first2.events);
  Toy only;
  Scheduler sched({.replay = replay});
  const absl::Status s = only.Body(sched);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("the run ended but the replay goes on"),
            std::string::npos)
      << s.message();
}

// A kernel thread woken by a round's LWP may not have run when the round
// ends (Run waits only for the session's LWPs); Settle() lets it finish
// its work and go back to sleep before lwp0 looks.
TEST(SchedBasic, Settle_KernelThreadWokenInARoundDoneBeforeLwp0Looks) {
  int chan = 0;
  size_t done = 0;
  Scheduler sched(
      {.policy = SchedPolicy::kRandom, .seed = 3, .replay_from_env = false});
  const int worker = sched::SpawnKernelThread("worker", [&] {
    for (;;) {
      tsleep(&chan, 0, "idle", 0);
      if (sched::StopRequested()) return;
      for (int i = 0; i < 3; i++) preempt();
      done++;
    }
  });
  sched.Settle();  // asleep, so that no wakeup is lost
  size_t missed = 0;
  for (size_t round = 1; round <= 20; round++) {
    sched.Spawn("waker", [&] { wakeup(&chan); });
    ASSERT_TRUE(sched.RunRound().ok());
    missed += done < round;  // the worker had not finished yet
    sched.Settle();
    EXPECT_EQ(done, round);
  }
  EXPECT_GT(missed, 0u) << "the test needs rounds the worker outlives";
  sched::StopKernelThread(worker);
  EXPECT_TRUE(sched.Run().ok());
}

TEST(SchedReplay, EnvironmentVariable_ExploreRunsOnlyThatSchedule) {
  Toy first;
  std::string replay;
  {
    Scheduler sched(
        {.policy = SchedPolicy::kRandom, .seed = 3, .replay_from_env = false});
    ASSERT_TRUE(first.Body(sched).ok());
    replay = sched.ReplayString();
  }
  ASSERT_EQ(setenv("UVMEMU_REPLAY", replay.c_str(), 1), 0);
  Toy again;
  const ExploreResult r = Explore(
      {.policy = SchedPolicy::kRandom, .seed = 1000}, [&](Scheduler& s) {
        again.events.clear();
        return again.Body(s);
      });
  unsetenv("UVMEMU_REPLAY");
  EXPECT_EQ(r.runs, 1u);
  EXPECT_FALSE(r.failed) << r.failure;
  EXPECT_EQ(again.events, first.events);
}

TEST(SchedReplay, ChangedProgram_ReportsTheDivergingStep) {
  std::string replay;
  uint64_t steps = 0;
  {
    Toy toy;
    Scheduler sched(
        {.policy = SchedPolicy::kRandom, .seed = 5, .replay_from_env = false});
    ASSERT_TRUE(toy.Body(sched).ok());
    replay = sched.ReplayString();
    steps = sched.Steps();
  }
  Toy changed;
  Scheduler sched({.replay = replay});
  const absl::Status s = changed.Body(sched, /*extra_step=*/true);
  SCOPED_TRACE(replay);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("replay diverged at step "), std::string::npos)
      << s.message();
  EXPECT_EQ(sched.Divergence(), s.message());
  // the run still finished (under FIFO), every LWP ran to the end
  EXPECT_EQ(changed.events.size(), 9u);
  EXPECT_GE(sched.Steps(), steps);
}

TEST(SchedReplay, MalformedString_IsAnError) {
  Toy toy;
  Scheduler sched({.replay = "uvmemu1:3q2"});
  const absl::Status s = toy.Body(sched);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("bad replay token \"3q2\""), std::string::npos)
      << s.message();
}

// Two LWPs allocating pages under a random failure plan: which
// allocations failed is part of the decision log, and a replay without
// the plan fails the same ones.
std::string AllocationPattern(Scheduler& sched) {
  std::string pattern;
  for (int id = 0; id < 2; id++) {
    sched.Spawn("alloc", [&, id] {
      for (int i = 0; i < 6; i++) {
        vm_page* pg = uvm_pagealloc(nullptr, 0, nullptr, 0);
        pattern += pg != nullptr ? static_cast<char>('a' + id) : '-';
        if (pg != nullptr) uvm_pagefree(pg);
      }
    });
  }
  EXPECT_TRUE(sched.Run().ok());
  return pattern;
}

TEST(SchedReplay, InjectedFailures_AreLoggedAndReplayed) {
  Kernel kernel({.physical_pages = 16});
  std::string pattern, replay;
  {
    FailurePlan plan;
    plan.probability = 0.4;
    plan.seed = 9;
    ScopedFailurePlan scoped(plan);
    Scheduler sched(
        {.policy = SchedPolicy::kRandom, .seed = 2, .replay_from_env = false});
    pattern = AllocationPattern(sched);
    replay = sched.ReplayString();
    int failures = 0;
    for (const Decision& d : sched.Decisions())
      failures += d.kind == Decision::Kind::kFailure;
    EXPECT_EQ(failures, static_cast<int>(
                            std::count(pattern.begin(), pattern.end(), '-')));
    EXPECT_NE(sched.DecisionLog().find("injected failure"), std::string::npos);
  }
  ASSERT_NE(pattern.find('-'), std::string::npos) << pattern;
  ASSERT_NE(replay.find(".F"), std::string::npos) << replay;
  Scheduler again({.replay = replay});  // no failure plan now
  EXPECT_EQ(AllocationPattern(again), pattern);
  EXPECT_TRUE(again.Divergence().empty()) << again.Divergence();
}

// The planted bug: b must run between a's two critical sections (two
// ordering constraints: depth 2).
absl::Status DepthTwo(Scheduler& sched) {
  TestMutex mtx;
  int state = 0;
  bool bug = false;
  sched.Spawn("a", [&] {
    mutex_enter(&mtx.m);
    state = 1;
    mutex_exit(&mtx.m);
    mutex_enter(&mtx.m);
    state = 2;
    mutex_exit(&mtx.m);
  });
  sched.Spawn("b", [&] {
    mutex_enter(&mtx.m);
    if (state == 1) bug = true;
    mutex_exit(&mtx.m);
  });
  if (absl::Status s = sched.Run(); !s.ok()) return s;
  return bug ? absl::InternalError("b saw the half-done state")
             : absl::OkStatus();
}

TEST(SchedPct, DepthTwo_FindsPlantedBugAndReplaysIt) {
  const ExploreResult d1 = Explore(
      {.policy = SchedPolicy::kPct, .max_runs = 200, .pct_depth = 1}, DepthTwo);
  EXPECT_FALSE(d1.failed) << "depth 1 cannot find a depth-2 bug";
  const ExploreResult d2 = Explore({.policy = SchedPolicy::kPct,
                                    .max_runs = 200,
                                    .pct_depth = 2,
                                    .print_failure = false},
                                   DepthTwo);
  ASSERT_TRUE(d2.failed);
  EXPECT_EQ(d2.failure, "b saw the half-done state");
  Scheduler replay({.replay = d2.replay});
  EXPECT_EQ(DepthTwo(replay).message(), "b saw the half-done state");
}

// PCT counts every switch point as a step: a change point where the LWP
// runs alone (no choice to make) still drops its priority, which then
// decides once another LWP can run.  Steps: 1 is lwp0 going to sleep in
// Run(), 2..9 the LWP's four mutex_enter/mutex_exit pairs.
TEST(SchedPct, ChangePointWhileAlone_DropsThePriority) {
  int dropped = 0;
  for (uint64_t seed = 1; seed <= 20; seed++) {
    TestMutex m;
    int64_t before = 0, after = 0;
    {
      Scheduler sched({.policy = SchedPolicy::kPct,
                       .seed = seed,
                       .pct_depth = 2,
                       .pct_steps = 12,
                       .replay_from_env = false});
      sched.Spawn("alone", [&] {
        before = sched::internal::Current()->priority;
        for (int i = 0; i < 4; i++) {
          mutex_enter(&m.m);
          mutex_exit(&m.m);
        }
        after = sched::internal::Current()->priority;
      });
      ASSERT_TRUE(sched.Run().ok());
    }
    // The policy's one change point (emu/sched_policy.cc).
    uint64_t state = seed;
    const uint64_t change = 1 + sched::internal::SplitMix64(state) % 12;
    EXPECT_GT(before, 2);
    if (change >= 2 && change <= 9) {
      EXPECT_EQ(after, 1) << "seed " << seed << ", change point " << change;
      dropped++;
    } else {
      EXPECT_EQ(after, before)
          << "seed " << seed << ", change point " << change;
    }
  }
  EXPECT_GT(dropped, 5);
}

// Two LWPs, each with two critical sections on its own mutex: 5 blocks
// each, split at the two mutex_enters and two mutex_exits.  Interleavings
// of 5 + 5 blocks: C(10,5) = 252.  A switch away from an LWP that could
// go on is a preemption, and every switch but the one after the first
// LWP's last block is one: with at most one preemption, the strings of
// at most 3 runs: AAAAABBBBB, BBBBBAAAAA and 4 + 4 with a block split in
// two; with none 2.
absl::Status TwoByTwo(Scheduler& sched, std::vector<std::string>* orders) {
  TestMutex ma, mb;
  std::string order;
  for (int id = 0; id < 2; id++) {
    sched.Spawn(id == 0 ? "A" : "B", [&, id] {
      kmutex_t* m = id == 0 ? &ma.m : &mb.m;
      for (int i = 0; i < 2; i++) {
        order += static_cast<char>('A' + id);
        mutex_enter(m);
        order += static_cast<char>('a' + id);
        mutex_exit(m);
      }
      order += static_cast<char>('A' + id);
    });
  }
  if (absl::Status s = sched.Run(); !s.ok()) return s;
  orders->push_back(order);
  return absl::OkStatus();
}

TEST(SchedDfs, TwoByTwo_EnumeratesEveryInterleavingOnce) {
  for (const auto& [bound, want] :
       std::vector<std::pair<int, uint64_t>>{{0, 2}, {1, 10}, {8, 252}}) {
    SCOPED_TRACE(bound);
    std::vector<std::string> orders;
    const ExploreResult r =
        Explore({.policy = SchedPolicy::kDfs,
                 .max_runs = 1000,
                 .preemption_bound = bound},
                [&](Scheduler& s) { return TwoByTwo(s, &orders); });
    EXPECT_TRUE(r.exhausted);
    EXPECT_EQ(r.runs, want);
    std::sort(orders.begin(), orders.end());
    EXPECT_EQ(std::unique(orders.begin(), orders.end()), orders.end())
        << "a schedule was run twice";
    EXPECT_EQ(orders.size(), want);
  }
}

// A child process running a random schedule of amap work by three LWPs;
// it writes its trace and replay string to `fd`.
struct Child {
  pid_t pid;
  int fd;
};

Child StartChild(uint64_t seed) {
  int fds[2];
  if (pipe(fds) != 0) return {-1, -1};
  const pid_t pid = fork();
  if (pid != 0) {
    close(fds[1]);
    return {pid, fds[0]};
  }
  close(fds[0]);
  std::string out;
  {
    Kernel kernel({.physical_pages = 64});
    Trace::Clear();
    Scheduler sched({.policy = SchedPolicy::kRandom,
                     .seed = seed,
                     .yield = YieldPolicy::kExplorer,
                     .replay_from_env = false});
    for (int id = 0; id < 3; id++) {
      sched.Spawn("w", [id] {
        vm_amap* amap = amap_alloc(4 * kPage, 0, 0);
        vm_aref aref{0, amap};
        for (int s = 0; s < 3; s++) AddAnon(&aref, s, id);
        amap_unref(amap, 0, 4, true);
      });
    }
    (void)sched.Run();
    for (const TraceRecord& r : Trace::Tail()) out += Trace::Format(r) + "\n";
    out += sched.ReplayString();
  }
  const char* p = out.data();
  size_t left = out.size();
  while (left > 0) {
    const ssize_t n = write(fds[1], p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
  _exit(0);
}

std::string Collect(Child child) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(child.fd, buf, sizeof buf)) > 0) out.append(buf, n);
  close(child.fd);
  int status = 0;
  waitpid(child.pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "child failed";
  return out;
}

TEST(SchedDeterminism, SameSeed_ByteIdenticalTrace) {
  // All three start from the same parent state, so that heap addresses
  // (which the trace shows) match too.
  const Child children[3] = {StartChild(42), StartChild(42), StartChild(43)};
  const std::string a = Collect(children[0]);
  const std::string b = Collect(children[1]);
  const std::string c = Collect(children[2]);
  ASSERT_GT(a.size(), 1000u) << a;
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a.find("lwp4 "), std::string::npos) << "three LWPs traced";
}

}  // namespace
}  // namespace uvmemu::testing
