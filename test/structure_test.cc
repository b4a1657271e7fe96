// StructureText / StructureDot (api/structure.cc): sharing after fork and
// after amap_copy is visible, and the pictures are deterministic.
#include "uvmemu/structure.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <regex>
#include <string>
#include <vector>

#include "uvm/uvm.h"
#include "uvmemu/machine.h"

namespace uvmemu {
namespace {

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos;
       at = s.find(what, at + 1))
    n++;
  return n;
}

class StructureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    va_ = *parent_.Mmap(2 * PAGE_SIZE, kReadWrite);
    ASSERT_TRUE(parent_.Write(va_, "a", 2).ok());
    ASSERT_TRUE(parent_.Write(va_ + PAGE_SIZE, "b", 2).ok());
  }
  void TearDown() override {
    (void)parent_.Exit();
    const absl::Status leaks = Kernel::CheckNoLeaks();
    EXPECT_TRUE(leaks.ok()) << leaks.message();
  }
  Machine machine_{{.physical_pages = 64}};
  Process parent_ = *machine_.Spawn();
  uint64_t va_ = 0;
};

TEST_F(StructureTest, Text_RightAfterFork_OneAmapSharedByBothEntries) {
  Process child = *parent_.Fork();
  const std::vector<DumpedProcess> procs = {{"parent", &parent_},
                                            {"child", &child}};
  const std::string text = StructureText(procs);
  EXPECT_EQ(Count(text, "-> amap#1 slots [0,2)"), 2u) << text;
  EXPECT_NE(text.find("amap#1: ref 2, flags none, nslot 2, maxslot 2, nused 2, "
                      "ppref none [shared by 2 entries]"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("amap#2"), std::string::npos) << text;
  EXPECT_NE(text.find("COW|NEEDSCOPY"), std::string::npos) << text;
  ASSERT_TRUE(child.Exit().ok());
}

TEST_F(StructureTest, Dot_AfterChildCow_SharedAnonHasTwoIncomingEdges) {
  Process child = *parent_.Fork();
  ASSERT_TRUE(child.Write(va_, "c", 2).ok());  // amap_copy, then the COW
  const std::vector<DumpedProcess> procs = {{"parent", &parent_},
                                            {"child", &child}};
  const std::string dot = StructureDot(procs);
  const std::string text = StructureText(procs);
  // page 1 was not written by the child: its anon is in both amaps
  EXPECT_NE(text.find("[shared: amap#1 slot 1, amap#2 slot 1]"),
            std::string::npos)
      << text;
  // anons: slot 0 of each amap (2), the shared one of slot 1 (1)
  EXPECT_EQ(Count(dot, "shape=ellipse"), 3u) << dot;
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(text, m,
                        std::regex("(anon#[0-9]+): ref 2, page#[0-9]+ pa "
                                   "0x[0-9a-f]+, no swap \\[shared")))
      << text;
  const std::string node = std::regex_replace(m[1].str(), std::regex("#"), "_");
  EXPECT_EQ(Count(dot, "-> " + node + " [label=\"slot 1\"]"), 2u) << dot;
  EXPECT_NE(dot.find(node + " [label=\"" + m[1].str() +
                     "\\nref 2\\nno swap\", "
                     "shape=ellipse, style=\"filled,bold\""),
            std::string::npos)
      << dot;
  ASSERT_TRUE(child.Exit().ok());
}

TEST_F(StructureTest, Dot_SameState_SameText) {
  const std::vector<DumpedProcess> procs = {{"", &parent_}};
  EXPECT_EQ(StructureDot(procs), StructureDot(procs));
  EXPECT_NE(StructureDot(procs).find("label=\"process 1\""), std::string::npos);
}

TEST_F(StructureTest, Text_ExitedProcess_SaysSo) {
  Process child = *parent_.Fork();
  ASSERT_TRUE(child.Exit().ok());
  const std::vector<DumpedProcess> procs = {{"child", &child}};
  EXPECT_EQ(StructureText(procs), "child (pid 2): exited\n");
}

TEST_F(StructureTest, Text_SharedNames_KeepNamesAcrossDumps) {
  PointerNames names;
  const std::vector<DumpedProcess> procs = {{"p", &parent_}};
  StructureOptions options;
  options.names = &names;
  const std::string first = StructureText(procs, options);
  const std::string second = StructureText(procs, options);
  EXPECT_EQ(first, second);
  EXPECT_NE(first.find("amap#1"), std::string::npos);
}

}  // namespace
}  // namespace uvmemu
