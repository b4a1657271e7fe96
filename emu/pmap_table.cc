// A pmap's page-level mappings as a two-level table (see emu/pmap_table.h).
#include "emu/pmap_table.h"

#include <sys/systm.h>

#include <bit>

namespace uvmemu::mmu::internal {

PageTable::PageTable(size_t window_bytes)
    : leaves_((window_bytes + kLeafBytes - 1) / kLeafBytes) {}

size_t PageTable::Leaf::NextPresent(size_t i) const {
  while (i < kSlots) {
    const uint64_t word = present[i / 64] >> (i % 64);
    if (word != 0) return i + static_cast<size_t>(std::countr_zero(word));
    i = (i / 64 + 1) * 64;
  }
  return kSlots;
}

std::pair<Mapping*, bool> PageTable::Insert(vaddr_t va) {
  std::unique_ptr<Leaf>& leaf = leaves_[va >> kLeafShift];
  if (leaf == nullptr) leaf = std::make_unique<Leaf>();
  const size_t i = SlotOf(va);
  Mapping& m = leaf->slots[i];
  if (leaf->Present(i)) return {&m, false};
  leaf->present[i / 64] |= uint64_t{1} << (i % 64);
  leaf->count++;
  size_++;
  m = Mapping{};  // the list hook is left as it is: unlinked
  m.va = va;
  return {&m, true};
}

void PageTable::Erase(vaddr_t va) {
  std::unique_ptr<Leaf>& leaf = leaves_[va >> kLeafShift];
  const size_t i = SlotOf(va);
  if (leaf == nullptr || !leaf->Present(i)) {
    panic("mmu: erasing va 0x%lx, which is not mapped", va);
  }
  if (leaf->slots[i].resident_hook.is_linked()) {
    panic("mmu: erasing va 0x%lx while it is on the host", va);
  }
  leaf->present[i / 64] &= ~(uint64_t{1} << (i % 64));
  size_--;
  if (--leaf->count == 0) leaf.reset();
}

void PageTable::EraseRange(vaddr_t sva, vaddr_t eva) {
  for (vaddr_t va = sva; va < eva;) {
    const vaddr_t leaf_end = (va | (kLeafBytes - 1)) + 1;
    const vaddr_t end = eva < leaf_end ? eva : leaf_end;
    if (Leaf* leaf = leaves_[va >> kLeafShift].get(); leaf != nullptr) {
      const vaddr_t base = LeafBase(va);
      for (size_t i = leaf->NextPresent(SlotOf(va));
           i < kSlots && base + i * PAGE_SIZE < end;) {
        const size_t next = leaf->NextPresent(i + 1);
        const bool last = leaf->count == 1;
        Erase(base + i * PAGE_SIZE);  // frees the leaf with its last page
        if (last) break;
        i = next;
      }
    }
    va = end;
  }
}

const Mapping* PageTable::First() const {
  for (const std::unique_ptr<Leaf>& leaf : leaves_) {
    if (leaf != nullptr) return &leaf->slots[leaf->NextPresent(0)];
  }
  return nullptr;
}

}  // namespace uvmemu::mmu::internal
