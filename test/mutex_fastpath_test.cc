// The inline mutex path (sys/mutex.h): taken only while lwp0 runs alone
// outside a scheduling session, where no mutex operation can switch or
// block.  Everywhere else every mutex_enter/mutex_exit stays a switch
// point, and misuse still panics with the checked path's message.
#include <gtest/gtest.h>
#include <sys/lwp.h>
#include <sys/mutex.h>

#include <string>

#include "test/panic_message.h"
#include "test/test_mutex.h"
#include "uvmemu/machine.h"
#include "uvmemu/scheduler.h"

namespace uvmemu {
namespace {

using testing::TestMutex;

TEST(MutexFastPath, Lwp0AloneWithoutSession_IsOn) {
  EXPECT_EQ(uvmemu_mutex_fast, 1);
  TestMutex mtx;
  const int nlocks = curlwp->l_nlocks;
  mutex_enter(&mtx.m);
  EXPECT_TRUE(mutex_owned(&mtx.m));
  EXPECT_EQ(curlwp->l_nlocks, nlocks + 1);
  mutex_exit(&mtx.m);
  EXPECT_FALSE(mutex_owned(&mtx.m));
  EXPECT_EQ(curlwp->l_nlocks, nlocks);
}

TEST(MutexFastPath, SchedulerSession_OffAndEveryEnterExitIsASwitchPoint) {
  TestMutex mtx;
  {
    Scheduler sched;
    EXPECT_EQ(uvmemu_mutex_fast, 0);
    const uint64_t before = sched.Steps();
    mutex_enter(&mtx.m);
    mutex_exit(&mtx.m);
    EXPECT_EQ(sched.Steps(), before + 2);
    ASSERT_TRUE(sched.Run().ok());
  }
  EXPECT_EQ(uvmemu_mutex_fast, 1);
}

TEST(MutexFastPath, SpawnedLwpsEnterAMutexInTurn_EachEnterIsAChoice) {
  // Two LWPs, one mutex each enters once: with switch points at enter and
  // exit, the random policy sees a choice of two LWPs at the first one.
  TestMutex mtx;
  int entered = 0;
  Scheduler sched({.policy = SchedPolicy::kRandom, .seed = 3});
  for (const char* name : {"a", "b"}) {
    sched.Spawn(name, [&] {
      mutex_enter(&mtx.m);
      entered++;
      mutex_exit(&mtx.m);
    });
  }
  EXPECT_EQ(uvmemu_mutex_fast, 0);
  ASSERT_TRUE(sched.Run().ok());
  EXPECT_EQ(entered, 2);
  bool choice_at_enter = false;
  for (const Decision& d : sched.Decisions())
    if (d.kind == Decision::Kind::kEnter && d.runnable.size() == 2)
      choice_at_enter = true;
  EXPECT_TRUE(choice_at_enter) << sched.DecisionLog();
}

TEST(MutexFastPath, PageDaemonThreadAlive_IsOff) {
  {
    Machine machine({.physical_pages = 64, .pagedaemon_thread = true});
    EXPECT_EQ(uvmemu_mutex_fast, 0);
  }
  EXPECT_EQ(uvmemu_mutex_fast, 1);
}

TEST(MutexFastPath, NullMutex_PanicsWithMessage) {
  const std::string msg = testing::PanicMessage([] { mutex_enter(nullptr); });
  EXPECT_EQ(msg.rfind("mutex_enter: NULL mutex", 0), 0u) << msg;
}

void LockedBeforeTheSessionThenDeadlocked() {
  TestMutex mtx;
  mutex_enter(&mtx.m);  // on the inline path: not in lwp0's held list
  Scheduler sched;
  sched.Spawn("a", [&] { mutex_enter(&mtx.m); });
  (void)sched.Run();
}

TEST(MutexFastPathDeathTest, HeldSinceBeforeTheSession_CountedInTheReport) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(LockedBeforeTheSessionThenDeadlocked(),
               "LWP 1 \\(lwp0\\): sleeping on 0x[0-9a-f]+, wmesg \"lwpwait\"\n"
               "  holds: 1 mutex taken while lwp0 ran alone\n"
               "LWP 2 \\(a\\): waiting for a mutex 0x[0-9a-f]+ held by LWP 1\n"
               "  holds: nothing\n");
}

}  // namespace
}  // namespace uvmemu
