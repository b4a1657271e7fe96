// kmem debugging on and off (emu/kmem_debug.h, KernelConfig::kmem_debug)
// and the block headers of emu/kmem.cc.  With debugging on, everything
// test/emu_kmem_test.cc checks holds; these tests check what changes
// with it off and what stays.
#include <gtest/gtest.h>
#include <sys/kmem.h>
#include <sys/pool.h>

#include <cstdint>
#include <string>

#include "emu/kmem_debug.h"
#include "emu/kmem_stats.h"
#include "test/panic_message.h"
#include "uvm/uvm.h"
#include "uvmemu/kernel.h"
#include "uvmemu/panic.h"

#if defined(__SANITIZE_ADDRESS__)
#define KMEM_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KMEM_TEST_ASAN 1
#endif
#endif

namespace {

using uvmemu::testing::PanicMessage;

namespace kmem = uvmemu::kmem;

void* debug_alloc_64() { return kmem_alloc(64, KM_SLEEP); }
void debug_free_64(void* p) { kmem_free(p, 64); }
void debug_free_32(void* p) { kmem_free(p, 32); }

// kmem debugging off for the test's duration.
class KmemDebugOff : public testing::Test {
 protected:
  void SetUp() override { kmem::SetDebug(false); }
  void TearDown() override { kmem::SetDebug(true); }
};

TEST(KmemDebug, OnByDefault_AndAfterAKernelWithItOff) {
  EXPECT_TRUE(kmem::DebugEnabled());
  {
    uvmemu::Kernel kernel(uvmemu::KernelConfig{.kmem_debug = false});
    EXPECT_FALSE(kmem::DebugEnabled());
  }
  EXPECT_TRUE(kmem::DebugEnabled());
  {
    uvmemu::Kernel kernel;
    EXPECT_TRUE(kmem::DebugEnabled());
  }
}

TEST(KmemDebug, TurningItOff_ChecksTheQuarantineFirst) {
  unsigned char* p = static_cast<unsigned char*>(debug_alloc_64());
  debug_free_64(p);
  ASSERT_TRUE(kmem::InQuarantine(p));
  p[5] = 0;  // still allocator-owned memory: defined, but a kernel bug
  const std::string msg = PanicMessage([] { kmem::SetDebug(false); });
  EXPECT_NE(msg.find("write after free"), std::string::npos) << msg;
  EXPECT_TRUE(kmem::DebugEnabled());  // the panic left it on
  kmem::FlushQuarantine();
}

TEST_F(KmemDebugOff, FreedBlock_IsNotQuarantined) {
  // nothing keeps the block for a later check: a write after free is no
  // longer caught
  void* p = debug_alloc_64();
  debug_free_64(p);
  EXPECT_FALSE(kmem::InQuarantine(p));
  kmem::FlushQuarantine();  // has nothing to check
}

TEST_F(KmemDebugOff, Zalloc_IsStillZeroed) {
  unsigned char* z = kmem_zalloc(200, KM_SLEEP);
  for (int i = 0; i < 200; i++) EXPECT_EQ(z[i], 0) << i;
  kmem_free(z, 200);
}

TEST_F(KmemDebugOff, DoubleFree_PanicsAsUnknownPointer) {
  void* p = debug_alloc_64();
  debug_free_64(p);
  const std::string msg = PanicMessage([&] { debug_free_64(p); });
  EXPECT_NE(msg.find("kmem_free: freeing unknown pointer"), std::string::npos)
      << msg;
}

TEST_F(KmemDebugOff, WrongSize_StillPanics) {
  void* p = debug_alloc_64();
  const std::string msg = PanicMessage([&] { debug_free_32(p); });
  EXPECT_NE(msg.find("kmem_free: size mismatch: freeing 32 bytes at "
                     "debug_free_32"),
            std::string::npos)
      << msg;
  debug_free_64(p);
}

TEST_F(KmemDebugOff, Accounting_Stays) {
  const kmem::Totals before = kmem::Outstanding();
  void* p = debug_alloc_64();
  EXPECT_EQ(kmem::Outstanding().objects, before.objects + 1);
  EXPECT_EQ(kmem::Outstanding().bytes, before.bytes + 64);
  EXPECT_NE(kmem::LeakReport().find("kmem: 1 block, 64 bytes at "
                                    "debug_alloc_64"),
            std::string::npos)
      << kmem::LeakReport();
  debug_free_64(p);
  EXPECT_EQ(kmem::Outstanding().objects, before.objects);
  EXPECT_EQ(kmem::Outstanding().bytes, before.bytes);
}

TEST(KmemDebugOffKernel, AmapsWork_LeakFree) {
  uvmemu::Kernel kernel(uvmemu::KernelConfig{.kmem_debug = false});
  vm_amap* amap = amap_alloc(64 * PAGE_SIZE, 0, 0);
  ASSERT_NE(amap, nullptr);
  EXPECT_GT(uvmemu::Kernel::Counts().kmem_objects, 0);
  amap_unref(amap, 0, 64, true);
  EXPECT_TRUE(uvmemu::Kernel::CheckNoLeaks().ok())
      << uvmemu::Kernel::LeakReport();
}

TEST(KmemHeader, FreeOfAPointerInsideABlock_PanicsAsUnknownPointer) {
  char* p = static_cast<char*>(debug_alloc_64());
  const std::string msg = PanicMessage([&] { debug_free_64(p + 16); });
  EXPECT_NE(msg.find("kmem_free: freeing unknown pointer"), std::string::npos)
      << msg;
  const std::string odd = PanicMessage([&] { debug_free_64(p + 1); });
  EXPECT_NE(odd.find("unknown pointer"), std::string::npos) << odd;
  debug_free_64(p);
}

TEST(KmemHeader, Underrun_PanicsOnFree) {
#ifdef KMEM_TEST_ASAN
  GTEST_SKIP() << "AddressSanitizer reports the underrun itself";
#else
  unsigned char* p = static_cast<unsigned char*>(debug_alloc_64());
  unsigned char* header_end = p - 1;
  const unsigned char saved = *header_end;
  *header_end = static_cast<unsigned char>(saved ^ 0xff);  // a kernel bug
  const std::string msg = PanicMessage([&] { debug_free_64(p); });
  EXPECT_NE(msg.find("kmem_free: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("header was overwritten"), std::string::npos) << msg;
  *header_end = saved;
  debug_free_64(p);
#endif
}

}  // namespace
