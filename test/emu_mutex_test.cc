// Unit tests of kernel mutexes (emu/mutex.cc) and of the single-LWP
// machine (emu/lwp.cc, emu/sched_single.cc).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/kernel.h>
#include <sys/lwp.h>
#include <sys/mutex.h>

#include <cstring>
#include <string>

#include "emu/sched_hooks.h"
#include "test/panic_message.h"
#include "uvmemu/panic.h"

namespace {

using uvmemu::testing::PanicMessage;

class Mutex : public testing::Test {
 protected:
  void SetUp() override {
    saved_ = curlwp;
    ASSERT_EQ(curlwp, uvmemu::sched::Lwp0());
    nlocks_ = curlwp->l_nlocks;
    other_.l_cpu = curcpu();
    other_.l_lid = 2;
    other_.l_name = "other";
    mutex_init(&mtx_, MUTEX_DEFAULT, IPL_NONE);
  }
  void TearDown() override {
    curlwp = saved_;
    EXPECT_EQ(curlwp->l_nlocks, nlocks_) << "lock count not restored";
  }

  struct lwp* saved_ = nullptr;
  int nlocks_ = 0;
  struct lwp other_ = {};
  kmutex_t mtx_;
};

TEST_F(Mutex, EnterExit_TracksOwnerAndLockCount) {
  EXPECT_EQ(mutex_owner(&mtx_), nullptr);
  mutex_enter(&mtx_);
  EXPECT_EQ(mutex_owner(&mtx_), curlwp);
  EXPECT_EQ(curlwp->l_nlocks, nlocks_ + 1);
  mutex_exit(&mtx_);
  EXPECT_EQ(mutex_owner(&mtx_), nullptr);
  EXPECT_EQ(curlwp->l_nlocks, nlocks_);
  mutex_destroy(&mtx_);
}

TEST_F(Mutex, EnterTwice_Panics) {
  mutex_enter(&mtx_);
  const std::string msg = PanicMessage([&] { mutex_enter(&mtx_); });
  EXPECT_EQ(msg.rfind("mutex_enter: locking against myself", 0), 0u) << msg;
  EXPECT_EQ(curlwp->l_nlocks, nlocks_ + 1);
  mutex_exit(&mtx_);
}

TEST(MutexDeathTest, EnterTwice_Aborts) {
  testing::GTEST_FLAG(death_test_style) = "threadsafe";
  EXPECT_DEATH(
      {
        kmutex_t m;
        mutex_init(&m, MUTEX_DEFAULT, IPL_NONE);
        mutex_enter(&m);
        mutex_enter(&m);
      },
      "panic: mutex_enter: locking against myself.*\n"
      "lwp 1 \\(lwp0\\), 1 mutex held");
}

TEST_F(Mutex, ExitByNonOwner_Panics) {
  curlwp = &other_;
  mutex_enter(&mtx_);
  EXPECT_EQ(other_.l_nlocks, 1);
  curlwp = saved_;
  std::string msg = PanicMessage([&] { mutex_exit(&mtx_); });
  EXPECT_EQ(msg.rfind("mutex_exit: not owner", 0), 0u) << msg;
  EXPECT_NE(msg.find("held by LWP 2, exit by LWP 1"), std::string::npos) << msg;
  curlwp = &other_;
  mutex_exit(&mtx_);
  curlwp = saved_;
  msg = PanicMessage([&] { mutex_exit(&mtx_); });
  EXPECT_EQ(msg.rfind("mutex_exit: not owner", 0), 0u) << msg;
  EXPECT_NE(msg.find("is not held"), std::string::npos) << msg;
}

TEST_F(Mutex, TryEnterWhenHeld_Fails) {
  EXPECT_EQ(mutex_tryenter(&mtx_), 1);
  EXPECT_EQ(curlwp->l_nlocks, nlocks_ + 1);
  EXPECT_EQ(mutex_tryenter(&mtx_), 0);  // held by me
  curlwp = &other_;
  EXPECT_EQ(mutex_tryenter(&mtx_), 0);  // held by another
  EXPECT_EQ(other_.l_nlocks, 0);
  curlwp = saved_;
  mutex_exit(&mtx_);
  curlwp = &other_;
  EXPECT_EQ(mutex_tryenter(&mtx_), 1);
  mutex_exit(&mtx_);
}

TEST_F(Mutex, Owned_TrueOnlyForOwner) {
  EXPECT_FALSE(mutex_owned(&mtx_));
  mutex_enter(&mtx_);
  EXPECT_TRUE(mutex_owned(&mtx_));
  curlwp = &other_;
  EXPECT_FALSE(mutex_owned(&mtx_));
  curlwp = saved_;
  mutex_exit(&mtx_);
  EXPECT_FALSE(mutex_owned(&mtx_));
}

TEST_F(Mutex, EnterHeldByAnotherLwp_ReportsDeadlock) {
  curlwp = &other_;
  mutex_enter(&mtx_);
  curlwp = saved_;
  const std::string msg = PanicMessage([&] { mutex_enter(&mtx_); });
  EXPECT_THAT(msg, testing::MatchesRegex("deadlock: mutex 0x[0-9a-f]+ held by "
                                         "LWP 2, no other LWP can run"));
  EXPECT_EQ(mutex_owner(&mtx_), &other_);
  curlwp = &other_;
  mutex_exit(&mtx_);
}

TEST_F(Mutex, DestroyHeld_Panics) {
  mutex_enter(&mtx_);
  const std::string msg = PanicMessage([&] { mutex_destroy(&mtx_); });
  EXPECT_EQ(msg.rfind("mutex_destroy: mutex", 0), 0u) << msg;
  EXPECT_NE(msg.find("is held by LWP 1"), std::string::npos) << msg;
  mutex_exit(&mtx_);
  mutex_destroy(&mtx_);
}

TEST_F(Mutex, UninitialisedOrDestroyed_Panics) {
  kmutex_t junk;
  std::memset(&junk, 0xa5, sizeof junk);  // as fresh kmem_alloc memory
  std::string msg = PanicMessage([&] { mutex_enter(&junk); });
  EXPECT_EQ(msg.rfind("mutex_enter: mutex", 0), 0u) << msg;
  EXPECT_NE(msg.find("not initialised"), std::string::npos) << msg;

  mutex_destroy(&mtx_);
  msg = PanicMessage([&] { mutex_enter(&mtx_); });
  EXPECT_NE(msg.find("not initialised"), std::string::npos) << msg;
  msg = PanicMessage([&] { (void)mutex_owned(&mtx_); });
  EXPECT_NE(msg.find("mutex_owned"), std::string::npos) << msg;
  msg = PanicMessage([&] { mutex_destroy(&mtx_); });
  EXPECT_NE(msg.find("mutex_destroy"), std::string::npos) << msg;
  EXPECT_EQ(curlwp->l_nlocks, nlocks_);
}

TEST_F(Mutex, InitAgain_Reinitialises) {
  mutex_init(&mtx_, MUTEX_DEFAULT, IPL_VM);  // e.g. a global at each boot
  EXPECT_EQ(mtx_.mtx_ipl, IPL_VM);
  mutex_enter(&mtx_);
  mutex_exit(&mtx_);
}

// ---- the single CPU and lwp0 ----

TEST(Lwp, Curlwp_IsLwp0OnCpu0) {
  ASSERT_NE(curlwp, nullptr);
  EXPECT_EQ(curlwp, uvmemu::sched::Lwp0());
  EXPECT_EQ(curlwp->l_lid, 1);
  EXPECT_STREQ(curlwp->l_name, "lwp0");
  EXPECT_EQ(curcpu()->ci_index, 0);
  EXPECT_EQ(hz, 100);
}

TEST(Lwp, Preempt_CountsAndClearsShouldYield) {
  const uint64_t before = uvmemu::sched::PreemptCount();
  uvmemu::sched::SetShouldYield(true);
  EXPECT_TRUE(curcpu()->ci_schedstate.spc_flags & SPCF_SHOULDYIELD);
  preempt();
  EXPECT_EQ(uvmemu::sched::PreemptCount(), before + 1);
  EXPECT_FALSE(curcpu()->ci_schedstate.spc_flags & SPCF_SHOULDYIELD);
  preempt();
  EXPECT_EQ(uvmemu::sched::PreemptCount(), before + 2);
}

TEST(Lwp, StickyShouldYield_SurvivesPreempt) {
  uvmemu::sched::SetShouldYield(true, /*sticky=*/true);
  preempt();
  preempt();
  EXPECT_TRUE(curcpu()->ci_schedstate.spc_flags & SPCF_SHOULDYIELD);
  uvmemu::sched::SetShouldYield(false);
  EXPECT_FALSE(curcpu()->ci_schedstate.spc_flags & SPCF_SHOULDYIELD);
  uvmemu::sched::SetShouldYield(true);
  preempt();
  EXPECT_FALSE(curcpu()->ci_schedstate.spc_flags & SPCF_SHOULDYIELD);
}

}  // namespace
