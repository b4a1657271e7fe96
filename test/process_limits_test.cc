// The Process API at its limits: addresses and lengths near 2^64 and the
// top of the user range (rejected, never wrapped), and fork of entries of
// UVM_AMAP_LARGE pages or more (chunked amap copies, whole-amap copies
// and amap_cow_now of a wired one).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "uvm/uvm.h"
#include "uvmemu/machine.h"

namespace uvmemu {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMaxPage =
    std::numeric_limits<uint64_t>::max() & ~(kPage - 1);

class ProcessLimitsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    (void)child_.Exit();
    (void)proc_.Exit();
    const absl::Status leaks = Kernel::CheckNoLeaks();
    EXPECT_TRUE(leaks.ok()) << leaks.message();
  }

  static vm_map_entry* EntryAt(const Process& p, uint64_t va) {
    vm_map_entry* e = nullptr;
    if (!uvm_map_lookup_entry(&p.vmspace()->vm_map, va, &e)) return nullptr;
    return e;
  }
  static std::string ReadStr(const Process& p, uint64_t va, size_t n) {
    std::string s(n, '\0');
    EXPECT_TRUE(p.Read(va, s.data(), n).ok()) << std::hex << va;
    return s;
  }
  static void WriteStr(Process& p, uint64_t va, const std::string& s) {
    ASSERT_TRUE(p.Write(va, s.data(), s.size()).ok()) << std::hex << va;
  }

  Machine machine_{{.physical_pages = 2048}};
  Process proc_ = *machine_.Spawn();
  Process child_ = *machine_.Spawn();  // replaced by a fork where used
};

TEST_F(ProcessLimitsTest, RangeCalls_NearIntegerLimits_RejectedNotWrapped) {
  const uint64_t va = *proc_.Mmap(4 * kPage, kReadWrite);
  WriteStr(proc_, va, "keep");
  const uint64_t top = proc_.vmspace()->vm_map.max_offset;
  const struct {
    uint64_t va, len;
  } cases[] = {
      {va, kMaxPage},               // va + len wraps past 2^64
      {va, kMaxPage - va + kPage},  // ... to exactly va
      {kMaxPage, 2 * kPage},        // starts at the last page of 2^64
      {top - kPage, 2 * kPage},     // crosses the top of the user range
      {top, kPage},                 // starts at it
      {0, kPage},                   // below the user range
      {va, uint64_t{1} << 63},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::Message()
                 << std::hex << "va 0x" << c.va << " len 0x" << c.len);
    constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
    EXPECT_EQ(proc_.Munmap(c.va, c.len).code(), kInvalid);
    EXPECT_EQ(proc_.Mprotect(c.va, c.len, kRead).code(), kInvalid);
    EXPECT_EQ(proc_.Minherit(c.va, c.len, Inherit::kNone).code(), kInvalid);
    EXPECT_EQ(proc_.Wire(c.va, c.len).code(), kInvalid);
    EXPECT_EQ(proc_.Unwire(c.va, c.len).code(), kInvalid);
    EXPECT_EQ(
        proc_.Mmap(c.len, kReadWrite, {.fixed_address = c.va}).status().code(),
        kInvalid);
  }
  // Nothing changed.
  EXPECT_EQ(proc_.vmspace()->vm_map.nentries, 1);
  EXPECT_EQ(ReadStr(proc_, va, 4), "keep");
  WriteStr(proc_, va + 3 * kPage, "still writable");
  EXPECT_EQ(EntryAt(proc_, va)->inheritance, MAP_INHERIT_COPY);
  EXPECT_EQ(EntryAt(proc_, va)->wired_count, 0);
}

TEST_F(ProcessLimitsTest, ReadWrite_NearIntegerLimits_FaultCleanly) {
  const uint64_t va = *proc_.Mmap(kPage, kReadWrite);
  const uint64_t top = proc_.vmspace()->vm_map.max_offset;
  char buf[8] = {};
  constexpr absl::StatusCode kFault = absl::StatusCode::kOutOfRange;
  EXPECT_EQ(proc_.Read(kMaxPage, buf, 8).code(), kFault);
  EXPECT_EQ(proc_.Read(std::numeric_limits<uint64_t>::max() - 3, buf, 8).code(),
            kFault);
  EXPECT_EQ(
      proc_.Write(std::numeric_limits<uint64_t>::max() - 3, "abcd", 4).code(),
      kFault);
  EXPECT_EQ(proc_.Read(top - 4, buf, 8).code(), kFault);
  // A length no buffer could have: refused before anything is copied.
  EXPECT_EQ(proc_.Read(va, buf, std::numeric_limits<size_t>::max()).code(),
            kFault);
  EXPECT_EQ(proc_.Write(va, buf, std::numeric_limits<size_t>::max()).code(),
            kFault);
  EXPECT_EQ(proc_.Read(va, buf, size_t{1} << 63).code(), kFault);
}

TEST_F(ProcessLimitsTest, Mmap_LengthOfTheWholeUserRange_FitsOnlyOnce) {
  const vm_map& map = proc_.vmspace()->vm_map;
  const uint64_t range = map.max_offset - map.min_offset;
  EXPECT_EQ(proc_.Mmap(range + kPage, kReadWrite).status().code(),
            absl::StatusCode::kInvalidArgument);
  const absl::StatusOr<uint64_t> all = proc_.Mmap(range, kReadWrite);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, map.min_offset);
  EXPECT_EQ(proc_.Mmap(kPage, kReadWrite).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(proc_.Munmap(*all, range).ok());
  EXPECT_EQ(map.nentries, 0);
}

// An untouched private entry of more than UVM_AMAP_LARGE pages, forked:
// neither side has an amap, so each side's first write chunks its own
// entry (an amap of UVM_AMAP_CHUNK slots around the fault, aligned to
// addresses).  What is left below the chunk is then smaller than
// UVM_AMAP_LARGE: a write there is not chunked but joins the chunk's amap
// (extended backwards).
TEST_F(ProcessLimitsTest, Fork_UntouchedLargeEntry_EachSideChunksItsOwnCopy) {
  const uint64_t pages = UVM_AMAP_LARGE + 2 * UVM_AMAP_CHUNK;
  const uint64_t va = *proc_.Mmap(pages * kPage, kReadWrite);
  child_ = *proc_.Fork();
  const uint64_t at = va + 100 * kPage;
  WriteStr(child_, at, "child");
  WriteStr(proc_, at, "parent");
  for (Process* p : {&proc_, &child_}) {
    SCOPED_TRACE(p->Dump());
    const vm_map_entry* e = EntryAt(*p, at);
    ASSERT_NE(e, nullptr);
    ASSERT_NE(e->aref.ar_amap, nullptr);
    EXPECT_EQ(e->aref.ar_amap->am_nslot, UVM_AMAP_CHUNK);
    EXPECT_EQ(e->end - e->start, UVM_AMAP_CHUNK * kPage);
    EXPECT_EQ(e->start % (UVM_AMAP_CHUNK * kPage), 0u);
    EXPECT_EQ(p->vmspace()->vm_map.nentries, 3);
  }
  EXPECT_NE(EntryAt(proc_, at)->aref.ar_amap,
            EntryAt(child_, at)->aref.ar_amap);

  WriteStr(proc_, va + 5 * kPage, "low");
  const vm_map_entry* low = EntryAt(proc_, va + 5 * kPage);
  EXPECT_EQ(low, EntryAt(proc_, at));
  EXPECT_EQ(low->start, va);
  EXPECT_EQ(EntryAt(child_, va + 5 * kPage)->aref.ar_amap, nullptr);
  EXPECT_EQ(ReadStr(child_, at, 5), "child");
  EXPECT_EQ(ReadStr(proc_, at, 6), "parent");
  EXPECT_EQ(ReadStr(child_, va + 5 * kPage, 3), std::string(3, '\0'));
  EXPECT_EQ(ReadStr(proc_, va + 5 * kPage, 3), "low");
}

// A large entry with one amap (wired once to create it whole), forked
// with copy inheritance: the child's first write copies the whole amap,
// with no chunking (amap_copy only chunks an entry without an amap).
TEST_F(ProcessLimitsTest, Fork_LargeEntryWithAmap_ChildCopiesTheWholeAmap) {
  const int pages = UVM_AMAP_LARGE + 16;
  const uint64_t va = *proc_.Mmap(pages * kPage, kReadWrite);
  ASSERT_TRUE(proc_.Wire(va, pages * kPage).ok());
  ASSERT_TRUE(proc_.Unwire(va, pages * kPage).ok());
  vm_amap* amap = EntryAt(proc_, va)->aref.ar_amap;
  ASSERT_NE(amap, nullptr);
  ASSERT_EQ(amap->am_nslot, pages);
  for (int i : {0, 100, pages - 1})
    WriteStr(proc_, va + i * kPage, "p" + std::to_string(i));
  child_ = *proc_.Fork();
  WriteStr(child_, va + 100 * kPage, "c100");
  const vm_map_entry* ce = EntryAt(child_, va);
  EXPECT_EQ(child_.vmspace()->vm_map.nentries, 1);
  ASSERT_NE(ce->aref.ar_amap, amap);
  EXPECT_EQ(ce->aref.ar_amap->am_nslot, pages);
  EXPECT_EQ(amap->am_ref, 1);
  EXPECT_EQ(ReadStr(child_, va + 100 * kPage, 4), "c100");
  EXPECT_EQ(ReadStr(proc_, va + 100 * kPage, 4), "p100");
  EXPECT_EQ(ReadStr(child_, va + (pages - 1) * kPage, 4),
            "p" + std::to_string(pages - 1));
  // Untouched by the child: one anon for both, copied on the next write.
  EXPECT_EQ(ce->aref.ar_amap->am_anon[0], amap->am_anon[0]);
  EXPECT_EQ(amap->am_anon[0]->an_ref, 2);
}

// A wired large entry forked: amap_cow_now gives the child its own copy
// of every resident page at once, and the parent stays wired.
TEST_F(ProcessLimitsTest, Fork_WiredLargeEntry_CopiesEveryPageAtOnce) {
  const int pages = UVM_AMAP_LARGE + 4;
  const uint64_t va = *proc_.Mmap(pages * kPage, kReadWrite);
  ASSERT_TRUE(proc_.Wire(va, pages * kPage).ok());
  for (int i : {0, 200, pages - 1})
    WriteStr(proc_, va + i * kPage, "w" + std::to_string(i));
  const long wired = uvmexp.wired;
  child_ = *proc_.Fork();
  const vm_amap* pa = EntryAt(proc_, va)->aref.ar_amap;
  const vm_amap* ca = EntryAt(child_, va)->aref.ar_amap;
  ASSERT_NE(ca, nullptr);
  ASSERT_NE(ca, pa);
  EXPECT_EQ(ca->am_nslot, pages);
  for (int i = 0; i < pages; i++) {
    ASSERT_NE(ca->am_anon[i], nullptr) << i;
    EXPECT_NE(ca->am_anon[i], pa->am_anon[i]) << i;
    EXPECT_EQ(pa->am_anon[i]->an_ref, 1) << i;
  }
  EXPECT_EQ(uvmexp.wired, wired);
  EXPECT_EQ(ReadStr(child_, va + 200 * kPage, 4), "w200");
  WriteStr(child_, va + 200 * kPage, "c200");
  EXPECT_EQ(ReadStr(proc_, va + 200 * kPage, 4), "w200");
  ASSERT_TRUE(proc_.Unwire(va, pages * kPage).ok());
}

}  // namespace
}  // namespace uvmemu
