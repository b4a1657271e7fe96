// Freed kmem blocks and pool objects on their way out of the quarantine
// (emu/kmem.cc, emu/kmem_debug.h): the record of a quarantined block and
// the spares, blocks that have served their time in the quarantine FIFO
// and wait, still poisoned and unchecked, for an allocation of the same
// size and alignment to take them.  Reuse saves the host's malloc and
// free (which the quarantine's freeing order sent down their slow paths:
// a fifth of amap_extend's time) and checks the poison just before the
// block is filled for its new owner, while it is in the cache for both.
#ifndef UVMEMU_EMU_KMEM_SPARES_H
#define UVMEMU_EMU_KMEM_SPARES_H

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

struct kmem_site;

namespace uvmemu::kmem {

struct Quarantined {
  uintptr_t addr;
  size_t size;
  uint32_t offset;  // from the start of the host allocation to the block
  const kmem_site* alloc_site;
  const kmem_site* free_site;
  const char* pool_name;  // nullptr for a kmem block
};

// At most kMaxBytes of spares; a block larger than kMaxSize is never
// kept (large arrays go back to the host, whose allocator serves them
// well).  Spares are found by size in buckets, the last one put first
// (the likeliest to be in the cache).  Over kMaxBytes, a bucket chosen
// round robin gives up its last spare, so sizes no longer asked for
// drain away.
class SpareBlocks {
 public:
  static constexpr size_t kMaxSize = 4096;
  static constexpr size_t kMaxBytes = size_t{512} << 10;

  // Keeps `q` (a block of at most kMaxSize bytes); out-of-budget spares
  // are passed to `release`, which must give them back to the host.
  template <class Release>
  void Put(const Quarantined& q, Release&& release) {
    buckets_[BucketOf(q.size)].push_back(q);
    bytes_ += q.size;
    while (bytes_ > kMaxBytes) {
      std::vector<Quarantined>& victim = buckets_[hand_];
      hand_ = (hand_ + 1) % kBuckets;
      if (victim.empty()) continue;
      const Quarantined out = victim.back();
      victim.pop_back();
      bytes_ -= out.size;
      release(out);
    }
  }

  // Takes the spare last put of exactly `size` bytes, `offset` bytes
  // into its host allocation and aligned to `align` (a power of 2), if
  // any.
  std::optional<Quarantined> Take(size_t size, uint32_t offset, size_t align) {
    std::vector<Quarantined>& b = buckets_[BucketOf(size)];
    for (size_t i = b.size(); i-- > 0;) {
      const Quarantined& q = b[i];
      if (q.size == size && q.offset == offset && q.addr % align == 0)
        return Remove(b, i);
    }
    return std::nullopt;
  }

  // Takes the spare at `addr`, if there is one.
  std::optional<Quarantined> TakeAt(uintptr_t addr) {
    for (std::vector<Quarantined>& b : buckets_)
      for (size_t i = 0; i < b.size(); i++)
        if (b[i].addr == addr) return Remove(b, i);
    return std::nullopt;
  }

  // The spare at `addr`, or nullptr.
  const Quarantined* Find(uintptr_t addr) const {
    for (const std::vector<Quarantined>& b : buckets_)
      for (const Quarantined& q : b)
        if (q.addr == addr) return &q;
    return nullptr;
  }

  // Takes any spare, if there is one.
  std::optional<Quarantined> TakeAny() {
    for (std::vector<Quarantined>& b : buckets_)
      if (!b.empty()) return Remove(b, b.size() - 1);
    return std::nullopt;
  }

  template <class F>
  void ForEach(F&& f) const {
    for (const std::vector<Quarantined>& b : buckets_)
      for (const Quarantined& q : b) f(q);
  }

 private:
  static constexpr size_t kBuckets = 256;

  static size_t BucketOf(size_t size) {
    return (size * 0x9e3779b97f4a7c15ULL) >> 56;  // top 8 bits: 256
  }
  Quarantined Remove(std::vector<Quarantined>& b, size_t i) {
    const Quarantined q = b[i];
    b.erase(b.begin() + static_cast<ptrdiff_t>(i));
    bytes_ -= q.size;
    return q;
  }

  // Vectors keep their capacity: after warming up, no call allocates.
  std::array<std::vector<Quarantined>, kBuckets> buckets_;
  size_t hand_ = 0;
  size_t bytes_ = 0;
};

}  // namespace uvmemu::kmem

#endif  // UVMEMU_EMU_KMEM_SPARES_H
