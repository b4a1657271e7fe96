// LiveBlocks (emu/kmem_live.h): the set of live kmem block addresses.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "emu/kmem_live.h"

namespace {

using uvmemu::kmem::LiveBlocks;

TEST(LiveBlocks, InsertErase_AcrossLeaves) {
  LiveBlocks live;
  const uintptr_t a = uintptr_t{0x7f0000000000};
  const uintptr_t b = a + 16;                         // the next granule
  const uintptr_t c = a + (uintptr_t{5} << 21) + 48;  // another leaf
  EXPECT_FALSE(live.Contains(a));
  live.Insert(c);
  live.Insert(a);
  live.Insert(b);
  EXPECT_TRUE(live.Contains(a));
  EXPECT_TRUE(live.Contains(b));
  EXPECT_TRUE(live.Contains(c));
  EXPECT_FALSE(live.Contains(a + 32));
  EXPECT_FALSE(live.Contains(a + 8));  // not a granule: never a block
  EXPECT_FALSE(live.Contains(c - 16));
  EXPECT_EQ(live.Addresses(), (std::vector<uintptr_t>{a, b, c}));
  live.Erase(b);
  EXPECT_TRUE(live.Contains(a));
  EXPECT_FALSE(live.Contains(b));
  live.Erase(a);
  live.Erase(c);
  EXPECT_TRUE(live.Addresses().empty());
}

TEST(LiveBlocks, Contains_UnknownRegion_IsFalse) {
  LiveBlocks live;
  live.Insert(0x1000);
  EXPECT_FALSE(live.Contains(0));
  EXPECT_FALSE(live.Contains(uintptr_t{0x7fff00000000}));
  EXPECT_TRUE(live.Contains(0x1000));  // after looking elsewhere
}

// Regions that share a remembered leaf, and regions apart by more than
// a top-level entry (32 GiB) that share the leaf's index bits: each
// address lands in its own leaf whatever was looked up last.
TEST(LiveBlocks, InsertContainsErase_RegionsSharingARememberedLeaf) {
  LiveBlocks live;
  const uintptr_t base = uintptr_t{0x7f0000000000};
  std::vector<uintptr_t> addrs;
  for (uintptr_t r : {0, 4, 8, 1, 5}) addrs.push_back(base + (r << 21) + 64);
  addrs.push_back(base + (uintptr_t{1} << 35) + 64);  // next top entry
  for (uintptr_t a : addrs) live.Insert(a);
  for (uintptr_t a : addrs) {
    for (uintptr_t b : addrs) EXPECT_TRUE(live.Contains(b)) << a << " " << b;
    EXPECT_FALSE(live.Contains(a + 16));
  }
  for (size_t i = 0; i < addrs.size(); i++) {
    live.Erase(addrs[i]);
    for (size_t j = 0; j < addrs.size(); j++)
      EXPECT_EQ(live.Contains(addrs[j]), j > i) << i << " " << j;
  }
  EXPECT_TRUE(live.Addresses().empty());
}

}  // namespace
