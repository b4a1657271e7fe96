// Spares (emu/kmem_spares.h): freed blocks past the quarantine FIFO,
// reused by an allocation of the same size and alignment, their poison
// checked then.  Every test starts from an empty quarantine.
#include <gtest/gtest.h>
#include <sys/kmem.h>
#include <sys/mutex.h>
#include <sys/pool.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "emu/kmem_debug.h"
#include "emu/kmem_spares.h"
#include "test/panic_message.h"

namespace {

using uvmemu::testing::PanicMessage;
namespace kmem = uvmemu::kmem;

// A size nothing else in these tests allocates.
constexpr size_t kOdd = 1352;

void* spare_alloc(size_t n) { return kmem_alloc(n, KM_SLEEP); }
void spare_free(void* p, size_t n) { kmem_free(p, n); }

uintptr_t Addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

// Blocks of another size whose frees move every block freed before them
// out of the quarantine FIFO (a small one into the spares).  Made before
// the blocks under test are freed, so that none lands where one of those
// was given back to the host.
class Fillers {
 public:
  Fillers() {
    for (size_t i = 0; i < kmem::kQuarantineBlocks; i++)
      blocks_.push_back(kmem_alloc(16, KM_SLEEP));
  }
  ~Fillers() { PushOut(); }
  void PushOut() {
    for (void* p : blocks_) kmem_free(p, 16);
    blocks_.clear();
  }

 private:
  std::vector<void*> blocks_;
};

class KmemSpares : public testing::Test {
 protected:
  void SetUp() override { kmem::FlushQuarantine(); }
  void TearDown() override { kmem::FlushQuarantine(); }
};

TEST_F(KmemSpares, JustFreedBlocks_AreNotReused) {
  std::vector<void*> freed;
  for (int i = 0; i < 8; i++) freed.push_back(spare_alloc(kOdd));
  for (void* p : freed) spare_free(p, kOdd);
  std::vector<void*> again;
  for (int i = 0; i < 8; i++) again.push_back(spare_alloc(kOdd));
  for (void* p : again) {
    for (void* f : freed) EXPECT_NE(p, f);
  }
  for (void* p : freed) EXPECT_TRUE(kmem::InQuarantine(p));
  for (void* p : again) spare_free(p, kOdd);
}

TEST_F(KmemSpares, BlockPastTheFifo_IsReusedFilledAfresh) {
  unsigned char* p = static_cast<unsigned char*>(spare_alloc(kOdd));
  Fillers fillers;
  spare_free(p, kOdd);
  fillers.PushOut();
  EXPECT_TRUE(kmem::InQuarantine(p));  // a spare: freed, still poisoned
  unsigned char* q = static_cast<unsigned char*>(spare_alloc(kOdd));
  EXPECT_EQ(q, p);
  EXPECT_FALSE(kmem::InQuarantine(q));
  for (size_t i = 0; i < kOdd; i++) ASSERT_EQ(q[i], 0xa5) << i;
  Fillers more;
  spare_free(q, kOdd);
  more.PushOut();
  unsigned char* z = kmem_zalloc(kOdd, KM_SLEEP);
  EXPECT_EQ(z, p);
  for (size_t i = 0; i < kOdd; i++) ASSERT_EQ(z[i], 0) << i;
  kmem_free(z, kOdd);
}

TEST_F(KmemSpares, WriteAfterFree_PanicsWhenReused) {
  unsigned char* p = static_cast<unsigned char*>(spare_alloc(kOdd));
  Fillers fillers;
  spare_free(p, kOdd);
  fillers.PushOut();
  p[100] = 0;  // still allocator-owned memory: defined, but a kernel bug
  const std::string msg = PanicMessage([] { (void)spare_alloc(kOdd); });
  EXPECT_NE(msg.find("kmem: write after free: 1352-byte block"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("offset 100"), std::string::npos) << msg;
  EXPECT_NE(msg.find("allocated at spare_alloc"), std::string::npos) << msg;
  EXPECT_NE(msg.find("freed at spare_free"), std::string::npos) << msg;
  EXPECT_FALSE(kmem::InQuarantine(p));  // given back to the host
}

TEST_F(KmemSpares, WriteAfterFree_PanicsWhenFlushed) {
  unsigned char* p = static_cast<unsigned char*>(spare_alloc(kOdd));
  Fillers fillers;
  spare_free(p, kOdd);
  fillers.PushOut();
  p[kOdd - 1] ^= 0xff;
  const std::string msg = PanicMessage([] { kmem::FlushQuarantine(); });
  EXPECT_NE(msg.find("write after free"), std::string::npos) << msg;
  EXPECT_NE(msg.find("offset 1351"), std::string::npos) << msg;
  EXPECT_FALSE(kmem::InQuarantine(p));
}

TEST_F(KmemSpares, DoubleFree_IsNamedAsSuch) {
  void* p = spare_alloc(kOdd);
  Fillers fillers;
  spare_free(p, kOdd);
  fillers.PushOut();
  const std::string msg = PanicMessage([&] { spare_free(p, kOdd); });
  EXPECT_NE(msg.find("kmem_free: double free of"), std::string::npos) << msg;
  EXPECT_NE(msg.find("allocated at spare_alloc"), std::string::npos) << msg;
}

TEST_F(KmemSpares, LargeBlocks_GoBackToTheHost) {
  const size_t big = kmem::SpareBlocks::kMaxSize + 8;
  void* p = spare_alloc(big);
  Fillers fillers;
  spare_free(p, big);
  EXPECT_TRUE(kmem::InQuarantine(p));
  fillers.PushOut();
  EXPECT_FALSE(kmem::InQuarantine(p));
}

TEST_F(KmemSpares, Spares_AreBoundedInBytes) {
  std::vector<void*> blocks;
  const size_t n = 2 * kmem::SpareBlocks::kMaxBytes / kOdd;
  for (size_t i = 0; i < n; i++) blocks.push_back(spare_alloc(kOdd));
  Fillers fillers;
  for (void* p : blocks) spare_free(p, kOdd);
  fillers.PushOut();
  size_t kept = 0;
  for (void* p : blocks) kept += kmem::InQuarantine(p) ? 1 : 0;
  EXPECT_GT(kept, 0u);
  EXPECT_LE(kept * kOdd, kmem::SpareBlocks::kMaxBytes);
}

TEST_F(KmemSpares, TurningDebuggingOff_ReleasesThem) {
  void* p = spare_alloc(kOdd);
  Fillers fillers;
  spare_free(p, kOdd);
  fillers.PushOut();
  ASSERT_TRUE(kmem::InQuarantine(p));
  kmem::SetDebug(false);
  EXPECT_FALSE(kmem::InQuarantine(p));
  kmem::SetDebug(true);
}

// A spare kmem block (16-byte aligned) is no object of a cache aligned
// beyond that, even where its size and header room match.
TEST_F(KmemSpares, PoolObjects_KeepTheirAlignment) {
  static struct pool_cache pc32, pc64;
  pool_cache_bootstrap(&pc32, 48, 32, 0, 0, "spare32pl", nullptr, IPL_NONE,
                       nullptr, nullptr, nullptr);
  pool_cache_bootstrap(&pc64, 48, 64, 0, 0, "spare64pl", nullptr, IPL_NONE,
                       nullptr, nullptr, nullptr);
  std::vector<void*> blocks;
  for (int i = 0; i < 64; i++) blocks.push_back(spare_alloc(48));
  Fillers fillers;
  for (void* p : blocks) spare_free(p, 48);
  fillers.PushOut();
  std::vector<void*> objs32, objs64;
  for (int i = 0; i < 64; i++) {
    objs32.push_back(pool_cache_get(&pc32, PR_WAITOK));
    objs64.push_back(pool_cache_get(&pc64, PR_WAITOK));
  }
  for (void* o : objs32) EXPECT_EQ(Addr(o) % 32, 0u);
  for (void* o : objs64) EXPECT_EQ(Addr(o) % 64, 0u);
  // and a cache's own objects come back to it, aligned
  const std::set<void*> put64(objs64.begin(), objs64.end());
  Fillers more;
  for (void* o : objs32) pool_cache_put(&pc32, o);
  for (void* o : objs64) pool_cache_put(&pc64, o);
  more.PushOut();
  std::vector<void*> again64;
  for (int i = 0; i < 8; i++)
    again64.push_back(pool_cache_get(&pc64, PR_WAITOK));
  for (void* o : again64) {
    EXPECT_EQ(Addr(o) % 64, 0u);
    EXPECT_EQ(put64.count(o), 1u);
    for (size_t i = 0; i < 48; i++)
      ASSERT_EQ(static_cast<unsigned char*>(o)[i], 0xa5) << i;
  }
  for (void* o : again64) pool_cache_put(&pc64, o);
  kmem::FlushQuarantine();
  pool_cache_destroy(&pc64);
  pool_cache_destroy(&pc32);
}

}  // namespace
