// Benchmarks of the ported amap operations themselves (no MMU involved):
// amap_copy of dense and sparse amaps, amap_wiperange through both
// traversals, amap_extend's three cases, and lookups.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "uvm/uvm.h"
#include "uvmemu/kernel.h"
#include "uvmemu/trace.h"

namespace {

// One kernel for the whole run; history off so it measures the port.
uvmemu::Kernel& TheKernel() {
  static uvmemu::Kernel kernel({.physical_pages = 64, .swap_slots = 16});
  uvmemu::Trace::Enable(false);
  return kernel;
}

// Anons without pages: amap operations only touch their reference counts.
vm_anon* BareAnon() {
  vm_anon* anon = uvm_analloc();
  mutex_exit(&anon->an_lock);
  return anon;
}

vm_amap* AmapWith(int nslot, int every) {
  vm_amap* amap = amap_alloc(static_cast<vaddr_t>(nslot) << PAGE_SHIFT, 0, 0);
  vm_aref aref{0, amap};
  amap_lock(amap);
  for (int s = 0; s < nslot; s += every)
    amap_add(&aref, static_cast<vaddr_t>(s) << PAGE_SHIFT, BareAnon(), false);
  amap_unlock(amap);
  return amap;
}

struct Entry {
  explicit Entry(vm_amap* amap, int nslot) {
    e.start = 0;
    e.end = static_cast<vaddr_t>(nslot) << PAGE_SHIFT;
    e.aref = {0, amap};
    e.etype = UVM_ET_COPYONWRITE | UVM_ET_NEEDSCOPY;
  }
  vm_map_entry e{};
};

// amap_copy of an amap shared by two entries (fork, then a write):
// allocates the new amap and bumps every anon's reference.
void BM_AmapCopy(benchmark::State& state) {
  TheKernel();
  const int nslot = static_cast<int>(state.range(0));
  const int every = static_cast<int>(state.range(1));
  vm_map* map = uvm_map_create(0, vaddr_t{1} << 40);
  vm_amap* src = AmapWith(nslot, every);
  for (auto _ : state) {
    amap_ref(src, 0, nslot, 0);
    Entry child(src, nslot);
    amap_copy(map, &child.e, AMAP_COPY_NOCHUNK, 0, child.e.end);
    benchmark::DoNotOptimize(child.e.aref.ar_amap);
    state.PauseTiming();
    amap_unref(child.e.aref.ar_amap, 0, nslot, true);
    state.ResumeTiming();
  }
  amap_unref(src, 0, nslot, true);
  uvm_map_destroy(map);
  state.SetComplexityN(nslot);
  state.SetItemsProcessed(state.iterations() * nslot);
}
BENCHMARK(BM_AmapCopy)
    ->ArgsProduct({benchmark::CreateRange(16, 1 << 16, 16), {1, 16}})
    ->Complexity(benchmark::oN);

// amap_wiperange of `len` slots in an amap whose every slot is used: by
// anon array when len < am_nused, by slot list otherwise.  The amap is
// refilled outside the timed region.
void BM_AmapWiperange(benchmark::State& state) {
  TheKernel();
  const int nslot = 4096;
  const int len = static_cast<int>(state.range(0));
  vm_amap* amap = AmapWith(nslot, 1);
  vm_aref aref{0, amap};
  for (auto _ : state) {
    amap_lock(amap);
    amap_wiperange(amap, 0, len);
    amap_unlock(amap);
    state.PauseTiming();
    amap_lock(amap);
    for (int s = 0; s < len; s++)
      amap_add(&aref, static_cast<vaddr_t>(s) << PAGE_SHIFT, BareAnon(), false);
    amap_unlock(amap);
    state.ResumeTiming();
  }
  amap_unref(amap, 0, nslot, true);
  state.SetComplexityN(len);
  state.SetItemsProcessed(state.iterations() * len);
}
BENCHMARK(BM_AmapWiperange)->RangeMultiplier(4)->Range(1, 4096)->Complexity();

// amap_extend forwards into fresh slots: case 3 reallocates every time
// the padding runs out; with padding, case 2 only bumps am_nslot.
void BM_AmapExtendForwards(benchmark::State& state) {
  TheKernel();
  const int pad = static_cast<int>(state.range(0));
  for (auto _ : state) {
    vm_amap* amap = amap_alloc(PAGE_SIZE, static_cast<vaddr_t>(pad) << PAGE_SHIFT, 0);
    Entry e(amap, 1);
    for (int n = 1; n < UVM_AMAP_LARGE - 1; n++) {
      if (amap_extend(&e.e, PAGE_SIZE, AMAP_EXTEND_FORWARDS) != 0) break;
      e.e.end += PAGE_SIZE;
    }
    amap_unref(amap, 0, amap->am_nslot, true);
  }
  state.SetItemsProcessed(state.iterations() * (UVM_AMAP_LARGE - 2));
}
BENCHMARK(BM_AmapExtendForwards)->Arg(0)->Arg(UVM_AMAP_LARGE);

void BM_AmapLookup(benchmark::State& state) {
  TheKernel();
  const int nslot = 1024;
  vm_amap* amap = AmapWith(nslot, 2);
  vm_aref aref{0, amap};
  int slot = 0;
  amap_lock(amap);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        amap_lookup(&aref, static_cast<vaddr_t>(slot) << PAGE_SHIFT));
    slot = (slot + 7) & (nslot - 1);
  }
  amap_unlock(amap);
  amap_unref(amap, 0, nslot, true);
}
BENCHMARK(BM_AmapLookup);

}  // namespace
