// Unit tests of panic() and KASSERT (emu/panic.cc).
#include <string>

#include <gtest/gtest.h>

#include <sys/systm.h>
#include <uvm/uvm_stat.h>

#include "uvmemu/panic.h"
#include "uvmemu/trace.h"

namespace {

using uvmemu::KernelPanic;
using uvmemu::ScopedPanicThrows;

TEST(Panic, ThrowMode_ThrowsTheFormattedMessage) {
  ScopedPanicThrows throws;
  try {
    panic("amap %p has %d slots", reinterpret_cast<void*>(0x1000), 7);
    FAIL() << "panic returned";
  } catch (const KernelPanic& e) {
    EXPECT_STREQ(e.what(), "amap 0x1000 has 7 slots");
  }
}

TEST(Panic, ThrowMode_LongMessageIsNotTruncated) {
  ScopedPanicThrows throws;
  const std::string big(1000, 'x');
  try {
    panic("%s|%s", big.c_str(), big.c_str());
  } catch (const KernelPanic& e) {
    EXPECT_EQ(std::string(e.what()), big + "|" + big);
  }
}

TEST(Panic, ThrowMode_KassertNamesExpressionFileLineFunction) {
  ScopedPanicThrows throws;
  int slots = 3;
  const int line = __LINE__ + 2;
  try {
    KASSERT(slots > 4);
    FAIL() << "KASSERT passed";
  } catch (const KernelPanic& e) {
    const std::string want = std::string("kernel diagnostic assertion "
                                         "\"slots > 4\" failed: file \"") +
                             __FILE__ + "\", line " + std::to_string(line) +
                             ", function TestBody";
    EXPECT_EQ(std::string(e.what()), want);
  }
  KASSERT(slots == 3);  // a passing KASSERT does nothing
}

TEST(Panic, ScopedPanicThrows_NestsAndRestores) {
  {
    ScopedPanicThrows outer;
    {
      ScopedPanicThrows inner;
      EXPECT_THROW(panic("inner"), KernelPanic);
    }
    EXPECT_THROW(panic("outer"), KernelPanic);
  }
  testing::GTEST_FLAG(death_test_style) = "threadsafe";
  EXPECT_DEATH(panic("after both scopes"), "panic: after both scopes");
}

TEST(PanicDeathTest, KassertFailure_PrintsExpressionLocationAndTrace) {
  testing::GTEST_FLAG(death_test_style) = "threadsafe";
  EXPECT_DEATH(
      {
        uvmemu::Trace::Clear();
        for (int i = 0; i < 20; i++)
          uvmhist_log(&maphist, "amap_test", "step %d of %d", i, 20, 0, 0);
        int am_nused = 5;
        KASSERT(am_nused == 0);
      },
      // the message, with expression, file, line and function
      "panic: kernel diagnostic assertion \"am_nused == 0\" failed: "
      "file \"[^\"]*emu_panic_test\\.cc\", line [0-9]+, function TestBody\n"
      "lwp 1 \\(lwp0\\), 0 mutexes held\n"
      // exactly the last 16 records, oldest first
      "--- last 16 UVMHIST records, oldest first ---\n"
      "#5 lwp1 amap_test: step 4 of 20\n"
      "(#[0-9]+ lwp1 amap_test: step [0-9]+ of 20\n)*"
      "#20 lwp1 amap_test: step 19 of 20\n"
      "--- host backtrace ---\n");
}

TEST(PanicDeathTest, EmptyTrace_SaysNone) {
  testing::GTEST_FLAG(death_test_style) = "threadsafe";
  EXPECT_DEATH(
      {
        uvmemu::Trace::Clear();
        panic("nothing logged");
      },
      "panic: nothing logged\n.*UVMHIST.*\n\\(none\\)\n--- host backtrace");
}

}  // namespace
