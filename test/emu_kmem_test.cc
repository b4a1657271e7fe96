// Unit tests of the emulated kernel allocators (emu/kmem.cc).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/kmem.h>
#include <sys/mutex.h>
#include <sys/pool.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "emu/kmem_debug.h"
#include "emu/kmem_stats.h"
#include "test/panic_message.h"
#include "uvmemu/inject.h"
#include "uvmemu/panic.h"

namespace {

using uvmemu::testing::PanicMessage;

using uvmemu::KernelPanic;
using uvmemu::ScopedPanicThrows;
namespace kmem = uvmemu::kmem;

// Allocation and free helpers with recognisable names, so the sites in
// panic messages and leak reports are predictable.
void* test_alloc_128() { return kmem_alloc(128, KM_SLEEP); }
void test_free_64(void* p) { kmem_free(p, 64); }
void test_free_128(void* p) { kmem_free(p, 128); }
void* test_site_a(size_t n) { return kmem_alloc(n, KM_SLEEP); }
void* test_site_b(size_t n) { return kmem_alloc(n, KM_SLEEP); }

TEST(Kmem, AllocFree_AccountsBytesAndObjects) {
  const kmem::Totals before = kmem::Outstanding();
  void* a = kmem_alloc(100, KM_SLEEP);
  void* b = kmem_zalloc(28, KM_SLEEP);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  kmem::Totals t = kmem::Outstanding();
  EXPECT_EQ(t.objects, before.objects + 2);
  EXPECT_EQ(t.bytes, before.bytes + 128);
  EXPECT_NE(kmem::LeakReport().find("emu_kmem_test.cc"), std::string::npos);
  kmem_free(a, 100);
  t = kmem::Outstanding();
  EXPECT_EQ(t.objects, before.objects + 1);
  EXPECT_EQ(t.bytes, before.bytes + 28);
  kmem_free(b, 28);
  t = kmem::Outstanding();
  EXPECT_EQ(t.objects, before.objects);
  EXPECT_EQ(t.bytes, before.bytes);
}

TEST(Kmem, LeakReport_OneLinePerSiteInSourceOrder) {
  const std::string baseline = kmem::LeakReport();
  // allocate at the later site first: the report is still in line order
  void* b = test_site_b(16);
  void* a1 = test_site_a(8);
  void* a2 = test_site_a(8);
  const std::string report = kmem::LeakReport();
  // adjacent lines, a's (the earlier line) first
  EXPECT_THAT(report,
              testing::ContainsRegex("kmem: 2 blocks, 16 bytes at test_site_a "
                                     "\\(emu_kmem_test\\.cc:[0-9]+\\)\n"
                                     "kmem: 1 block, 16 bytes at test_site_b "
                                     "\\(emu_kmem_test\\.cc:[0-9]+\\)\n"));
  kmem_free(b, 16);
  kmem_free(a1, 8);
  kmem_free(a2, 8);
  EXPECT_EQ(kmem::LeakReport(), baseline);
}

TEST(Kmem, Alloc_IsPoisonedAndZalloc_IsZeroed) {
  unsigned char* a = kmem_alloc(40, KM_SLEEP);
  unsigned char* z = kmem_zalloc(40, KM_SLEEP);
  for (int i = 0; i < 40; i++) {
    EXPECT_EQ(a[i], 0xa5) << i;
    EXPECT_EQ(z[i], 0) << i;
  }
  kmem_free(a, 40);
  kmem_free(z, 40);
}

TEST(Kmem, FreeWrongSize_PanicsNamingBothSizes) {
  void* p = test_alloc_128();
  const std::string msg = PanicMessage([&] { test_free_64(p); });
  EXPECT_THAT(msg,
              testing::MatchesRegex(
                  "kmem_free: size mismatch: freeing 64 bytes at test_free_64 "
                  "\\(emu_kmem_test\\.cc:[0-9]+\\) of a 128-byte block "
                  "allocated at test_alloc_128 "
                  "\\(emu_kmem_test\\.cc:[0-9]+\\)"));
  // the panic left the block allocated
  test_free_128(p);
}

TEST(KmemDeathTest, FreeWrongSize_AbortsWithMessage) {
  testing::GTEST_FLAG(death_test_style) = "threadsafe";
  EXPECT_DEATH(
      {
        void* p = test_alloc_128();
        test_free_64(p);
      },
      "panic: kmem_free: size mismatch: freeing 64 bytes at test_free_64 "
      ".* of a 128-byte block allocated at test_alloc_128");
}

TEST(Kmem, DoubleFree_Panics) {
  void* p = test_alloc_128();
  test_free_128(p);
  const std::string msg = PanicMessage([&] { test_free_128(p); });
  EXPECT_NE(msg.find("kmem_free: double free of"), std::string::npos) << msg;
  EXPECT_NE(msg.find("allocated at test_alloc_128"), std::string::npos) << msg;
  EXPECT_NE(msg.find("already freed at test_free_128"), std::string::npos)
      << msg;
}

TEST(Kmem, FreeUnknownPointer_Panics) {
  static char not_kmem[128];
  const std::string msg = PanicMessage([&] { test_free_128(not_kmem); });
  EXPECT_NE(msg.find("kmem_free: freeing unknown pointer"), std::string::npos)
      << msg;
  const std::string null_msg = PanicMessage([&] { test_free_128(nullptr); });
  EXPECT_NE(null_msg.find("unknown pointer"), std::string::npos) << null_msg;
}

TEST(Kmem, AllocZero_Panics) {
  ScopedPanicThrows throws;
  EXPECT_THROW((void)kmem_alloc(0, KM_SLEEP), KernelPanic);
  EXPECT_THROW((void)kmem_zalloc(0, KM_NOSLEEP), KernelPanic);
  EXPECT_THROW((void)kmem_alloc(8, 0), KernelPanic);
  EXPECT_THROW((void)kmem_alloc(8, KM_SLEEP | KM_NOSLEEP), KernelPanic);
}

TEST(Kmem, FreedMemory_IsPoisoned) {
  // The freed block sits in the quarantine, still owned by the allocator
  // (not yet given back to the host), so reading it is defined.
  uint32_t* p = kmem_alloc(10 * sizeof(uint32_t), KM_SLEEP);
  for (int i = 0; i < 10; i++) p[i] = 0x11111111u * i;
  kmem_free(p, 10 * sizeof(uint32_t));
  ASSERT_TRUE(kmem::InQuarantine(p));
  for (int i = 0; i < 10; i++) {
    uint32_t v;
    std::memcpy(&v, reinterpret_cast<const char*>(p) + i * sizeof v, sizeof v);
    EXPECT_EQ(v, 0xdeadbeefu) << i;
  }
}

TEST(Kmem, FreedMemory_IsPoisonedToTheLastByte_AtEverySize) {
  // sizes not a multiple of the 4-byte pattern, and across the 4 KiB
  // chunk the check compares a time
  for (const size_t n : {size_t{1}, size_t{3}, size_t{13}, size_t{64},
                         size_t{263}, size_t{4097}, size_t{9001}}) {
    unsigned char* p = static_cast<unsigned char*>(kmem_alloc(n, KM_SLEEP));
    std::memset(p, 0x11, n);
    kmem_free(p, n);
    ASSERT_TRUE(kmem::InQuarantine(p));
    const uint32_t poison = 0xdeadbeefu;
    const unsigned char* pattern =
        reinterpret_cast<const unsigned char*>(&poison);
    for (size_t i = 0; i < n; i++)
      ASSERT_EQ(p[i], pattern[i % 4]) << n << " " << i;
  }
  kmem::FlushQuarantine();
}

TEST(Kmem, WriteAfterFree_OfTheLastByte_Panics) {
  for (const size_t n : {size_t{13}, size_t{4097}}) {
    unsigned char* p = static_cast<unsigned char*>(test_site_a(n));
    kmem_free(p, n);
    p[n - 1] ^= 0xff;  // still allocator-owned memory: defined, but a bug
    const std::string msg = PanicMessage([] { kmem::FlushQuarantine(); });
    EXPECT_NE(msg.find("write after free: " + std::to_string(n) + "-byte"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("offset " + std::to_string(n - 1)), std::string::npos)
        << msg;
  }
}

TEST(Kmem, WriteAfterFree_PanicsWhenLeavingQuarantine) {
  unsigned char* p = static_cast<unsigned char*>(test_alloc_128());
  test_free_128(p);
  ASSERT_TRUE(kmem::InQuarantine(p));
  p[77] = 0;  // still allocator-owned memory: defined, but a kernel bug
  const std::string msg = PanicMessage([] { kmem::FlushQuarantine(); });
  EXPECT_NE(msg.find("write after free"), std::string::npos) << msg;
  EXPECT_NE(msg.find("offset 77"), std::string::npos) << msg;
  EXPECT_NE(msg.find("allocated at test_alloc_128"), std::string::npos) << msg;
  EXPECT_NE(msg.find("freed at test_free_128"), std::string::npos) << msg;
  EXPECT_FALSE(kmem::InQuarantine(p));
  kmem::FlushQuarantine();  // the rest is clean
}

TEST(Kmem, Quarantine_IsBounded) {
  for (size_t i = 0; i < kmem::kQuarantineBlocks * 2; i++) {
    void* p = kmem_alloc(16, KM_SLEEP);
    kmem_free(p, 16);
  }
  void* big = kmem_alloc(kmem::kQuarantineBytes / 2, KM_SLEEP);
  kmem_free(big, kmem::kQuarantineBytes / 2);
  EXPECT_TRUE(kmem::InQuarantine(big));
  void* big2 = kmem_alloc(kmem::kQuarantineBytes, KM_SLEEP);
  kmem_free(big2, kmem::kQuarantineBytes);
  EXPECT_FALSE(kmem::InQuarantine(big));  // evicted to make room
}

TEST(Kmem, NoSleepAllocation_FailsWhenInjected) {
  const kmem::Totals before = kmem::Outstanding();
  uvmemu::FailurePlan plan;
  plan.fail_nth = 2;
  uvmemu::ScopedFailurePlan scoped(plan);
  void* a = kmem_alloc(32, KM_NOSLEEP);
  void* b = kmem_alloc(32, KM_NOSLEEP);
  void* c = kmem_zalloc(32, KM_NOSLEEP);
  EXPECT_NE(a, nullptr);
  EXPECT_EQ(b, nullptr);
  EXPECT_NE(c, nullptr);
  EXPECT_EQ(scoped.points_seen(), 3u);
  EXPECT_EQ(scoped.failures_injected(), 1u);
  EXPECT_EQ(kmem::Outstanding().objects, before.objects + 2);
  kmem_free(a, 32);
  kmem_free(c, 32);
}

TEST(Kmem, SleepAllocation_NeverFails) {
  uvmemu::FailurePlan plan;
  plan.probability = 1.0;
  plan.fail_nth = 1;
  plan.fail_site = "TestBody";
  uvmemu::ScopedFailurePlan scoped(plan);
  const uint64_t seen = uvmemu::FailurePointsSeen();
  for (int i = 0; i < 10; i++) {
    void* p = kmem_alloc(24, KM_SLEEP);
    ASSERT_NE(p, nullptr);
    kmem_free(p, 24);
  }
  EXPECT_EQ(scoped.points_seen(), 0u);
  EXPECT_EQ(uvmemu::FailurePointsSeen(), seen);
  // while every KM_NOSLEEP allocation fails
  EXPECT_EQ(static_cast<void*>(kmem_alloc(24, KM_NOSLEEP)), nullptr);
}

TEST(Kmem, RoundupSize_IsMultipleOf8) {
  EXPECT_EQ(kmem_roundup_size(0), 0u);
  EXPECT_EQ(kmem_roundup_size(1), 8u);
  EXPECT_EQ(kmem_roundup_size(8), 8u);
  EXPECT_EQ(kmem_roundup_size(9), 16u);
  EXPECT_EQ(kmem_roundup_size(4 * 3), 16u);
  EXPECT_EQ(kmem_roundup_size(4096), 4096u);
}

// ---- pool caches ----

struct Obj {
  uint64_t a, b, c;
};

int g_ctor_calls, g_dtor_calls;

int obj_ctor(void* arg, void* obj, int) {
  g_ctor_calls++;
  static_cast<Obj*>(obj)->a = reinterpret_cast<uintptr_t>(arg);
  return 0;
}

void obj_dtor(void* arg, void* obj) {
  g_dtor_calls++;
  EXPECT_EQ(static_cast<Obj*>(obj)->a, reinterpret_cast<uintptr_t>(arg));
}

class Pool : public testing::Test {
 protected:
  void SetUp() override {
    pool_cache_bootstrap(&pc_, sizeof(Obj), 0, 0, 0, "testobjpl", nullptr,
                         IPL_NONE, nullptr, nullptr, nullptr);
    pool_cache_bootstrap(&other_, 64, 64, 0, 0, "otherpl", nullptr, IPL_NONE,
                         nullptr, nullptr, nullptr);
  }
  void TearDown() override {
    pool_cache_destroy(&other_);
    pool_cache_destroy(&pc_);
  }
  static void put_other(void* p) { pool_cache_put(&other_, p); }
  static void put_pc(void* p) { pool_cache_put(&pc_, p); }

  static struct pool_cache pc_, other_;
};

struct pool_cache Pool::pc_, Pool::other_;

TEST_F(Pool, GetPut_AccountsPerCache) {
  const kmem::Totals before = kmem::Outstanding();
  Obj* o[2];
  for (Obj*& e : o) e = pool_cache_get(&pc_, PR_WAITOK);  // one site
  Obj* o1 = o[0];
  Obj* o2 = o[1];
  void* x = pool_cache_get(&other_, PR_WAITOK);
  ASSERT_NE(o1, nullptr);
  ASSERT_NE(o2, nullptr);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(x) % 64, 0u);
  EXPECT_EQ(kmem::PoolOutstanding("testobjpl"), 2);
  EXPECT_EQ(kmem::PoolOutstanding("otherpl"), 1);
  EXPECT_EQ(kmem::PoolOutstanding("nosuchpl"), 0);
  EXPECT_EQ(kmem::Outstanding().pool_objects, before.pool_objects + 3);
  EXPECT_EQ(kmem::Outstanding().objects, before.objects);
  EXPECT_EQ(pc_.pc_nout, 2);
  EXPECT_EQ(pc_.pc_nget, 2);
  const std::string report = kmem::LeakReport();
  EXPECT_NE(report.find("pool \"testobjpl\": 2 objects, 48 bytes at TestBody "
                        "(emu_kmem_test.cc:"),
            std::string::npos)
      << report;
  EXPECT_LT(report.find("pool \"otherpl\""), report.find("pool \"testobjpl\""))
      << report;
  pool_cache_put(&pc_, o1);
  pool_cache_put(&pc_, o2);
  pool_cache_put(&other_, x);
  EXPECT_EQ(kmem::PoolOutstanding("testobjpl"), 0);
  EXPECT_EQ(kmem::Outstanding().pool_objects, before.pool_objects);
  EXPECT_EQ(kmem::LeakReport().find("testobjpl"), std::string::npos);
}

TEST_F(Pool, PutToWrongCache_Panics) {
  void* o = pool_cache_get(&pc_, PR_WAITOK);
  std::string msg = PanicMessage([&] { put_other(o); });
  EXPECT_NE(msg.find("pool_cache_put: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("is an object of pool cache \"testobjpl\""),
            std::string::npos)
      << msg;
  void* k = kmem_alloc(24, KM_SLEEP);
  msg = PanicMessage([&] { put_pc(k); });
  EXPECT_NE(msg.find("kmem block"), std::string::npos) << msg;
  kmem_free(k, 24);
  pool_cache_put(&pc_, o);
  msg = PanicMessage([&] { put_pc(o); });
  EXPECT_NE(msg.find("double free"), std::string::npos) << msg;
}

TEST_F(Pool, KmemFreeOfPoolObject_Panics) {
  void* o = pool_cache_get(&pc_, PR_WAITOK);
  ScopedPanicThrows throws;
  EXPECT_THROW(kmem_free(o, sizeof(Obj)), KernelPanic);
  pool_cache_put(&pc_, o);
}

TEST_F(Pool, BootstrapAgain_ReinitialisesIdleCacheAndPanicsIfBusy) {
  void* o = pool_cache_get(&pc_, PR_WAITOK);
  {
    ScopedPanicThrows throws;
    EXPECT_THROW(
        pool_cache_bootstrap(&pc_, sizeof(Obj), 0, 0, 0, "testobjpl", nullptr,
                             IPL_NONE, nullptr, nullptr, nullptr),
        KernelPanic);
    EXPECT_THROW(pool_cache_destroy(&pc_), KernelPanic);
  }
  pool_cache_put(&pc_, o);
  pool_cache_bootstrap(&pc_, 2 * sizeof(Obj), 0, 0, 0, "testobjpl", nullptr,
                       IPL_NONE, nullptr, nullptr, nullptr);
  EXPECT_EQ(pc_.pc_size, 2 * sizeof(Obj));
  EXPECT_EQ(pc_.pc_nget, 0);
  unsigned char* big = pool_cache_get(&pc_, PR_WAITOK);
  for (size_t i = 0; i < 2 * sizeof(Obj); i++) EXPECT_EQ(big[i], 0xa5);
  pool_cache_put(&pc_, big);
}

TEST_F(Pool, CtorDtor_AreCalled) {
  pool_cache_bootstrap(&pc_, sizeof(Obj), 0, 0, 0, "testobjpl", nullptr,
                       IPL_NONE, obj_ctor, obj_dtor,
                       reinterpret_cast<void*>(uintptr_t{0x1234}));
  g_ctor_calls = g_dtor_calls = 0;
  Obj* o = pool_cache_get(&pc_, PR_WAITOK);
  EXPECT_EQ(g_ctor_calls, 1);
  EXPECT_EQ(o->a, 0x1234u);
  pool_cache_put(&pc_, o);
  EXPECT_EQ(g_dtor_calls, 1);
}

TEST_F(Pool, NoWaitGet_FailsWhenInjected) {
  uvmemu::FailurePlan plan;
  plan.fail_site = "TestBody";
  uvmemu::ScopedFailurePlan scoped(plan);
  EXPECT_EQ(static_cast<void*>(pool_cache_get(&pc_, PR_NOWAIT)), nullptr);
  EXPECT_EQ(pc_.pc_nfail, 1);
  void* o = pool_cache_get(&pc_, PR_WAITOK);  // not a failure point
  EXPECT_NE(o, nullptr);
  EXPECT_EQ(scoped.points_seen(), 1u);
  pool_cache_put(&pc_, o);
}

TEST(PoolUnbootstrapped, Use_Panics) {
  static struct pool_cache never;
  ScopedPanicThrows throws;
  EXPECT_THROW((void)pool_cache_get(&never, PR_WAITOK), KernelPanic);
  EXPECT_THROW(pool_cache_destroy(&never), KernelPanic);
}

}  // namespace
