// LiveBlocks (emu/kmem_live.h).
#include "emu/kmem_live.h"

#include <algorithm>
#include <bit>

namespace uvmemu::kmem {

LiveBlocks::Leaf* LiveBlocks::FindLeaf(uintptr_t key, bool create) {
  auto it = leaves_.find(key);
  if (it != leaves_.end()) return it->second.get();
  if (!create) return nullptr;
  auto leaf = std::make_unique<Leaf>();
  leaf->fill(0);
  Leaf* raw = leaf.get();
  leaves_.emplace(key, std::move(leaf));
  return raw;
}

std::vector<uintptr_t> LiveBlocks::Addresses() const {
  std::vector<uintptr_t> keys;
  keys.reserve(leaves_.size());
  for (const auto& [key, leaf] : leaves_) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  std::vector<uintptr_t> out;
  for (const uintptr_t key : keys) {
    const Leaf& leaf = *leaves_.at(key);
    for (size_t w = 0; w < kLeafWords; w++) {
      for (uint64_t bits = leaf[w]; bits != 0; bits &= bits - 1) {
        const uintptr_t granule =
            (key << (kLeafShift - kGranuleShift)) + w * 64 +
            static_cast<uintptr_t>(std::countr_zero(bits));
        out.push_back(granule << kGranuleShift);
      }
    }
  }
  return out;
}

}  // namespace uvmemu::kmem
