// LiveBlocks (emu/kmem_live.h).
#include "emu/kmem_live.h"

#include <bit>

namespace uvmemu::kmem {

uint64_t* LiveBlocks::WordSlow(uintptr_t a, bool create) {
  std::unique_ptr<Mid>& mid = top_[a >> kMidShift];
  if (mid == nullptr) {
    if (!create) return nullptr;
    mid = std::make_unique<Mid>();
  }
  std::unique_ptr<Leaf>& leaf = (*mid)[(a >> kLeafShift) % mid->size()];
  if (leaf == nullptr) {
    if (!create) return nullptr;
    leaf = std::make_unique<Leaf>();  // zeroed
  }
  recent_[(a >> kLeafShift) % kRecent] = Recent{a >> kLeafShift, leaf.get()};
  return &(*leaf)[(a >> (kGranuleShift + 6)) % kLeafWords];
}

std::vector<uintptr_t> LiveBlocks::Addresses() const {
  std::vector<uintptr_t> out;
  for (size_t t = 0; t < top_.size(); t++) {
    if (top_[t] == nullptr) continue;
    const Mid& mid = *top_[t];
    for (size_t m = 0; m < mid.size(); m++) {
      if (mid[m] == nullptr) continue;
      const Leaf& leaf = *mid[m];
      const uintptr_t leaf_base = (static_cast<uintptr_t>(t) << kMidShift) |
                                  (static_cast<uintptr_t>(m) << kLeafShift);
      for (size_t w = 0; w < kLeafWords; w++) {
        for (uint64_t bits = leaf[w]; bits != 0; bits &= bits - 1) {
          const uintptr_t granule =
              w * 64 + static_cast<uintptr_t>(std::countr_zero(bits));
          out.push_back(leaf_base + (granule << kGranuleShift));
        }
      }
    }
  }
  return out;
}

}  // namespace uvmemu::kmem
