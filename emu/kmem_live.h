// The set of live kmem blocks and pool objects (emu/kmem.cc), by address.
//
// One bit per 16-byte granule of the address space (every block starts
// 16-byte aligned), in 16 KiB leaves covering 2 MiB each.  The host's
// malloc hands out neighbouring addresses to neighbouring allocations,
// so the bits of the blocks in use share a few cache lines, where a hash
// table of addresses scatters them on purpose: with a million anons
// outstanding, each lookup in such a table missed the caches.  Only a
// pointer found here has a block header (emu/kmem.cc) that may be read;
// anything else is a foreign pointer and is never dereferenced.
#ifndef UVMEMU_EMU_KMEM_LIVE_H
#define UVMEMU_EMU_KMEM_LIVE_H

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace uvmemu::kmem {

class LiveBlocks {
 public:
  // Blocks start at multiples of this.
  static constexpr uintptr_t kGranule = 16;

  // `a` must be a multiple of kGranule.
  void Insert(uintptr_t a) { *Word(a, true) |= Bit(a); }
  // `a` must be in the set.
  void Erase(uintptr_t a) { *Word(a, false) &= ~Bit(a); }
  // Not const: it moves the cached leaf.
  bool Contains(uintptr_t a) {
    if (a % kGranule != 0) return false;
    const uint64_t* w = Word(a, false);
    return w != nullptr && (*w & Bit(a)) != 0;
  }
  // Every address in the set, in increasing order.
  std::vector<uintptr_t> Addresses() const;

 private:
  static constexpr unsigned kGranuleShift = 4;
  static constexpr unsigned kLeafShift = 21;  // 2 MiB per leaf
  static constexpr size_t kLeafWords =
      (size_t{1} << (kLeafShift - kGranuleShift)) / 64;
  using Leaf = std::array<uint64_t, kLeafWords>;

  static uint64_t Bit(uintptr_t a) {
    return uint64_t{1} << ((a >> kGranuleShift) % 64);
  }
  // The word holding `a`'s bit; nullptr if its leaf does not exist and
  // `create` is false.
  uint64_t* Word(uintptr_t a, bool create) {
    const uintptr_t key = a >> kLeafShift;
    if (key != cached_key_) {
      Leaf* leaf = FindLeaf(key, create);
      if (leaf == nullptr) return nullptr;
      cached_key_ = key;
      cached_leaf_ = leaf;
    }
    return &(*cached_leaf_)[(a >> (kGranuleShift + 6)) % kLeafWords];
  }
  Leaf* FindLeaf(uintptr_t key, bool create);

  // Leaves stay once made: the heap they cover is reused.
  absl::flat_hash_map<uintptr_t, std::unique_ptr<Leaf>> leaves_;
  // The leaf of the last lookup: most lookups hit it.
  uintptr_t cached_key_ = UINTPTR_MAX;
  Leaf* cached_leaf_ = nullptr;
};

}  // namespace uvmemu::kmem

#endif  // UVMEMU_EMU_KMEM_LIVE_H
