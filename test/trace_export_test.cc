// Trace::ChromeTraceJson and PointerNames (emu/trace_export.cc,
// emu/hist_format.cc).  tools/check-trace-json validates whole files
// from fork_cow in CTest (debug.fork_cow_trace_json_valid).
#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "uvm/uvm.h"
#include "uvmemu/machine.h"
#include "uvmemu/structure.h"
#include "uvmemu/trace.h"

namespace uvmemu {
namespace {

// Boots a machine, forks and writes (COW), and exports the trace.
std::string RunForkCowAndExport() {
  Machine machine({.physical_pages = 64});
  Process parent = *machine.Spawn();
  const uint64_t va = *parent.Mmap(2 * PAGE_SIZE, kReadWrite);
  EXPECT_TRUE(parent.Write(va, "p", 2).ok());
  Process child = *parent.Fork();
  EXPECT_TRUE(child.Write(va, "c", 2).ok());
  std::string json = Trace::ChromeTraceJson();
  EXPECT_TRUE(child.Exit().ok());
  EXPECT_TRUE(parent.Exit().ok());
  return json;
}

TEST(TraceExportTest, ChromeTraceJson_TwoIdenticalRuns_IdenticalText) {
  const std::string first = RunForkCowAndExport();
  const std::string second = RunForkCowAndExport();
  EXPECT_EQ(first, second);
  EXPECT_NE(
      first.find("\"name\":\"amap_copy\",\"cat\":\"maphist\",\"ph\":\"X\""),
      std::string::npos);
}

TEST(TraceExportTest, ChromeTraceJson_StablePointers_NoRawHostAddresses) {
  const std::string json = RunForkCowAndExport();
  EXPECT_NE(json.find("ptr#1"), std::string::npos);
  // host pointers are >= 1 TiB: 0x1xxxxxxxxxx has at least 11 hex digits
  for (size_t at = json.find("0x"); at != std::string::npos;
       at = json.find("0x", at + 2)) {
    size_t digits = 0;
    while (std::isxdigit(static_cast<unsigned char>(json[at + 2 + digits])))
      digits++;
    EXPECT_LT(digits, 11u) << json.substr(at, 40);
  }
}

TEST(TraceExportTest, ChromeTraceJson_RawPointers_ShowAddresses) {
  Machine machine({.physical_pages = 64});
  Process p = *machine.Spawn();
  const uint64_t va = *p.Mmap(PAGE_SIZE, kReadWrite);
  ASSERT_TRUE(p.Write(va, "x", 2).ok());
  const std::string json = Trace::ChromeTraceJson({.stable_pointers = false});
  EXPECT_EQ(json.find("ptr#"), std::string::npos);
  const uintptr_t vm = reinterpret_cast<uintptr_t>(p.vmspace());
  char hex[32];
  std::snprintf(hex, sizeof hex, "0x%lx", static_cast<unsigned long>(vm));
  EXPECT_NE(json.find(hex), std::string::npos) << hex;
}

TEST(TraceExportTest, ChromeTraceJson_NamesFromStructureText_SameNames) {
  Machine machine({.physical_pages = 64});
  Process p = *machine.Spawn();
  const uint64_t va = *p.Mmap(PAGE_SIZE, kReadWrite);
  ASSERT_TRUE(p.Write(va, "x", 2).ok());
  PointerNames names;
  StructureOptions structure;
  structure.names = &names;
  const std::vector<DumpedProcess> procs = {{"p", &p}};
  ASSERT_NE(StructureText(procs, structure).find("amap#1:"), std::string::npos);
  ChromeTraceOptions options;
  options.names = &names;
  const std::string json = Trace::ChromeTraceJson(options);
  EXPECT_NE(json.find("\"name\":\"<- done (amap=amap#1, offset=0x0, "
                      "anon=anon#1, rep=0)\""),
            std::string::npos)
      << json;
}

TEST(TraceExportTest, ChromeTraceJson_OneTrackPerLwp_Named) {
  Machine machine({.physical_pages = 16});
  Process p = *machine.Spawn();
  const std::string json = Trace::ChromeTraceJson();
  EXPECT_NE(json.find("{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,"
                      "\"tid\":1,\"args\":{\"name\":\"lwp 1\"}}"),
            std::string::npos);
  EXPECT_EQ(json.rfind("{\"traceEvents\":[", 0), 0u);
}

TEST(TraceExportTest, ChromeTraceJson_EmptyRing_ValidSkeleton) {
  Trace::Clear();
  const std::string json = Trace::ChromeTraceJson();
  EXPECT_EQ(json.find("\"ph\":\"i\""), std::string::npos);
  EXPECT_EQ(json.find("\"ph\":\"X\""), std::string::npos);
  EXPECT_EQ(json.rfind("{\"traceEvents\":[", 0), 0u);
  EXPECT_NE(json.find("\"otherData\""), std::string::npos);
}

TEST(TraceExportTest, WriteChromeTrace_UnwritablePath_IsError) {
  EXPECT_FALSE(
      Trace::WriteChromeTrace("/nonexistent-dir/uvmemu/trace.json").ok());
}

TEST(PointerNamesTest, Name_SameAddress_SameName) {
  PointerNames names;
  EXPECT_EQ(names.Name(0x7f0000001000, "amap"), "amap#1");
  EXPECT_EQ(names.Name(0x7f0000002000, "amap"), "amap#2");
  EXPECT_EQ(names.Name(0x7f0000003000), "ptr#1");
  EXPECT_EQ(names.Name(0x7f0000001000), "amap#1");  // the first name stays
}

TEST(PointerNamesTest, LooksLikePointer_EmulatedAddressesAndCounts_No) {
  EXPECT_FALSE(PointerNames::LooksLikePointer(0));
  EXPECT_FALSE(PointerNames::LooksLikePointer(0x1000));
  EXPECT_FALSE(PointerNames::LooksLikePointer(uint64_t{8} << 30));
  EXPECT_FALSE(PointerNames::LooksLikePointer(~uint64_t{0}));
  EXPECT_TRUE(PointerNames::LooksLikePointer(0x55d0c0ffee00));
  EXPECT_TRUE(PointerNames::LooksLikePointer(0x7ffc12345678));
}

TEST(PointerNamesTest, TraceFormat_HexPointerAfter0x_PrefixDropped) {
  Machine machine({.physical_pages = 16});
  Process p = *machine.Spawn();
  const uint64_t va = *p.Mmap(PAGE_SIZE, kReadWrite);
  ASSERT_TRUE(p.Write(va, "x", 2).ok());
  PointerNames names;
  bool saw_name = false;
  for (const TraceRecord& r : Trace::Tail()) {
    const std::string line = Trace::Format(r, &names);
    EXPECT_EQ(line.find("0xptr#"), std::string::npos) << line;
    saw_name |= line.find("ptr#") != std::string::npos;
  }
  EXPECT_TRUE(saw_name);
}

}  // namespace
}  // namespace uvmemu
