// A pmap's page table (emu/pmap_table.h): lookups, insertion, stable
// mapping addresses, walks in ascending va across leaves, erasure, and the
// panics for erasing what is not there or is still on the host.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "emu/pmap_table.h"
#include "test/panic_message.h"

namespace {

using uvmemu::mmu::internal::Mapping;
using uvmemu::mmu::internal::PageTable;
using uvmemu::mmu::internal::ResidentList;
using uvmemu::testing::PanicMessage;

constexpr vaddr_t kLeaf = vaddr_t{2} << 20;  // what one leaf covers
constexpr size_t kWindow = size_t{64} << 20;

std::vector<vaddr_t> Walk(PageTable& t, vaddr_t sva, vaddr_t eva) {
  std::vector<vaddr_t> vas;
  t.ForEach(sva, eva, [&](Mapping& m) { vas.push_back(m.va); });
  return vas;
}

TEST(PmapTable, Insert_FindsTheSameMappingUntilErased) {
  PageTable t(kWindow);
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.Find(0x5000), nullptr);
  auto [m, made] = t.Insert(0x5000);
  ASSERT_TRUE(made);
  EXPECT_EQ(m->va, 0x5000u);
  m->prot = VM_PROT_READ;
  auto [again, made_again] = t.Insert(0x5000);
  EXPECT_FALSE(made_again);
  EXPECT_EQ(again, m);
  EXPECT_EQ(t.Find(0x5000), m);
  EXPECT_EQ(t.Find(0x5000)->prot, VM_PROT_READ);
  EXPECT_EQ(t.Find(0x4000), nullptr);
  EXPECT_EQ(t.Find(0x6000), nullptr);
  EXPECT_EQ(t.size(), 1u);
  t.Erase(0x5000);
  EXPECT_EQ(t.Find(0x5000), nullptr);
  EXPECT_TRUE(t.empty());
}

TEST(PmapTable, Insert_AfterErase_StartsFromDefaultFields) {
  PageTable t(kWindow);
  Mapping* m = t.Insert(0x3000).first;
  m->prot = VM_PROT_READ | VM_PROT_WRITE;
  m->wired = true;
  t.Insert(0x4000);  // keeps the leaf alive across the erase
  t.Erase(0x3000);
  Mapping* fresh = t.Insert(0x3000).first;
  EXPECT_EQ(fresh->prot, VM_PROT_NONE);
  EXPECT_FALSE(fresh->wired);
  EXPECT_EQ(fresh->pmap, nullptr);
  EXPECT_EQ(fresh->va, 0x3000u);
}

TEST(PmapTable, Mappings_KeepTheirAddressesWhileOthersComeAndGo) {
  PageTable t(kWindow);
  Mapping* kept = t.Insert(kLeaf + 0x1000).first;
  for (vaddr_t va = kLeaf; va < 2 * kLeaf; va += 0x1000) t.Insert(va);
  for (vaddr_t va = kLeaf + 0x2000; va < 2 * kLeaf; va += 0x1000) t.Erase(va);
  EXPECT_EQ(t.Find(kLeaf + 0x1000), kept);
  EXPECT_EQ(t.size(), 2u);
}

TEST(PmapTable, ForEach_WalksAscendingAcrossLeavesWithinTheRange) {
  PageTable t(kWindow);
  const std::vector<vaddr_t> vas = {0x0,
                                    0x1000,
                                    kLeaf - 0x1000,
                                    kLeaf,
                                    3 * kLeaf,
                                    3 * kLeaf + 0x7000,
                                    kWindow - 0x1000};
  for (auto it = vas.rbegin(); it != vas.rend(); ++it) t.Insert(*it);
  EXPECT_EQ(Walk(t, 0, kWindow), vas);
  EXPECT_EQ(Walk(t, 0x1000, 3 * kLeaf + 0x7000),
            (std::vector<vaddr_t>{0x1000, kLeaf - 0x1000, kLeaf, 3 * kLeaf}));
  EXPECT_EQ(Walk(t, 0x2000, kLeaf - 0x1000), std::vector<vaddr_t>{});
  EXPECT_EQ(Walk(t, 5 * kLeaf, kWindow),
            std::vector<vaddr_t>{kWindow - 0x1000});
  EXPECT_EQ(t.First()->va, 0x0u);
}

TEST(PmapTable, EraseRange_ErasesExactlyTheRange) {
  PageTable t(kWindow);
  for (vaddr_t va = kLeaf - 0x4000; va < kLeaf + 0x4000; va += 0x1000) {
    t.Insert(va);
  }
  t.Insert(4 * kLeaf);
  t.EraseRange(kLeaf - 0x2000, kLeaf + 0x2000);
  EXPECT_EQ(Walk(t, 0, kWindow),
            (std::vector<vaddr_t>{kLeaf - 0x4000, kLeaf - 0x3000,
                                  kLeaf + 0x2000, kLeaf + 0x3000, 4 * kLeaf}));
  t.EraseRange(0, kWindow);
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.First(), nullptr);
  EXPECT_EQ(Walk(t, 0, kWindow), std::vector<vaddr_t>{});
}

TEST(PmapTable, EraseOfAnUnmappedPage_Panics) {
  PageTable t(kWindow);
  t.Insert(0x1000);
  const std::string msg = PanicMessage([&] { t.Erase(0x2000); });
  EXPECT_NE(msg.find("va 0x2000, which is not mapped"), std::string::npos)
      << msg;
  EXPECT_EQ(t.size(), 1u);
}

TEST(PmapTable, EraseOfAPageOnTheHost_Panics) {
  PageTable t(kWindow);
  Mapping* m = t.Insert(0x1000).first;
  ResidentList resident;
  resident.push_back(*m);
  const std::string msg = PanicMessage([&] { t.Erase(0x1000); });
  EXPECT_NE(msg.find("while it is on the host"), std::string::npos) << msg;
  EXPECT_EQ(t.Find(0x1000), m);
  resident.clear();
  t.Erase(0x1000);
  EXPECT_TRUE(t.empty());
}

}  // namespace
