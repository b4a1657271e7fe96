// The pmap_page_protect() log (emu/pmap_log.h, kept by emu/pmap_pv.cc):
// calls for pages that are not the arena's are recorded, nothing else.
#include <gtest/gtest.h>

#include <uvm/uvm_pmap.h>

#include "emu/pmap_log.h"

namespace {

TEST(PmapLog, PageProtect_IsRecordedInOrder) {
  uvmemu::pmap::ClearProtectLog();
  const uint64_t before = uvmemu::pmap::ProtectCount();
  auto* a = reinterpret_cast<struct vm_page*>(0x1000);
  auto* b = reinterpret_cast<struct vm_page*>(0x2000);
  pmap_page_protect(a, VM_PROT_READ);
  pmap_page_protect(b, VM_PROT_NONE);
  pmap_update(nullptr);
  const auto log = uvmemu::pmap::ProtectLog();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].first, a);
  EXPECT_EQ(log[0].second, VM_PROT_READ);
  EXPECT_EQ(log[1].first, b);
  EXPECT_EQ(log[1].second, VM_PROT_NONE);
  EXPECT_EQ(uvmemu::pmap::ProtectCount(), before + 2);
  uvmemu::pmap::ClearProtectLog();
  EXPECT_TRUE(uvmemu::pmap::ProtectLog().empty());
}

}  // namespace
