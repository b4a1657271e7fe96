// A pmap's page-level mappings, indexed like a two-level page table
// (emu/mmu_mapping.h's Mapping, one per mapped page of the window).
//
// Every fault looks its page up (the handler, pmap_enter, the check that
// the fault hook made progress, the neighbour a new frame may extend), so
// a lookup is two dependent loads: the leaf for the 2 MiB the va is in,
// then the slot.  Leaves are allocated when their first page is mapped
// and freed when their last one goes; a Mapping lives in its leaf, so its
// address is stable while it exists (the budget's list and the pv lists
// point to it).  Walks are in ascending va, skipping empty leaves.  A
// leaf takes about 28 KiB whatever it holds: a dense range costs less
// than a tree node per mapping would, a page alone in its 2 MiB a whole
// leaf.
#ifndef UVMEMU_EMU_PMAP_TABLE_H
#define UVMEMU_EMU_PMAP_TABLE_H

#include <sys/types.h>
#include <uvm/uvm_param.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "emu/mmu_mapping.h"

namespace uvmemu::mmu::internal {

class PageTable {
 public:
  // A table for a window of `window_bytes` (a multiple of the page size).
  explicit PageTable(size_t window_bytes);
  PageTable(const PageTable&) = delete;
  PageTable& operator=(const PageTable&) = delete;

  // The mapping of the page at va (page-aligned, inside the window), or
  // nullptr.
  Mapping* Find(vaddr_t va) {
    Leaf* leaf = leaves_[va >> kLeafShift].get();
    if (leaf == nullptr) return nullptr;
    const size_t i = SlotOf(va);
    return leaf->Present(i) ? &leaf->slots[i] : nullptr;
  }

  // The mapping of the page at va, made (default fields, va set) if there
  // is none; the second member says whether it was made.
  std::pair<Mapping*, bool> Insert(vaddr_t va);

  // Removes the mapping at va, which must exist and be unlinked from the
  // budget's list.
  void Erase(vaddr_t va);

  // Calls fn(Mapping&) for each mapping in [sva, eva), ascending.  fn may
  // change the mappings but not insert or erase any.
  template <class Fn>
  void ForEach(vaddr_t sva, vaddr_t eva, Fn fn) {
    for (vaddr_t va = sva; va < eva;) {
      Leaf* leaf = leaves_[va >> kLeafShift].get();
      const vaddr_t leaf_end = (va | (kLeafBytes - 1)) + 1;
      const vaddr_t end = eva < leaf_end ? eva : leaf_end;
      if (leaf != nullptr) {
        for (size_t i = leaf->NextPresent(SlotOf(va)); i < kSlots;
             i = leaf->NextPresent(i + 1)) {
          if (LeafBase(va) + i * PAGE_SIZE >= end) break;
          fn(leaf->slots[i]);
        }
      }
      va = end;
    }
  }

  // Erases every mapping in [sva, eva) (each unlinked from the budget's
  // list already).
  void EraseRange(vaddr_t sva, vaddr_t eva);

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // The mapping with the lowest va (nullptr if empty), for diagnostics.
  const Mapping* First() const;

 private:
  static constexpr size_t kSlotShift = 9;  // 512 pages: 2 MiB a leaf
  static constexpr size_t kSlots = size_t{1} << kSlotShift;
  static constexpr size_t kLeafShift = PAGE_SHIFT + kSlotShift;
  static constexpr vaddr_t kLeafBytes = vaddr_t{1} << kLeafShift;

  struct Leaf {
    std::array<uint64_t, kSlots / 64> present{};
    size_t count = 0;
    std::array<Mapping, kSlots> slots;

    bool Present(size_t i) const {
      return (present[i / 64] >> (i % 64) & 1) != 0;
    }
    // The first present slot at or after i (kSlots if none).
    size_t NextPresent(size_t i) const;
  };

  static size_t SlotOf(vaddr_t va) { return (va >> PAGE_SHIFT) & (kSlots - 1); }
  static vaddr_t LeafBase(vaddr_t va) { return va & ~(kLeafBytes - 1); }

  std::vector<std::unique_ptr<Leaf>> leaves_;
  size_t size_ = 0;
};

}  // namespace uvmemu::mmu::internal

#endif  // UVMEMU_EMU_PMAP_TABLE_H
