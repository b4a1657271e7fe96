// A tour of an amap: build one, fill it with anons, split the map entry's
// reference as a partial munmap would, and watch the per-page reference
// counts (ppref) and the anons change.
#include <cstdio>
#include <cstring>
#include <iostream>

#include "uvm/uvm.h"
#include "uvmemu/describe.h"
#include "uvmemu/kernel.h"
#include "uvmemu/trace.h"

namespace {

// An anon with a fresh page holding `text`, unlocked, one reference.
vm_anon* AnonWith(const char* text) {
  vm_anon* anon = uvm_analloc();
  vm_page* pg = uvm_pagealloc(nullptr, 0, anon, UVM_PGA_ZERO);
  std::strcpy(static_cast<char*>(uvm_pagedata(pg)), text);
  mutex_enter(&uvm_pageqlock);
  uvm_pageactivate(pg);
  mutex_exit(&uvm_pageqlock);
  pg->flags &= ~(PG_BUSY | PG_FAKE);
  UVM_PAGE_OWN(pg, nullptr);
  mutex_exit(&anon->an_lock);
  return anon;
}

void Show(const char* title, const vm_amap* amap) {
  std::printf("\n== %s\n%s", title, uvmemu::DescribeAmap(amap).c_str());
}

}  // namespace

int main() {
  uvmemu::Kernel kernel({.physical_pages = 32});

  // One map entry covering 8 pages, with an amap behind it.
  vm_amap* amap = amap_alloc(8 * PAGE_SIZE, 0, 0);
  vm_aref whole = {0, amap};
  const char* words[] = {"zero", "one", "two", "three", "four", "five"};
  amap_lock(amap);
  for (int slot : {0, 1, 2, 3, 4, 5})
    amap_add(&whole, slot * PAGE_SIZE, AnonWith(words[slot]), false);
  amap_unlock(amap);
  Show("an amap of 8 slots, 6 anons, one reference", amap);

  // Clip the entry at page 3 (as munmap of [3,5) begins to): the left
  // entry keeps the reference, the right one gets a second one.
  vm_aref left = whole, right = whole;
  amap_splitref(&left, &right, 3 * PAGE_SIZE);
  Show("after amap_splitref at page 3: two references, ppref established",
       amap);

  // Clip the right piece again at page 5 and unmap [3,5): its slots'
  // reference counts drop to zero and amap_pp_adjref wipes those anons.
  vm_aref tail = right;
  amap_splitref(&right, &tail, 2 * PAGE_SIZE);
  amap_unref(amap, right.ar_pageoff, 2, false);
  Show("after unmapping pages [3,5): slots 3 and 4 wiped", amap);

  std::printf("\nslot 5 still reads \"%s\"; anons alive: %ld\n",
              static_cast<const char*>(uvm_pagedata(amap->am_anon[5]->an_page)),
              uvm_anon_count());

  std::printf("\n== the UVMHIST trace of the unmap (newest 6 records)\n");
  std::fflush(stdout);
  uvmemu::Trace::Print(std::cout, 6);
  std::cout.flush();
  amap_unref(amap, left.ar_pageoff, 3, false);
  amap_unref(amap, tail.ar_pageoff, 3, false);
  std::printf("\nall references dropped: amaps %d, anons %ld, leaks: %s\n",
              amap_list_count(), uvm_anon_count(),
              uvmemu::Kernel::CheckNoLeaks().ok() ? "none" : "yes");
  return 0;
}
