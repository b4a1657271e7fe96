// Benchmarks of the ported amap operations themselves (no MMU involved),
// built twice: uvmemu_bench (emulated kernel services) and
// uvmemu_bench_bare (no-op services); see bench/bench_env.h.
//
//   AmapExtend_Case{1,2,3}{F,B}[_Ppref]  amap_extend's three cases,
//       forwards and backwards, without and with a ppref, for amaps of 8
//       to 254 slots (254 + 1 is the largest amap case 3 may build:
//       slotneed < UVM_AMAP_LARGE).
//   AmapCopy_{Dense,Sparse16}  amap_copy of a shared amap of 16..2^20
//       slots, every slot or every 16th slot holding an anon.
//   AmapCopy_{Chunk,NoChunk}New  amap_copy of an entry without an amap
//       (the first write fault in a large region): chunked to
//       UVM_AMAP_CHUNK slots from UVM_AMAP_LARGE pages on, or not.
//   AmapWiperange_Nused{64,512,4096}  amap_wiperange of [0, len) in a
//       4096-slot amap holding `nused` anons: by am_anon while len <
//       am_nused, by am_slots from there on (the by_anon counter).
//   AmapPpAdjref_Fragmented  amap_pp_adjref near the end of a ppref made
//       of one-slot runs.
//   AmapUnref_Partial  amap_unref of a quarter of a shared amap.
//   AmapLookup, AmapLookups16, AmapAddUnadd.
//
// Anons are held by the benchmark (AnonStock) and shared with the amaps,
// as after fork, so no amap operation frees one: the cost measured is the
// amap code's.  Setup runs outside the timed batches (RunBatched).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/bench_env.h"
#include "uvm/uvm.h"

namespace {

using uvmemu::bench::BatchFor;
using uvmemu::bench::Boot;
using uvmemu::bench::RunBatched;

constexpr vaddr_t Pages(int64_t n) {
  return static_cast<vaddr_t>(n) << PAGE_SHIFT;
}

// Anons the benchmarks hold one reference to, created on demand and
// shared by every amap that needs anons.
class AnonStock {
 public:
  static AnonStock& Get() {
    static AnonStock stock;
    return stock;
  }

  vm_anon* at(int64_t i) {
    while (static_cast<int64_t>(anons_.size()) <= i) {
      vm_anon* anon = uvm_analloc();  // locked, an_ref 1: ours
      if (anon == nullptr) {
        std::fprintf(stderr, "amap_bench: uvm_analloc failed\n");
        std::abort();
      }
      mutex_exit(&anon->an_lock);
      anons_.push_back(anon);
    }
    return anons_[static_cast<size_t>(i)];
  }

  ~AnonStock() {
    for (vm_anon* anon : anons_) {
      mutex_enter(&anon->an_lock);
      const int refs = --anon->an_ref;
      mutex_exit(&anon->an_lock);
      // an amap still holding it leaked: the kernel's leak check says so
      if (refs == 0) uvm_anfree(anon);
    }
  }

  AnonStock(const AnonStock&) = delete;
  AnonStock& operator=(const AnonStock&) = delete;

 private:
  AnonStock() { Boot(); }
  std::vector<vm_anon*> anons_;
};

// Adds a new reference to stock anon `i` at `slot` (amap locked).
void AddShared(vm_amap* amap, int slot, int64_t i) {
  vm_anon* anon = AnonStock::Get().at(i);
  mutex_enter(&anon->an_lock);
  anon->an_ref++;
  mutex_exit(&anon->an_lock);
  vm_aref aref{0, amap};
  amap_add(&aref, Pages(slot), anon, false);
}

// Fills slots [from, to) stepping by `every` with stock anons.
void Fill(vm_amap* amap, int from, int to, int every) {
  amap_lock(amap);
  for (int s = from; s < to; s += every) AddShared(amap, s, s);
  amap_unlock(amap);
}

vm_amap* NewAmap(int nslot, int padslots = 0) {
  vm_amap* amap = amap_alloc(Pages(nslot), Pages(padslots), 0);
  if (amap == nullptr) {
    std::fprintf(stderr, "amap_bench: amap_alloc failed\n");
    std::abort();
  }
  return amap;
}

// Drops a reference to the whole amap (the last one wipes it out).
void Drop(vm_amap* amap) { amap_unref(amap, 0, amap->am_nslot, true); }

// A map entry not linked into a map, for amap_extend and amap_copy of an
// entry that has an amap (neither looks at the map's entries).
vm_map_entry LooseEntry(vm_amap* amap, int pageoff, int firstslot, int nslots,
                        int etype = 0) {
  vm_map_entry e{};
  e.start = Pages(firstslot);
  e.end = Pages(firstslot + nslots);
  e.aref = {pageoff, amap};
  e.etype = etype;
  e.protection = VM_PROT_ALL;
  e.max_protection = VM_PROT_ALL;
  e.inheritance = MAP_INHERIT_COPY;
  return e;
}

void CheckZero(benchmark::State& state, int errors, const char* what) {
  if (errors != 0) state.SkipWithError(what);
}

// ---------------------------------------------------------------------------
// amap_extend

enum class Case { k1F, k1B, k2F, k2B, k3F, k3B };

// The amap sizes: case 3 may build amaps of at most UVM_AMAP_LARGE - 1
// slots, so the largest amap it can extend by one slot has 254.
constexpr int kExtendSizes[] = {8, 16, 32, 64, 128, UVM_AMAP_LARGE - 2};

// Establishes a ppref as a partial reference would, with the slots
// outside [mapped_from, mapped_to) referenced by nobody.
void EstablishPpref(vm_amap* amap, int mapped_from, int mapped_to) {
  amap_lock(amap);
  amap_pp_establish(amap, 0);
  if (mapped_from > 0) amap_pp_adjref(amap, 0, mapped_from, -1);
  if (mapped_to < amap->am_nslot)
    amap_pp_adjref(amap, mapped_to, amap->am_nslot - mapped_to, -1);
  amap_unlock(amap);
}

// Cases 1F, 1B and 2F are O(1) and leave an amap that can take the next
// extension in the same case, so a batch is a chain of one-page
// extensions of each of a few amaps (n - 1 or n of them per amap, every
// one in the benchmark's case).
// Cases 2B, 3F and 3B happen once per amap: a batch extends many amaps
// once each.
void BM_AmapExtend(benchmark::State& state, Case c, bool ppref) {
  Boot();
  const int n = static_cast<int>(state.range(0));
  int errors = 0;
  switch (c) {
    case Case::k1F:
    case Case::k1B:
    case Case::k2F: {
      // 1F: entry maps slot 0 of n, grows up to n.  1B: maps slot n-1,
      // grows down to 0.  2F: maps all n of n + n padding, grows to 2n.
      const int steps = c == Case::k2F ? n : n - 1;
      const int64_t amaps = std::max<int64_t>(1, 2048 / steps);
      std::vector<vm_map_entry> entries(static_cast<size_t>(amaps));
      RunBatched(
          state, amaps * steps,
          [&] {
            for (vm_map_entry& e : entries) {
              if (c == Case::k2F) {
                vm_amap* amap = NewAmap(n, n);
                Fill(amap, 0, n, 1);
                if (ppref) EstablishPpref(amap, 0, n);
                e = LooseEntry(amap, 0, 0, n);
              } else {
                vm_amap* amap = NewAmap(n);
                const int at = c == Case::k1F ? 0 : n - 1;
                Fill(amap, at, at + 1, 1);
                if (ppref) EstablishPpref(amap, at, at + 1);
                e = LooseEntry(amap, at, at, 1);
              }
            }
          },
          [&](int64_t i) {
            vm_map_entry& e = entries[static_cast<size_t>(i / steps)];
            if (c == Case::k1B) {
              errors += amap_extend(&e, PAGE_SIZE, AMAP_EXTEND_BACKWARDS);
              e.start -= PAGE_SIZE;
            } else {
              errors += amap_extend(&e, PAGE_SIZE, AMAP_EXTEND_FORWARDS);
              e.end += PAGE_SIZE;
            }
          },
          [&] {
            for (vm_map_entry& e : entries) Drop(e.aref.ar_amap);
          });
      break;
    }
    case Case::k2B:
    case Case::k3F:
    case Case::k3B: {
      const int64_t batch = BatchFor(n, 64);
      std::vector<vm_map_entry> entries(static_cast<size_t>(batch));
      const int flags =
          c == Case::k3F ? AMAP_EXTEND_FORWARDS : AMAP_EXTEND_BACKWARDS;
      RunBatched(
          state, batch,
          [&] {
            for (vm_map_entry& e : entries) {
              // n is even, so without padding am_maxslot == n: full
              vm_amap* amap = NewAmap(n, c == Case::k2B ? n : 0);
              Fill(amap, 0, n, 1);
              if (ppref) EstablishPpref(amap, 0, n);
              e = LooseEntry(amap, 0, 1000, n);
            }
          },
          [&](int64_t i) {
            errors +=
                amap_extend(&entries[static_cast<size_t>(i)], PAGE_SIZE, flags);
          },
          [&] {
            for (vm_map_entry& e : entries) Drop(e.aref.ar_amap);
          });
      break;
    }
  }
  CheckZero(state, errors, "amap_extend failed");
  state.SetComplexityN(n);
  state.SetItemsProcessed(state.iterations());
}

// ---------------------------------------------------------------------------
// amap_copy

constexpr int64_t kCopyMin = 16;
constexpr int64_t kCopyMax = int64_t{1} << 20;

// An amap shared by `batch` map entries (fork); each timed amap_copy
// gives one entry its own copy (the first write after fork).
void BM_AmapCopy(benchmark::State& state, int every) {
  Boot();
  const int n = static_cast<int>(state.range(0));
  vm_map* map = uvm_map_create(0, Pages(int64_t{1} << 30));
  vm_amap* src = NewAmap(n);
  Fill(src, 0, n, every);
  const int64_t batch = BatchFor(n);
  std::vector<vm_map_entry> entries(static_cast<size_t>(batch));
  int errors = 0;
  RunBatched(
      state, batch,
      [&] {
        for (vm_map_entry& e : entries) {
          amap_ref(src, 0, n, 0);
          e = LooseEntry(src, 0, 0, n, UVM_ET_COPYONWRITE | UVM_ET_NEEDSCOPY);
        }
      },
      [&](int64_t i) {
        vm_map_entry& e = entries[static_cast<size_t>(i)];
        amap_copy(map, &e, AMAP_COPY_NOCHUNK, 0, 0);
        benchmark::DoNotOptimize(e.aref.ar_amap);
      },
      [&] {
        for (vm_map_entry& e : entries) {
          errors += e.aref.ar_amap == src || UVM_ET_ISNEEDSCOPY(&e);
          Drop(e.aref.ar_amap);
        }
      });
  Drop(src);
  uvm_map_destroy(map);
  CheckZero(state, errors, "amap_copy did not copy");
  state.SetComplexityN(n);
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["anons"] = static_cast<double>((n + every - 1) / every);
}

// amap_copy of an entry of n pages that has no amap yet, with the map
// locked as the fault handler holds it.  With chunking, an entry of
// UVM_AMAP_LARGE pages or more is first clipped to the UVM_AMAP_CHUNK
// pages around the faulting page.  Each operation gets its own map.
void BM_AmapCopyNew(benchmark::State& state, bool chunk) {
  Boot();
  const int64_t n = state.range(0);
  const int64_t batch = BatchFor(chunk ? 64 : n, 64);
  std::vector<vm_map*> maps(static_cast<size_t>(batch));
  std::vector<vm_map_entry*> entries(static_cast<size_t>(batch));
  const vaddr_t fault = Pages(n / 2);
  int64_t amap_slots = 0;
  RunBatched(
      state, batch,
      [&] {
        for (size_t i = 0; i < maps.size(); i++) {
          maps[i] = uvm_map_create(0, Pages(int64_t{1} << 30));
          vm_map_entry* e = uvm_mapent_alloc(maps[i], 0);
          *e = LooseEntry(nullptr, 0, 0, static_cast<int>(n),
                          UVM_ET_COPYONWRITE | UVM_ET_NEEDSCOPY);
          mutex_enter(&maps[i]->lock);
          uvm_map_entry_link(maps[i], e);
          mutex_exit(&maps[i]->lock);
          entries[i] = e;
        }
      },
      [&](int64_t i) {
        vm_map* map = maps[static_cast<size_t>(i)];
        mutex_enter(&map->lock);
        amap_copy(map, entries[static_cast<size_t>(i)],
                  chunk ? 0 : AMAP_COPY_NOCHUNK, fault, fault + PAGE_SIZE);
        mutex_exit(&map->lock);
      },
      [&] {
        for (size_t i = 0; i < maps.size(); i++) {
          amap_slots = entries[i]->aref.ar_amap != nullptr
                           ? entries[i]->aref.ar_amap->am_nslot
                           : -1;
          vm_map_entry* e = uvm_map_first(maps[i]);
          while (e != nullptr) {
            vm_map_entry* next = uvm_map_next(maps[i], e);
            if (e->aref.ar_amap != nullptr) Drop(e->aref.ar_amap);
            mutex_enter(&maps[i]->lock);
            uvm_map_entry_unlink(maps[i], e);
            mutex_exit(&maps[i]->lock);
            uvm_mapent_free(e);
            e = next;
          }
          uvm_map_destroy(maps[i]);
        }
      });
  if (amap_slots <= 0) state.SkipWithError("amap_copy made no amap");
  state.SetComplexityN(n);
  state.SetItemsProcessed(state.iterations());
  state.counters["amap_slots"] = static_cast<double>(amap_slots);
}

// ---------------------------------------------------------------------------
// amap_wiperange

constexpr int kWipeSlots = 4096;

// Wipes [0, len) of `batch` identical amaps, then (untimed) puts the
// removed anons back.  The seed traverses am_anon when len < am_nused
// and am_slots otherwise; the by_anon counter says which one ran.
void BM_AmapWiperange(benchmark::State& state, int nused) {
  Boot();
  const int len = static_cast<int>(state.range(0));
  const int stride = kWipeSlots / nused;
  const int removed = (len + stride - 1) / stride;
  const int64_t batch = BatchFor(4 * std::min(len, nused), 256);
  std::vector<vm_amap*> amaps(static_cast<size_t>(batch));
  for (vm_amap*& amap : amaps) {
    amap = NewAmap(kWipeSlots);
    Fill(amap, 0, kWipeSlots, stride);
  }
  int errors = 0;
  RunBatched(
      state, batch, [] {},
      [&](int64_t i) {
        vm_amap* amap = amaps[static_cast<size_t>(i)];
        amap_lock(amap);
        amap_wiperange(amap, 0, len);
        amap_unlock(amap);
      },
      [&] {
        for (vm_amap* amap : amaps) {
          errors += amap->am_nused != nused - removed;
          Fill(amap, 0, len, stride);
        }
      });
  for (vm_amap* amap : amaps) Drop(amap);
  CheckZero(state, errors, "amap_wiperange removed the wrong anons");
  state.SetComplexityN(len);
  state.SetItemsProcessed(state.iterations() * len);
  state.counters["by_anon"] = len < nused ? 1 : 0;
  state.counters["removed"] = removed;
}

// ---------------------------------------------------------------------------
// ppref, partial unref, lookups

// A ppref of n one-slot runs (references alternating 1, 2); each
// operation raises slot n-2 (merging it with its left neighbour) and
// lowers it again, and so walks all n runs twice.
void BM_AmapPpAdjref(benchmark::State& state) {
  Boot();
  const int n = static_cast<int>(state.range(0));
  vm_amap* amap = NewAmap(n);
  amap_lock(amap);
  amap_pp_establish(amap, 0);
  for (int s = 1; s < n; s += 2) amap_pp_adjref(amap, s, 1, 1);
  RunBatched(
      state, BatchFor(2 * n), [] {},
      [&](int64_t) {
        amap_pp_adjref(amap, n - 2, 1, 1);
        amap_pp_adjref(amap, n - 2, 1, -1);
      },
      [] {});
  const int first = amap->am_ppref[0], last = amap->am_ppref[n - 2];
  amap_unlock(amap);
  if (first != 2 || last != 2) state.SkipWithError("ppref changed");
  Drop(amap);
  state.SetComplexityN(n);
  state.SetItemsProcessed(state.iterations() * 2);
}

// An amap of n slots, every one holding an anon, referenced twice (the
// second reference from a fork, AMAP_REFALL); the timed amap_unref drops
// the reference to its third quarter: it establishes the ppref (O(n))
// and wipes the n/4 slots nobody references any more.
void BM_AmapUnrefPartial(benchmark::State& state) {
  Boot();
  const int n = static_cast<int>(state.range(0));
  const int64_t batch = BatchFor(n, 64);
  std::vector<vm_amap*> amaps(static_cast<size_t>(batch));
  int errors = 0;
  RunBatched(
      state, batch,
      [&] {
        for (vm_amap*& amap : amaps) {
          amap = NewAmap(n);
          Fill(amap, 0, n, 1);
          amap_ref(amap, 0, n, AMAP_REFALL);
        }
      },
      [&](int64_t i) {
        amap_unref(amaps[static_cast<size_t>(i)], n / 2, n / 4, false);
      },
      [&] {
        for (vm_amap* amap : amaps) {
          errors += amap->am_nused != n - n / 4;
          Drop(amap);
        }
      });
  CheckZero(state, errors, "amap_unref wiped the wrong slots");
  state.SetComplexityN(n);
  state.SetItemsProcessed(state.iterations());
}

constexpr int kLookupBatch = 8192;

// Lookups at slots 7 apart (mod n) in an amap with every other slot used,
// the amap locked once per batch of 8192.
void BM_AmapLookup(benchmark::State& state) {
  Boot();
  const int n = static_cast<int>(state.range(0));
  vm_amap* amap = NewAmap(n);
  Fill(amap, 0, n, 2);
  vm_aref aref{0, amap};
  int slot = 0;
  RunBatched(
      state, kLookupBatch, [&] { amap_lock(amap); },
      [&](int64_t) {
        benchmark::DoNotOptimize(amap_lookup(&aref, Pages(slot)));
        slot = (slot + 7) & (n - 1);
      },
      [&] { amap_unlock(amap); });
  Drop(amap);
  state.SetComplexityN(n);
  state.SetItemsProcessed(state.iterations());
}

constexpr int kLookupsPages = 16;

void BM_AmapLookups16(benchmark::State& state) {
  Boot();
  const int n = static_cast<int>(state.range(0));
  vm_amap* amap = NewAmap(n);
  Fill(amap, 0, n, 2);
  vm_aref aref{0, amap};
  vm_anon* anons[kLookupsPages];
  int slot = 0;
  RunBatched(
      state, kLookupBatch, [&] { amap_lock(amap); },
      [&](int64_t) {
        amap_lookups(&aref, Pages(slot), anons, kLookupsPages);
        benchmark::DoNotOptimize(anons);
        slot = (slot + 7 * kLookupsPages) & (n - kLookupsPages);
      },
      [&] { amap_unlock(amap); });
  Drop(amap);
  state.SetComplexityN(n);
  state.SetItemsProcessed(state.iterations() * kLookupsPages);
}

// amap_add of a stock anon into a free slot and amap_unadd of it again:
// the anon's reference moves in and out with it (nothing is counted).
void BM_AmapAddUnadd(benchmark::State& state) {
  Boot();
  const int n = static_cast<int>(state.range(0));
  vm_amap* amap = NewAmap(n);
  Fill(amap, 0, n, 2);
  vm_aref aref{0, amap};
  vm_anon* anon = AnonStock::Get().at(0);
  int slot = 1;
  RunBatched(
      state, kLookupBatch, [&] { amap_lock(amap); },
      [&](int64_t) {
        amap_add(&aref, Pages(slot), anon, false);
        amap_unadd(&aref, Pages(slot));
        slot = (slot + 14) & (n - 1);  // odd slots: the free ones
      },
      [&] { amap_unlock(amap); });
  const int nused = amap->am_nused;
  Drop(amap);
  if (nused != n / 2) state.SkipWithError("amap_add/unadd lost an anon");
  state.SetComplexityN(n);
  state.SetItemsProcessed(state.iterations() * 2);
}

// ---------------------------------------------------------------------------
// Registration

benchmark::internal::Benchmark* Common(benchmark::internal::Benchmark* b) {
  return b->UseManualTime()->Unit(benchmark::kNanosecond)->Complexity();
}

std::vector<int64_t> Pow(int64_t from, int64_t to, int64_t mult) {
  std::vector<int64_t> v;
  for (int64_t x = from; x <= to; x *= mult) v.push_back(x);
  return v;
}

benchmark::internal::Benchmark* Args(benchmark::internal::Benchmark* b,
                                     const std::vector<int64_t>& args) {
  for (int64_t a : args) b->Arg(a);
  return b;
}

const bool registered = [] {
  benchmark::AddCustomContext("uvmemu_build", uvmemu::bench::kBuildName);
  benchmark::AddCustomContext("uvmemu_kmem_debug",
                              uvmemu::bench::KmemDebugLabel());
  const struct {
    Case c;
    const char* name;
  } cases[] = {{Case::k1F, "1F"}, {Case::k1B, "1B"}, {Case::k2F, "2F"},
               {Case::k2B, "2B"}, {Case::k3F, "3F"}, {Case::k3B, "3B"}};
  const std::vector<int64_t> extend_sizes(std::begin(kExtendSizes),
                                          std::end(kExtendSizes));
  for (bool ppref : {false, true}) {
    for (const auto& k : cases) {
      const std::string name =
          std::string("AmapExtend_Case") + k.name + (ppref ? "_Ppref" : "");
      Args(Common(benchmark::RegisterBenchmark(name.c_str(), BM_AmapExtend, k.c,
                                               ppref)),
           extend_sizes);
    }
  }
  Args(Common(benchmark::RegisterBenchmark("AmapCopy_Dense", BM_AmapCopy, 1)),
       Pow(kCopyMin, kCopyMax, 4));
  Args(Common(
           benchmark::RegisterBenchmark("AmapCopy_Sparse16", BM_AmapCopy, 16)),
       Pow(kCopyMin, kCopyMax, 4));
  Args(Common(benchmark::RegisterBenchmark("AmapCopy_ChunkNew", BM_AmapCopyNew,
                                           true)),
       Pow(64, kCopyMax, 4));
  Args(Common(benchmark::RegisterBenchmark("AmapCopy_NoChunkNew",
                                           BM_AmapCopyNew, false)),
       Pow(64, kCopyMax, 4));
  for (int nused : {64, 512, kWipeSlots}) {
    const std::string name = "AmapWiperange_Nused" + std::to_string(nused);
    Args(Common(benchmark::RegisterBenchmark(name.c_str(), BM_AmapWiperange,
                                             nused)),
         Pow(16, kWipeSlots, 2));
  }
  Args(Common(benchmark::RegisterBenchmark("AmapPpAdjref_Fragmented",
                                           BM_AmapPpAdjref)),
       Pow(64, 65536, 4));
  Args(Common(benchmark::RegisterBenchmark("AmapUnref_Partial",
                                           BM_AmapUnrefPartial)),
       Pow(64, 65536, 4));
  Args(Common(benchmark::RegisterBenchmark("AmapLookup", BM_AmapLookup)),
       Pow(64, 65536, 16));
  Args(Common(benchmark::RegisterBenchmark("AmapLookups16", BM_AmapLookups16)),
       Pow(64, 65536, 16));
  Args(Common(benchmark::RegisterBenchmark("AmapAddUnadd", BM_AmapAddUnadd)),
       Pow(64, 65536, 16));
  return true;
}();

}  // namespace
