// Unit tests of the UVMHIST ring and trace formatting (emu/hist.cc).
#include <gtest/gtest.h>
#include <sys/lwp.h>

#include <cstdint>
#include <sstream>
#include <string>

#ifndef UVMHIST
#define UVMHIST  // the kernel option, as lib/opt_uvmhist.h sets it
#endif
#include <uvm/uvm_stat.h>

#include "uvmemu/trace.h"

namespace {

using uvmemu::Trace;
using uvmemu::TraceRecord;

class Hist : public testing::Test {
 protected:
  void SetUp() override {
    Trace::SetCapacity(4096);
    Trace::Enable(true);
  }
  void TearDown() override {
    Trace::SetCapacity(4096);
    Trace::Enable(true);
  }
};

std::string Fmt(const char* fmt, uint64_t a = 0, uint64_t b = 0, uint64_t c = 0,
                uint64_t d = 0) {
  TraceRecord r{7, 1, "maphist", "f", fmt, {a, b, c, d}};
  const std::string s = Trace::Format(r);
  const std::string prefix = "#7 lwp1 f: ";
  EXPECT_EQ(s.rfind(prefix, 0), 0u) << s;
  return s.substr(prefix.size());
}

TEST_F(Hist, Format_RendersNetBSDFormats) {
  // the seed's own formats
  EXPECT_EQ(Fmt("<- done, amap = 0x%x, sz=%d", 0x5555, 4096),
            "<- done, amap = 0x5555, sz=4096");
  EXPECT_EQ(Fmt(" (map=%p, entry=%p, flags=%d)", 0x7f0012345678, 0, 3),
            " (map=0x7f0012345678, entry=0x0, flags=3)");
  EXPECT_EQ(Fmt("called!"), "called!");
  // signed values arrive sign-extended by uvmhist_arg
  EXPECT_EQ(Fmt("ref=%d slot=%i", uvmhist_arg(-1), uvmhist_arg(-42)),
            "ref=-1 slot=-42");
  EXPECT_EQ(Fmt("%u %ld %lx %llu", 7, uvmhist_arg(-5L), 0xabc, 9),
            "7 -5 abc 9");
  EXPECT_EQ(Fmt("%X %#x %#o %o", 0xbeef, 0x10, 8, 8), "BEEF 0x10 010 10");
  // flags, width, precision, '*'
  EXPECT_EQ(Fmt("[%5d][%-5d][%05d][%+d]", 42, 42, 42, 42),
            "[   42][42   ][00042][+42]");
  EXPECT_EQ(Fmt("[% d][%+u][% x]", 42, 42, 42), "[ 42][42][2a]");
  EXPECT_EQ(Fmt("[%08x][%.3d][%*d]", 0xab, 7, 4, 9), "[000000ab][007][   9]");
  EXPECT_EQ(Fmt("[%-*d]", uvmhist_arg(-4), 1), "[1   ]");
  // %s: arguments are integers, so the value in hex
  EXPECT_EQ(Fmt("name=%s", 0x401000), "name=0x401000");
  EXPECT_EQ(Fmt("c=%c%c", 'A', 7), "c=A0x7");
  // %% and unknown conversions
  EXPECT_EQ(Fmt("100%% of %d", 3), "100% of 3");
  EXPECT_EQ(Fmt("%y|%d", 0x20, 5), "0x20|5");
  EXPECT_EQ(Fmt("%d %d %d %d %d", 1, 2, 3, 4), "1 2 3 4 <?>");
  EXPECT_EQ(Fmt("trailing %", 1), "trailing %");
  EXPECT_EQ(Fmt("trailing %-0l", 1), "trailing %-0l");
  // absurd widths are clamped
  EXPECT_EQ(Fmt("%999999999d", 1).size(), 64u);
  EXPECT_EQ(Fmt("%n|%hhn", 1, 2), "0x1|0x2");  // never printf's %n
}

TEST_F(Hist, Format_NullFormatIsEmpty) {
  TraceRecord r{1, 1, "maphist", "f", nullptr, {0, 0, 0, 0}};
  EXPECT_EQ(Trace::Format(r), "#1 lwp1 f: ");
}

TEST_F(Hist, Log_RecordsSeqLwpHistoryFunctionAndArgs) {
  uvmhist_log(&maphist, "amap_alloc", "<- done, amap = 0x%x, sz=%d", 0x5555,
              4096, 0, 0);
  uvmhist_log(&pdhist, "uvmpd_scan", "pages %d", 9, 0, 0, 0);
  const auto tail = Trace::Tail();
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[0].seq, 1u);
  EXPECT_EQ(tail[1].seq, 2u);
  EXPECT_EQ(tail[0].lwp, curlwp->l_lid);
  EXPECT_STREQ(tail[0].history, "maphist");
  EXPECT_STREQ(tail[1].history, "pdhist");
  EXPECT_STREQ(tail[0].function, "amap_alloc");
  EXPECT_EQ(tail[0].args[1], 4096u);
  EXPECT_EQ(Trace::Format(tail[0]),
            "#1 lwp1 amap_alloc: <- done, amap = 0x5555, sz=4096");
  std::ostringstream os;
  Trace::Print(os);
  EXPECT_EQ(os.str(),
            "#1 lwp1 amap_alloc: <- done, amap = 0x5555, sz=4096\n"
            "#2 lwp1 uvmpd_scan: pages 9\n");
}

TEST_F(Hist, Macros_LogThroughUvmhistLog) {
  UVMHIST_FUNC("hist_macro_test");
  UVMHIST_CALLED(maphist);
  int slot = -3;
  const void* amap = reinterpret_cast<const void*>(0xabc0);
  UVMHIST_LOG(maphist, "amap=%p slot=%d", amap, slot, 0, 0);
  const auto tail = Trace::Tail();
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(Trace::Format(tail[0]), "#1 lwp1 hist_macro_test: called!");
  EXPECT_EQ(Trace::Format(tail[1]),
            "#2 lwp1 hist_macro_test: amap=0xabc0 slot=-3");
}

TEST_F(Hist, Ring_KeepsNewestRecords) {
  Trace::SetCapacity(8);
  for (int i = 1; i <= 20; i++)
    uvmhist_log(&maphist, "ring", "i=%d", i, 0, 0, 0);
  auto tail = Trace::Tail();
  ASSERT_EQ(tail.size(), 8u);
  for (int k = 0; k < 8; k++) {
    EXPECT_EQ(tail[k].seq, 13u + k);
    EXPECT_EQ(tail[k].args[0], 13u + k);
  }
  tail = Trace::Tail(3);
  ASSERT_EQ(tail.size(), 3u);
  EXPECT_EQ(tail[0].seq, 18u);
  EXPECT_EQ(tail[2].seq, 20u);
  EXPECT_EQ(Trace::Tail(100).size(), 8u);
  std::ostringstream os;
  Trace::Print(os, 2);
  EXPECT_EQ(os.str(), "#19 lwp1 ring: i=19\n#20 lwp1 ring: i=20\n");
}

TEST_F(Hist, Ring_CapacityNotPowerOfTwo_KeepsExactlyThatMany) {
  // the buffer is rounded up to 8 records; only the newest 5 are kept
  Trace::SetCapacity(5);
  for (int i = 1; i <= 3; i++)
    uvmhist_log(&maphist, "ring", "i=%d", i, 0, 0, 0);
  ASSERT_EQ(Trace::Tail().size(), 3u);
  for (int i = 4; i <= 19; i++)
    uvmhist_log(&maphist, "ring", "i=%d", i, 0, 0, 0);
  const auto tail = Trace::Tail();
  ASSERT_EQ(tail.size(), 5u);
  for (int k = 0; k < 5; k++) {
    EXPECT_EQ(tail[k].seq, 15u + k);
    EXPECT_EQ(tail[k].args[0], 15u + k);
  }
}

TEST_F(Hist, Records_KeepEachCallSitesHistoryFunctionAndFormat) {
  UVMHIST_FUNC("site_test");
  for (int i = 0; i < 2; i++) {
    UVMHIST_LOG(maphist, "first %d", i, 0, 0, 0);
    UVMHIST_LOG(pdhist, "second %d", i, 0, 0, 0);
  }
  uvmhist_log(&pdhist, "direct", "third %d", 7, 0, 0, 0);
  uvmhist_log(&maphist, "direct", "third %d", 8, 0, 0, 0);
  const auto tail = Trace::Tail();
  ASSERT_EQ(tail.size(), 6u);
  EXPECT_STREQ(tail[2].history, "maphist");
  EXPECT_STREQ(tail[3].history, "pdhist");
  EXPECT_EQ(Trace::Format(tail[2]), "#3 lwp1 site_test: first 1");
  EXPECT_EQ(Trace::Format(tail[3]), "#4 lwp1 site_test: second 1");
  EXPECT_STREQ(tail[4].history, "pdhist");
  EXPECT_STREQ(tail[5].history, "maphist");
  EXPECT_EQ(Trace::Format(tail[5]), "#6 lwp1 direct: third 8");
}

TEST_F(Hist, Clear_EmptiesAndRestartsSequence) {
  uvmhist_log(&maphist, "x", "a", 0, 0, 0, 0);
  Trace::Clear();
  EXPECT_TRUE(Trace::Tail().empty());
  uvmhist_log(&maphist, "x", "b", 0, 0, 0, 0);
  ASSERT_EQ(Trace::Tail().size(), 1u);
  EXPECT_EQ(Trace::Tail()[0].seq, 1u);
}

TEST_F(Hist, Disabled_RecordsNothing) {
  Trace::Enable(false);
  EXPECT_FALSE(Trace::Enabled());
  EXPECT_FALSE(uvmhist_enabled);
  UVMHIST_FUNC("off");
  UVMHIST_LOG(maphist, "x %d", 1, 0, 0, 0);
  uvmhist_log(&maphist, "off", "direct", 0, 0, 0, 0);
  EXPECT_TRUE(Trace::Tail().empty());
  Trace::Enable(true);
  EXPECT_TRUE(Trace::Enabled());
}

TEST_F(Hist, ZeroCapacity_KeepsNothing) {
  Trace::SetCapacity(0);
  uvmhist_log(&maphist, "x", "a", 0, 0, 0, 0);
  EXPECT_TRUE(Trace::Tail().empty());
  std::ostringstream os;
  Trace::Print(os);
  EXPECT_EQ(os.str(), "");
}

}  // namespace
