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

namespace uvmemu::kmem {

class LiveBlocks {
 public:
  // Blocks start at multiples of this.
  static constexpr uintptr_t kGranule = 16;

  // Whether Insert() takes `a`: a multiple of kGranule below 2^48 (a
  // user address).
  static bool Covers(uintptr_t a) {
    return (a & (~uintptr_t{0} << kAddressBits | (kGranule - 1))) == 0;
  }
  // Covers(a) must hold.
  void Insert(uintptr_t a) { *Word(a, true) |= Bit(a); }
  // `a` must be in the set.
  void Erase(uintptr_t a) { *Word(a, false) &= ~Bit(a); }
  bool Contains(uintptr_t a) {
    if (!Covers(a)) return false;
    const uint64_t* w = Word(a, false);
    return w != nullptr && (*w & Bit(a)) != 0;
  }
  // Every address in the set, in increasing order.
  std::vector<uintptr_t> Addresses() const;

 private:
  // A radix tree of two levels over 48-bit addresses, as a page table:
  // the top level's entries cover 32 GiB each, a middle node's 2 MiB
  // (one leaf each).  A lookup is two dependent loads and no hashing.
  static constexpr unsigned kAddressBits = 48;
  static constexpr unsigned kGranuleShift = 4;
  static constexpr unsigned kLeafShift = 21;
  static constexpr unsigned kMidShift = 35;
  static constexpr size_t kLeafWords =
      (size_t{1} << (kLeafShift - kGranuleShift)) / 64;
  using Leaf = std::array<uint64_t, kLeafWords>;
  using Mid =
      std::array<std::unique_ptr<Leaf>, size_t{1} << (kMidShift - kLeafShift)>;

  static uint64_t Bit(uintptr_t a) {
    return uint64_t{1} << ((a >> kGranuleShift) % 64);
  }
  // The word holding `a`'s bit; nullptr if its leaf does not exist and
  // `create` is false.  The leaves last used are remembered, one per
  // kRecent class of 2 MiB regions: blocks mostly come from a few
  // regions (one remembered leaf missed a third of the lookups in
  // amap_extend), and then a lookup is one compare and two loads.
  uint64_t* Word(uintptr_t a, bool create) {
    const Recent& r = recent_[(a >> kLeafShift) % kRecent];
    if ((a >> kLeafShift) == r.index) [[likely]]
      return &(*r.leaf)[(a >> (kGranuleShift + 6)) % kLeafWords];
    return WordSlow(a, create);
  }
  uint64_t* WordSlow(uintptr_t a, bool create);

  // Nodes stay once made: the heap they cover is reused.
  std::array<std::unique_ptr<Mid>, size_t{1} << (kAddressBits - kMidShift)>
      top_;
  struct Recent {
    // a >> kLeafShift for the addresses of `leaf`; no covered address
    // matches the initial value
    uintptr_t index = ~uintptr_t{0};
    Leaf* leaf = nullptr;
  };
  static constexpr size_t kRecent = 4;
  std::array<Recent, kRecent> recent_;
};

}  // namespace uvmemu::kmem

#endif  // UVMEMU_EMU_KMEM_LIVE_H
