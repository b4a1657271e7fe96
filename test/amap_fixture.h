// Shared fixture for tests that drive the ported amap code directly.
#ifndef UVMEMU_TEST_AMAP_FIXTURE_H
#define UVMEMU_TEST_AMAP_FIXTURE_H

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "emu/pmap_log.h"
#include "uvm/uvm.h"
#include "uvmemu/inject.h"
#include "uvmemu/kernel.h"

namespace uvmemu::testing {

// Boots a kernel per test and checks at the end that everything the test
// allocated was given back.
class AmapTest : public ::testing::Test {
 protected:
  explicit AmapTest(KernelConfig config = {.physical_pages = 64})
      : kernel_(config) {}

  void TearDown() override {
    const absl::Status leaks = Kernel::CheckNoLeaks();
    EXPECT_TRUE(leaks.ok()) << leaks.message();
  }

  Kernel kernel_;
};

// amap_check() as a gtest assertion result with the checker's reason.
inline ::testing::AssertionResult AmapConsistent(const vm_amap* amap) {
  char why[256];
  if (amap_check(amap, why, sizeof(why)) == 0)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "amap_check: " << why;
}

// The decoded ppref runs as (slot, len, ref) triples; empty if no ppref.
struct PpRun {
  int slot, len, ref;
  bool operator==(const PpRun&) const = default;
};
inline std::ostream& operator<<(std::ostream& os, const PpRun& r) {
  return os << "[" << r.slot << "," << r.slot + r.len << ") ref " << r.ref;
}
using Runs = std::vector<PpRun>;

inline std::vector<PpRun> PpRuns(const vm_amap* amap) {
  const int n = amap_pp_decode(amap, nullptr, 0);
  if (n < 0) return {};
  std::vector<amap_pp_run> raw(n);
  amap_pp_decode(amap, raw.data(), n);
  std::vector<PpRun> runs;
  for (const amap_pp_run& r : raw)
    runs.push_back({r.pr_slot, r.pr_len, r.pr_ref});
  return runs;
}

// Per-slot reference counts expanded from the ppref runs.
inline std::vector<int> PpRefs(const vm_amap* amap) {
  std::vector<int> refs;
  for (const PpRun& r : PpRuns(amap)) refs.insert(refs.end(), r.len, r.ref);
  return refs;
}

// A new anon holding a zeroed page whose first byte is `tag`, unlocked,
// with an_ref 1 (the caller's reference, to hand to an amap).
inline vm_anon* NewAnon(unsigned char tag = 0) {
  vm_anon* anon = uvm_analloc();
  EXPECT_NE(anon, nullptr);
  vm_page* pg = uvm_pagealloc(nullptr, 0, anon, UVM_PGA_ZERO);
  EXPECT_NE(pg, nullptr);
  static_cast<unsigned char*>(uvm_pagedata(pg))[0] = tag;
  mutex_enter(&uvm_pageqlock);
  uvm_pageactivate(pg);
  mutex_exit(&uvm_pageqlock);
  pg->flags &= ~(PG_BUSY | PG_FAKE);
  UVM_PAGE_OWN(pg, nullptr);
  mutex_exit(&anon->an_lock);
  return anon;
}

// First byte of an anon's page (the tag NewAnon wrote).
inline unsigned char AnonTag(const vm_anon* anon) {
  return static_cast<const unsigned char*>(uvm_pagedata(anon->an_page))[0];
}

// Adds a new anon at page `slot` of the aref (locks the amap around it).
inline vm_anon* AddAnon(vm_aref* aref, int slot, unsigned char tag = 0) {
  vm_anon* anon = NewAnon(tag);
  amap_lock(aref->ar_amap);
  amap_add(aref, static_cast<vaddr_t>(slot) << PAGE_SHIFT, anon, false);
  amap_unlock(aref->ar_amap);
  return anon;
}

// A map entry not linked into any map, for functions that only read the
// entry's range and aref (amap_extend, amap_share_protect).
struct LooseEntry {
  LooseEntry(vaddr_t start, vaddr_t end, vm_amap* amap, int pageoff = 0) {
    entry.start = start;
    entry.end = end;
    entry.aref.ar_amap = amap;
    entry.aref.ar_pageoff = pageoff;
    entry.etype = 0;
    entry.protection = VM_PROT_ALL;
    entry.max_protection = VM_PROT_ALL;
    entry.inheritance = MAP_INHERIT_COPY;
    entry.wired_count = 0;
    entry.advice = 0;
    entry.flags = 0;
  }
  vm_map_entry entry{};
};

constexpr vaddr_t kPage = PAGE_SIZE;

// ---------------------------------------------------------------------------
// Helpers of the amap_extend / amap_copy / failure / misuse tests.

// Pages (slots) an entry maps.
inline int EntrySlots(const vm_map_entry* entry) {
  return static_cast<int>((entry->end - entry->start) >> PAGE_SHIFT);
}

// The anons of an amap as (slot, tag) pairs in slot order, over all of
// [0, am_maxslot) so that an anon left beyond am_nslot shows up too.
using SlotTags = std::vector<std::pair<int, int>>;
inline SlotTags TagsBySlot(const vm_amap* amap) {
  SlotTags tags;
  for (int slot = 0; slot < amap->am_maxslot; slot++)
    if (amap->am_anon[slot] != nullptr)
      tags.emplace_back(slot, AnonTag(amap->am_anon[slot]));
  return tags;
}

// Everything about an amap that amap_extend or amap_copy may change, to
// assert that a call which failed changed nothing.
struct AmapSnapshot {
  int ref = 0, flags = 0, maxslot = 0, nslot = 0, nused = 0;
  const void* slots = nullptr;  // the arrays themselves (same allocation)
  const void* bckptr = nullptr;
  const void* anon = nullptr;
  const void* ppref = nullptr;
  std::vector<vm_anon*> anons;  // am_anon[0 .. am_maxslot)
  std::vector<int> an_refs;     // an_ref of each of those (-1 if empty)
  std::vector<int> used;        // am_slots[0 .. am_nused)
  std::vector<PpRun> runs;      // decoded ppref, if established
  bool operator==(const AmapSnapshot&) const = default;
};
inline std::ostream& operator<<(std::ostream& os, const AmapSnapshot& s) {
  os << "{ref " << s.ref << " flags " << s.flags << " maxslot " << s.maxslot
     << " nslot " << s.nslot << " nused " << s.nused << " slots " << s.slots
     << " bckptr " << s.bckptr << " anon " << s.anon << " ppref " << s.ppref
     << " anons";
  for (size_t i = 0; i < s.anons.size(); i++)
    if (s.anons[i] != nullptr)
      os << " " << i << ":" << s.anons[i] << "/" << s.an_refs[i];
  os << " runs";
  for (const PpRun& r : s.runs) os << " " << r;
  return os << "}";
}
inline AmapSnapshot Snapshot(const vm_amap* amap) {
  AmapSnapshot s;
  s.ref = amap->am_ref;
  s.flags = amap->am_flags;
  s.maxslot = amap->am_maxslot;
  s.nslot = amap->am_nslot;
  s.nused = amap->am_nused;
  s.slots = amap->am_slots;
  s.bckptr = amap->am_bckptr;
  s.anon = amap->am_anon;
  s.ppref = amap->am_ppref;
  for (int slot = 0; slot < amap->am_maxslot; slot++) {
    vm_anon* anon = amap->am_anon[slot];
    s.anons.push_back(anon);
    s.an_refs.push_back(anon != nullptr ? anon->an_ref : -1);
  }
  s.used.assign(amap->am_slots, amap->am_slots + amap->am_nused);
  s.runs = PpRuns(amap);
  return s;
}

// Splits a loose entry `leftslots` pages in, as uvm_map's clipping does:
// `left` keeps [start, start + leftslots) and its reference; the entry
// returned maps the rest with the reference amap_splitref() adds.
inline LooseEntry SplitLoose(LooseEntry* left, int leftslots) {
  const vaddr_t at = left->entry.start + leftslots * kPage;
  LooseEntry right(at, left->entry.end, left->entry.aref.ar_amap);
  right.entry.etype = left->entry.etype;
  amap_splitref(&left->entry.aref, &right.entry.aref, leftslots * kPage);
  left->entry.end = at;
  return right;
}

// Drops an entry's amap reference as uvm_unmap_detach() does (the slots
// the entry maps, not the whole amap).
inline void UnrefEntry(const vm_map_entry* entry) {
  amap_unref(entry->aref.ar_amap, entry->aref.ar_pageoff, EntrySlots(entry),
             false);
}

// A map with entries linked in by the test.  Destroy() (or the
// destructor) drops every entry's amap reference with UnrefEntry(),
// unlinks and frees the entries and destroys the map.
class TestMap {
 public:
  TestMap() : map_(uvm_map_create(0, vaddr_t{1} << 30)) {}
  ~TestMap() { Destroy(); }
  TestMap(const TestMap&) = delete;
  TestMap& operator=(const TestMap&) = delete;

  vm_map* map() const { return map_; }

  // Links a new entry [start, end) with the given reference and etype
  // (by default a private copy-on-write mapping that needs copying, as
  // after fork).
  vm_map_entry* Add(vaddr_t start, vaddr_t end, vm_amap* amap = nullptr,
                    int pageoff = 0,
                    int etype = UVM_ET_COPYONWRITE | UVM_ET_NEEDSCOPY) {
    vm_map_entry* entry = uvm_mapent_alloc(map_, 0);
    entry->start = start;
    entry->end = end;
    entry->aref.ar_amap = amap;
    entry->aref.ar_pageoff = pageoff;
    entry->etype = etype;
    entry->protection = VM_PROT_ALL;
    entry->max_protection = VM_PROT_ALL;
    entry->inheritance = MAP_INHERIT_COPY;
    entry->wired_count = 0;
    entry->advice = 0;
    mutex_enter(&map_->lock);
    uvm_map_entry_link(map_, entry);
    mutex_exit(&map_->lock);
    return entry;
  }

  // The entries in address order.
  std::vector<vm_map_entry*> Entries() const {
    std::vector<vm_map_entry*> entries;
    for (vm_map_entry* e = uvm_map_first(map_); e != nullptr;
         e = uvm_map_next(map_, e))
      entries.push_back(e);
    return entries;
  }

  // amap_copy() with the map locked, as the kernel calls it.
  void Copy(vm_map_entry* entry, int flags, vaddr_t startva, vaddr_t endva) {
    mutex_enter(&map_->lock);
    amap_copy(map_, entry, flags, startva, endva);
    mutex_exit(&map_->lock);
  }

  void Destroy() {
    if (map_ == nullptr) return;
    for (vm_map_entry* entry : Entries()) {
      if (entry->aref.ar_amap != nullptr) UnrefEntry(entry);
      uvm_map_entry_unlink(map_, entry);
      uvm_mapent_free(entry);
    }
    uvm_map_destroy(map_);
    map_ = nullptr;
  }

 private:
  vm_map* map_;
};

// One run of a failure sweep (SweepFailurePoints).  The scenario builds
// its state, calls Armed() exactly once around the operation under test,
// checks the outcome and frees everything; only the failure points met
// inside Armed() belong to the sweep.
class SweepRun {
 public:
  explicit SweepRun(uint64_t fail_nth) : fail_nth_(fail_nth) {}

  // Runs op() under this run's plan (fail_nth, or inactive in the
  // counting run) and returns what it returns.
  template <class Op>
  auto Armed(Op&& op) {
    FailurePlan plan;
    plan.fail_nth = fail_nth_;
    ScopedFailurePlan scoped(plan);
    struct Recorder {
      SweepRun* run;
      const ScopedFailurePlan* scoped;
      ~Recorder() {
        run->points_ = scoped->points_seen();
        run->failures_ = scoped->failures_injected();
        run->armed_++;
      }
    } recorder{this, &scoped};
    return op();
  }

  uint64_t fail_nth() const { return fail_nth_; }  // 0: the counting run
  bool injected() const { return failures_ != 0; }
  uint64_t points() const { return points_; }
  uint64_t failures() const { return failures_; }
  int armed() const { return armed_; }

 private:
  uint64_t fail_nth_;
  uint64_t points_ = 0;
  uint64_t failures_ = 0;
  int armed_ = 0;
};

// Runs `scenario` once with an inactive plan to count the failure points
// of its Armed() region (N), then once for each n in 1..N with the nth
// point failing.  Every run must arm exactly once, inject exactly the one
// failure asked for, and leave the kernel holding nothing.  Returns N.
inline uint64_t SweepFailurePoints(
    const std::function<void(SweepRun&)>& scenario) {
  SweepRun count(0);
  {
    SCOPED_TRACE("counting run (no failure)");
    scenario(count);
    EXPECT_EQ(count.armed(), 1);
    EXPECT_EQ(count.failures(), 0u);
    const absl::Status leaks = Kernel::CheckNoLeaks();
    EXPECT_TRUE(leaks.ok()) << leaks.message();
  }
  for (uint64_t n = 1; n <= count.points(); n++) {
    SCOPED_TRACE(::testing::Message()
                 << "fail_nth " << n << " of " << count.points());
    SweepRun run(n);
    scenario(run);
    EXPECT_EQ(run.armed(), 1);
    EXPECT_EQ(run.failures(), 1u);
    const absl::Status leaks = Kernel::CheckNoLeaks();
    EXPECT_TRUE(leaks.ok()) << leaks.message();
  }
  return count.points();
}

// Fixture for amap_extend tests: an entry over a whole amap, extended as
// uvm_map does.  Entries start at kExtendBase, leaving room below for
// backwards extends.
class AmapExtendFixture : public AmapTest {
 public:
  static constexpr vaddr_t kExtendBase = 0x100000;

 protected:
  // An amap of `slots` (+ `pad`) slots, mapped whole by `*e`, holding
  // anons tagged 10 + slot at each of `used`.
  static vm_amap* Build(int slots, int pad, const std::vector<int>& used,
                        LooseEntry* e) {
    vm_amap* amap = amap_alloc(slots * kPage, pad * kPage, 0);
    EXPECT_NE(amap, nullptr);
    e->entry.start = kExtendBase;
    e->entry.end = kExtendBase + slots * kPage;
    e->entry.aref.ar_amap = amap;
    e->entry.aref.ar_pageoff = 0;
    vm_aref whole{0, amap};
    for (int slot : used) AddAnon(&whole, slot, 10 + slot);
    return amap;
  }

  // amap_extend by `pages`; on success moves the entry's end (forwards)
  // or start (backwards) as uvm_map does.
  static int Extend(LooseEntry* e, int pages, int flags) {
    const int error = amap_extend(&e->entry, pages * kPage, flags);
    if (error == 0) {
      if (flags & AMAP_EXTEND_FORWARDS)
        e->entry.end += pages * kPage;
      else
        e->entry.start -= pages * kPage;
    }
    return error;
  }
};

}  // namespace uvmemu::testing

#endif  // UVMEMU_TEST_AMAP_FIXTURE_H
