#include "test/model/harness.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "emu/kmem_stats.h"
#include "test/model/kernel_check.h"
#include "uvm/uvm.h"
#include "uvmemu/kernel.h"

namespace uvmemu::verify {
namespace {

const char* ProtName(int prot) {
  switch (prot) {
    case kNone:
      return "---";
    case kRead:
      return "r--";
    case kWrite:
      return "-w-";
    default:
      return "rw-";
  }
}

const char* InheritName(Inherit i) {
  switch (i) {
    case Inherit::kShare:
      return "share";
    case Inherit::kCopy:
      return "copy";
    case Inherit::kNone:
      return "none";
  }
  return "?";
}

Inherit FromVm(vm_inherit_t i) {
  switch (i) {
    case MAP_INHERIT_SHARE:
      return Inherit::kShare;
    case MAP_INHERIT_NONE:
      return Inherit::kNone;
    default:
      return Inherit::kCopy;
  }
}

std::string CodeName(absl::StatusCode code) {
  return code == absl::StatusCode::kOk ? "OK" : absl::StatusCodeToString(code);
}

// The bytes a write of `len` bytes with data seed `seed` stores.
std::vector<uint8_t> WriteData(uint32_t seed, uint64_t len) {
  std::vector<uint8_t> out(len);
  SplitMix64 rng(seed);
  for (uint64_t i = 0; i < len; i += 8) {
    const uint64_t x = rng.Next();
    std::memcpy(out.data() + i, &x, std::min<uint64_t>(8, len - i));
  }
  // A write of zeros would not show a lost write.
  if (len > 0 && out[0] == 0) out[0] = 1;
  return out;
}

}  // namespace

// The model's user range is the first process's, known once it exists.
Harness::Harness(const HarnessConfig& config)
    : config_(config), machine_(config.machine), model_(0, 0) {
  const ResourceCounts before = Kernel::Counts();
  procs_.push_back(*machine_.Spawn());
  const ResourceCounts after = Kernel::Counts();
  process_kmem_objects_ = after.kmem_objects - before.kmem_objects;
  process_kmem_bytes_ = after.kmem_bytes - before.kmem_bytes;
  const vm_map& map = procs_[0].vmspace()->vm_map;
  model_ = Model(map.min_offset / kPageBytes, map.max_offset / kPageBytes);
  model_.Spawn();
}

absl::Status Harness::Expected(const absl::Status& got, Expect want) {
  if (got.code() == want) {
    if (want != Expect::kOk) absl::StrAppend(&last_, " -> ", CodeName(want));
    return absl::OkStatus();
  }
  return absl::InternalError(absl::StrFormat(
      "%s: the emulator returned %s (%s), the model expects %s", last_,
      CodeName(got.code()), got.message(), CodeName(want)));
}

// A range of pages of process p: mostly around a page it maps (so that
// operations hit mappings and split them), sometimes anywhere in the
// span, and (whole) sometimes exactly one mapping.  `pick` limits the
// pages a range may start at (wired ones for munlock); a range that must
// not run into a hole (mlock, munlock) usually stops at the first one.
Harness::Range Harness::PickRange(size_t p, uint32_t b, uint32_t c, bool whole,
                                  const std::function<bool(const Page&)>& pick,
                                  bool avoid_holes) const {
  Range r;
  std::vector<uint64_t> mapped;
  for (const auto& [i, pg] : model_.process(p).pages)
    if (!pick || pick(pg)) mapped.push_back(i);
  const uint32_t mode = b % 8;
  // One in four mlock/munlock ranges may run into holes (and fail).
  avoid_holes = avoid_holes && (c >> 20) % 4 != 0;
  r.npages = 1 + c % config_.max_range_pages;
  if (mapped.empty() || mode >= (avoid_holes ? 7u : 6u)) {
    r.page = model_.min_page() + (b >> 3) % config_.span_pages;
  } else {
    r.page = mapped[(b >> 3) % mapped.size()];
    if (whole && mode == 5) {
      model_.RegionAround(p, r.page, &r.page, &r.npages);
    } else if ((c & 0x10000) && !avoid_holes) {
      // Start a little before it, to cover a boundary.
      const uint64_t back =
          std::min<uint64_t>(r.page - model_.min_page(), (c >> 17) % 3);
      r.page -= back;
      r.npages += back;
    }
    if (avoid_holes) {
      const auto& pages = model_.process(p).pages;
      uint64_t n = 0;
      while (n < r.npages && pages.count(r.page + n) &&
             (!pick || pick(pages.at(r.page + n))))
        n++;
      r.npages = std::max<uint64_t>(n, 1);
    }
  }
  r.npages = std::min(r.npages, model_.max_page() - r.page);
  return r;
}

// An address in process p: mostly in a page with the access `need`
// (kRead or kWrite), sometimes anywhere in the span.
uint64_t Harness::PickVa(size_t p, uint32_t b, uint32_t d, int need) const {
  std::vector<uint64_t> pages;
  for (const auto& [i, pg] : model_.process(p).pages)
    if ((pg.prot & need) || b % 4 == 1) pages.push_back(i);
  uint64_t page;
  if (pages.empty() || b % 16 == 0)
    page = model_.min_page() + (b >> 4) % config_.span_pages;
  else
    page = pages[(b >> 4) % pages.size()];
  const uint64_t off = (d & 1) ? 0 : (d >> 1) % kPageBytes;
  return page * kPageBytes + off;
}

absl::Status Harness::Step(const Op& op) {
  const size_t p = op.a % procs_.size();
  switch (op.kind) {
    case OpKind::kMap:
      return DoMap(p, op);
    case OpKind::kUnmap:
    case OpKind::kProtect:
    case OpKind::kInherit:
    case OpKind::kWire:
    case OpKind::kUnwire:
      return DoRange(p, op);
    case OpKind::kFork:
      return DoFork(p);
    case OpKind::kExit:
      return DoExit(p);
    case OpKind::kRead:
      return DoRead(p, op);
    case OpKind::kWrite:
      return DoWrite(p, op);
    case OpKind::kPageOut:
      return DoPageOut(p, op);
    case OpKind::kSwapOff:
      return DoSwapOff(op);
    case OpKind::kCount:
      break;
  }
  last_ = "unknown op";
  return absl::InvalidArgumentError(last_);
}

absl::Status Harness::DoMap(size_t p, const Op& op) {
  static constexpr int kProts[] = {kReadWrite, kReadWrite, kReadWrite,
                                   kReadWrite, kReadWrite, kRead,
                                   kRead,      kNone};
  const bool large = config_.large_map_one_in != 0 &&
                     (op.d >> 8) % config_.large_map_one_in == 0;
  const bool fixed = !large && op.d % 4 != 0;
  const bool shared = (op.d >> 2) % 5 == 0;
  const int prot = kProts[(op.d >> 5) % 8];
  const uint64_t npages =
      large ? UVM_AMAP_LARGE + op.c % 40 : 1 + op.c % config_.max_map_pages;
  std::optional<uint64_t> fixed_page;
  if (fixed) {
    uint64_t page = model_.min_page() + (op.b >> 1) % config_.span_pages;
    if (op.b & 1) {
      // The first gap at or above it that fits, so that fewer fail.
      const auto& pages = model_.process(p).pages;
      for (auto it = pages.lower_bound(page);
           it != pages.end() && it->first < page + npages; ++it)
        page = it->first + 1;
    }
    fixed_page = page;
  }

  uint64_t first = 0;
  const Expect want = model_.Map(p, npages, prot, shared, fixed_page, &first);
  last_ = absl::StrFormat(
      "p%d map %d pages %s %s %s", model_.process(p).id, npages, ProtName(prot),
      shared ? "shared" : "private",
      fixed ? absl::StrFormat("fixed at 0x%x", *fixed_page * kPageBytes)
            : std::string("anywhere"));
  MapOptions options;
  options.shared = shared;
  if (fixed_page) options.fixed_address = *fixed_page * kPageBytes;
  absl::StatusOr<uint64_t> got =
      procs_[p].Mmap(npages * kPageBytes, prot, options);
  if (absl::Status s = Expected(got.status(), want); !s.ok()) return s;
  if (got.ok() && *got != first * kPageBytes)
    return absl::InternalError(
        absl::StrFormat("%s: mapped at 0x%x, the model at 0x%x", last_, *got,
                        first * kPageBytes));
  if (got.ok()) absl::StrAppendFormat(&last_, " -> 0x%x", *got);
  return absl::OkStatus();
}

absl::Status Harness::DoRange(size_t p, const Op& op) {
  const bool wiring = op.kind == OpKind::kWire || op.kind == OpKind::kUnwire;
  std::function<bool(const Page&)> pick;
  if (op.kind == OpKind::kWire)
    pick = [](const Page& pg) { return pg.prot != kNone; };
  if (op.kind == OpKind::kUnwire)
    pick = [](const Page& pg) { return pg.wired > 0; };
  const Range r = PickRange(p, op.b, op.c, op.kind == OpKind::kUnmap || wiring,
                            pick, wiring);
  const uint64_t va = r.page * kPageBytes, len = r.npages * kPageBytes;
  Process& proc = procs_[p];
  last_ = absl::StrFormat("p%d %s [0x%x, 0x%x)", model_.process(p).id,
                          OpKindName(op.kind), va, va + len);
  switch (op.kind) {
    case OpKind::kUnmap:
      return Expected(proc.Munmap(va, len), model_.Unmap(p, r.page, r.npages));
    case OpKind::kProtect: {
      static constexpr int kProts[] = {kReadWrite, kReadWrite, kReadWrite,
                                       kRead,      kRead,      kNone};
      const int prot = kProts[op.d % 6];
      absl::StrAppend(&last_, " ", ProtName(prot));
      return Expected(proc.Mprotect(va, len, prot),
                      model_.Protect(p, r.page, r.npages, prot));
    }
    case OpKind::kInherit: {
      static constexpr Inherit kInherits[] = {Inherit::kCopy, Inherit::kShare,
                                              Inherit::kNone};
      const Inherit inherit = kInherits[op.d % 3];
      absl::StrAppend(&last_, " ", InheritName(inherit));
      return Expected(proc.Minherit(va, len, inherit),
                      model_.SetInherit(p, r.page, r.npages, inherit));
    }
    case OpKind::kWire:
      return Expected(proc.Wire(va, len), model_.Wire(p, r.page, r.npages));
    case OpKind::kUnwire:
      return Expected(proc.Unwire(va, len), model_.Unwire(p, r.page, r.npages));
    default:
      break;
  }
  return absl::InvalidArgumentError("not a range op");
}

absl::Status Harness::DoFork(size_t p) {
  last_ = absl::StrFormat("p%d fork", model_.process(p).id);
  if (procs_.size() >= config_.max_processes) {
    absl::StrAppend(&last_, " (skipped: enough processes)");
    return absl::OkStatus();
  }
  absl::StatusOr<Process> child = procs_[p].Fork();
  if (!child.ok())
    return absl::InternalError(
        absl::StrCat(last_, ": ", child.status().message()));
  procs_.push_back(std::move(*child));
  const size_t c = model_.Fork(p);
  absl::StrAppendFormat(&last_, " -> p%d", model_.process(c).id);
  return absl::OkStatus();
}

absl::Status Harness::DoExit(size_t p) {
  last_ = absl::StrFormat("p%d exit", model_.process(p).id);
  if (procs_.size() <= 1) {
    absl::StrAppend(&last_, " (skipped: the last process)");
    return absl::OkStatus();
  }
  absl::Status s = procs_[p].Exit();
  procs_.erase(procs_.begin() + static_cast<long>(p));
  model_.Exit(p);
  if (!s.ok())
    return absl::InternalError(absl::StrCat(last_, ": ", s.message()));
  return absl::OkStatus();
}

absl::Status Harness::DoRead(size_t p, const Op& op) {
  const uint64_t va = PickVa(p, op.b, op.d, kRead);
  const uint64_t len = (op.c & 3) == 0 ? 1 + (op.c >> 2) % (2 * kPageBytes)
                                       : 1 + (op.c >> 2) % 64;
  last_ =
      absl::StrFormat("p%d read [0x%x, +%d)", model_.process(p).id, va, len);
  const Expect want = model_.CanAccess(p, va, len, false);
  std::vector<uint8_t> got(len);
  if (absl::Status s = Expected(procs_[p].Read(va, got.data(), len), want);
      !s.ok())
    return s;
  if (want != Expect::kOk) return absl::OkStatus();
  const std::vector<uint8_t> expect = model_.Read(p, va, len);
  const auto [g, e] = std::mismatch(got.begin(), got.end(), expect.begin());
  if (g == got.end()) return absl::OkStatus();
  const uint64_t at = va + static_cast<uint64_t>(g - got.begin());
  return absl::InternalError(absl::StrFormat(
      "%s: byte at 0x%x is 0x%02x, the model has 0x%02x (sharing group %d)",
      last_, at, *g, *e,
      model_.process(p).pages.at(at / kPageBytes).cell->group));
}

absl::Status Harness::DoWrite(size_t p, const Op& op) {
  const uint64_t va = PickVa(p, op.b, op.d, kWrite);
  const uint64_t len = (op.c & 3) == 0 ? 1 + (op.c >> 2) % (2 * kPageBytes)
                                       : 1 + (op.c >> 2) % 64;
  last_ =
      absl::StrFormat("p%d write [0x%x, +%d)", model_.process(p).id, va, len);
  const std::vector<uint8_t> data = WriteData(op.d, len);
  const Expect want = model_.CanAccess(p, va, len, true);
  if (want == Expect::kOk) {
    if (absl::Status s = Expected(procs_[p].Write(va, data.data(), len), want);
        !s.ok())
      return s;
    model_.Write(p, va, data.data(), len);
    return absl::OkStatus();
  }
  // A refused copy stops somewhere inside the page it faults on, and
  // memcpy's order is unspecified: write page by page instead, so that
  // the pages before the refused one are written whole and it not at all.
  for (uint64_t done = 0; done < len;) {
    const uint64_t at = va + done;
    const uint64_t n = std::min(len - done, kPageBytes - at % kPageBytes);
    const Expect page_want = model_.CanAccess(p, at, n, true);
    if (absl::Status s =
            Expected(procs_[p].Write(at, data.data() + done, n), page_want);
        !s.ok())
      return s;
    if (page_want != Expect::kOk) break;
    model_.Write(p, at, data.data() + done, n);
    done += n;
  }
  return absl::OkStatus();
}

// Memory pressure: the page daemon frees 1 to 32 pages (one op in four),
// or a range of process p is paged out whatever the queues say.  Both
// must leave every byte as it was (the checks after the step read
// swapped pages from their slots) and never page out a wired page.
absl::Status Harness::DoPageOut(size_t p, const Op& op) {
  if (op.d % 4 == 0) {
    const int pages = 1 + static_cast<int>(op.c % 32);
    last_ = absl::StrFormat("page daemon, %d pages", pages);
    absl::StatusOr<int> freed = machine_.PageOut(pages);
    if (!freed.ok())
      return absl::InternalError(
          absl::StrCat(last_, ": ", freed.status().message()));
    absl::StrAppendFormat(&last_, " -> %d freed", *freed);
    return absl::OkStatus();
  }
  const Range r = PickRange(p, op.b, op.c, true, nullptr, false);
  const uint64_t va = r.page * kPageBytes, len = r.npages * kPageBytes;
  last_ = absl::StrFormat("p%d pageout [0x%x, 0x%x)", model_.process(p).id, va,
                          va + len);
  absl::StatusOr<int> n = procs_[p].PageOut(va, len);
  if (!n.ok())
    return absl::InternalError(absl::StrCat(last_, ": ", n.status().message()));
  absl::StrAppendFormat(&last_, " -> %d paged out", *n);
  return absl::OkStatus();
}

// Swap-off of every slot (one op in three) or of a run of up to 64
// slots, then swap-on of them: every swapped-out anon in the range is
// paged back in, and the contents do not change.  Only an injected
// allocation failure may make it fail (the slots then stay on).
absl::Status Harness::DoSwapOff(const Op& op) {
  const int slots = static_cast<int>(config_.machine.swap_slots);
  const bool all = op.d % 3 == 0;
  const int first = 1 + static_cast<int>(op.b % static_cast<uint32_t>(slots));
  const int end = std::min(slots + 1, first + 1 + static_cast<int>(op.c % 64));
  last_ = all ? std::string("swapoff all")
              : absl::StrFormat("swapoff slots [%d, %d)", first, end);
  const int in_use = machine_.Stats().swap_in_use;
  absl::Status s = all ? machine_.SwapOff() : machine_.SwapOff(first, end);
  absl::StrAppendFormat(&last_, " (%d slots in use)", in_use);
  if (!s.ok()) {
    const bool tolerated = allocations_may_fail_ &&
                           (s.code() == absl::StatusCode::kResourceExhausted ||
                            s.code() == absl::StatusCode::kFailedPrecondition);
    if (!tolerated)
      return absl::InternalError(absl::StrCat(last_, ": ", s.message()));
    // A failed swapoff of every slot may have turned some runs off.
    absl::StrAppend(&last_, " -> ", CodeName(s.code()));
    if (absl::Status on = machine_.SwapOn(); !on.ok())
      return absl::InternalError(absl::StrCat(last_, ": ", on.message()));
    return absl::OkStatus();
  }
  if (all ? machine_.Stats().swap_in_use != 0
          : machine_.Stats().swap_in_use > in_use)
    return absl::InternalError(absl::StrFormat(
        "%s: %d slots in use afterwards", last_, machine_.Stats().swap_in_use));
  s = all ? machine_.SwapOn() : machine_.SwapOn(first, end);
  if (!s.ok())
    return absl::InternalError(absl::StrCat(last_, ", swapon: ", s.message()));
  return absl::OkStatus();
}

// The process's entries against its model pages: the same pages mapped
// with the same attributes, each holding the model's bytes, and the pages
// of one sharing group all in one amap slot.
absl::Status Harness::CheckProcess(size_t p) {
  const ModelProcess& mp = model_.process(p);
  vm_map* map = &procs_[p].vmspace()->vm_map;
  auto it = mp.pages.begin();
  static const std::vector<uint8_t> kZero(kPageBytes, 0);
  std::vector<uint8_t> swapped;
  for (vm_map_entry* e = uvm_map_first(map); e != nullptr;
       e = uvm_map_next(map, e)) {
    for (vaddr_t va = e->start; va < e->end; va += PAGE_SIZE) {
      const uint64_t page = va / kPageBytes;
      if (it == mp.pages.end() || it->first != page)
        return absl::InternalError(absl::StrFormat(
            "p%d: the emulator maps 0x%x, the model %s", mp.id, va,
            it == mp.pages.end()
                ? std::string("maps nothing more")
                : absl::StrFormat("maps 0x%x next", it->first * kPageBytes)));
      const Page& mpg = it->second;
      ++it;
      if (e->protection != mpg.prot || FromVm(e->inheritance) != mpg.inherit ||
          e->wired_count != mpg.wired)
        return absl::InternalError(absl::StrFormat(
            "p%d va 0x%x: the entry has %s inherit %s wired %d, the model "
            "%s inherit %s wired %d",
            mp.id, va, ProtName(e->protection),
            InheritName(FromVm(e->inheritance)), e->wired_count,
            ProtName(mpg.prot), InheritName(mpg.inherit), mpg.wired));
      if (!config_.check_contents) continue;
      const vm_amap* amap = e->aref.ar_amap;
      const int slot =
          e->aref.ar_pageoff + static_cast<int>((va - e->start) >> PAGE_SHIFT);
      const vm_anon* anon = amap != nullptr ? amap->am_anon[slot] : nullptr;
      const uint8_t* bytes = kZero.data();
      if (anon != nullptr && anon->an_page != nullptr) {
        bytes = static_cast<const uint8_t*>(uvm_pagedata(anon->an_page));
      } else if (anon != nullptr && anon->an_swslot != 0) {
        swapped.resize(kPageBytes);
        uvm_swap_get(anon->an_swslot, swapped.data());
        bytes = swapped.data();
      } else if (anon != nullptr) {
        return absl::InternalError(absl::StrFormat(
            "p%d va 0x%x: anon %p has neither a page nor a swap slot", mp.id,
            va, anon));
      }
      const Cell& cell = *mpg.cell;
      const uint8_t* want =
          cell.bytes.empty() ? kZero.data() : cell.bytes.data();
      if (bytes != want && std::memcmp(bytes, want, kPageBytes) != 0) {
        size_t i = 0;
        while (bytes[i] == want[i]) i++;
        return absl::InternalError(absl::StrFormat(
            "p%d va 0x%x (sharing group %d): byte %d is 0x%02x, the model "
            "has 0x%02x",
            mp.id, va, cell.group, i, bytes[i], want[i]));
      }
    }
  }
  if (it != mp.pages.end())
    return absl::InternalError(
        absl::StrFormat("p%d: the model maps 0x%x, the emulator does not",
                        mp.id, it->first * kPageBytes));
  return absl::OkStatus();
}

absl::Status Harness::Check() {
  for (size_t p = 0; p < procs_.size(); p++)
    if (absl::Status s = CheckProcess(p); !s.ok()) return s;

  // One sharing group, one amap slot.
  struct Slot {
    const vm_amap* amap;
    int slot;
    bool operator==(const Slot&) const = default;
  };
  std::map<const Cell*, std::pair<Slot, int>> groups;
  for (size_t p = 0; p < procs_.size(); p++) {
    vm_map* map = &procs_[p].vmspace()->vm_map;
    const ModelProcess& mp = model_.process(p);
    for (vm_map_entry* e = uvm_map_first(map); e != nullptr;
         e = uvm_map_next(map, e)) {
      for (vaddr_t va = e->start; va < e->end; va += PAGE_SIZE) {
        const Cell* cell = mp.pages.at(va / kPageBytes).cell.get();
        if (cell == nullptr) continue;
        const Slot s{e->aref.ar_amap,
                     e->aref.ar_pageoff +
                         static_cast<int>((va - e->start) >> PAGE_SHIFT)};
        auto [g, fresh] = groups.try_emplace(cell, s, mp.id);
        if (fresh) continue;
        if (s.amap == nullptr || !(g->second.first == s))
          return absl::InternalError(absl::StrFormat(
              "sharing group %d: p%d maps it at slot %d of amap %p, p%d at "
              "va 0x%x through slot %d of amap %p",
              cell->group, g->second.second, g->second.first.slot,
              g->second.first.amap, mp.id, va, s.slot, s.amap));
      }
    }
  }
  if (!config_.check_kernel) return absl::OkStatus();
  std::vector<vmspace*> spaces;
  for (const Process& proc : procs_) spaces.push_back(proc.vmspace());
  return CheckKernel(spaces, process_kmem_objects_, process_kmem_bytes_);
}

absl::Status Harness::Finish() {
  while (!procs_.empty()) {
    last_ = absl::StrFormat("p%d exit (finish)", model_.process(0).id);
    if (absl::Status s = procs_.front().Exit(); !s.ok()) return s;
    procs_.erase(procs_.begin());
    model_.Exit(0);
    std::vector<vmspace*> spaces;
    for (const Process& proc : procs_) spaces.push_back(proc.vmspace());
    if (absl::Status s =
            CheckKernel(spaces, process_kmem_objects_, process_kmem_bytes_);
        !s.ok())
      return absl::InternalError(absl::StrCat(last_, ": ", s.message()));
  }
  return Kernel::CheckNoLeaks();
}

std::string Harness::Dump() const {
  std::string out;
  for (size_t p = 0; p < procs_.size(); p++) {
    const ModelProcess& mp = model_.process(p);
    absl::StrAppendFormat(&out, "p%d (emulator pid %d):\n", mp.id,
                          procs_[p].pid());
    out += procs_[p].Dump();
    out += "  model:";
    for (const auto& [i, pg] : mp.pages)
      absl::StrAppendFormat(&out, " 0x%x:%s/%s/g%d%s%s", i * kPageBytes,
                            ProtName(pg.prot), InheritName(pg.inherit),
                            pg.cell->group, pg.cell->IsZero() ? "/0" : "",
                            pg.wired ? "/W" : "");
    out += "\n";
  }
  return out;
}

RunResult RunOps(const std::vector<Op>& ops, const HarnessConfig& config,
                 const RunOptions& options, volatile size_t* progress) {
  RunResult r;
  auto harness = std::make_unique<Harness>(config);
  harness->set_allocations_may_fail(options.plan.has_value());
  const uint64_t points_before = FailurePointsSeen();
  std::optional<ScopedFailurePlan> plan;
  if (options.plan) plan.emplace(*options.plan);
  auto fail = [&](size_t i, const absl::Status& s) {
    r.ok = false;
    r.failed_op = i;
    r.message = std::string(s.message());
    r.dump = harness->Dump();
    // The kernel may be corrupt: never tear it down.
    (void)harness.release();
    return r;
  };
  for (size_t i = 0; i < ops.size(); i++) {
    if (progress != nullptr) *progress = i;
    absl::Status s = harness->Step(ops[i]);
    if (options.keep_log) r.log.push_back(harness->last());
    r.steps = i + 1;
    if (config.after_step) config.after_step(*harness);
    if (s.ok()) s = harness->Check();
    if (!s.ok()) {
      if (s.message().find(harness->last()) == std::string::npos)
        s = absl::InternalError(
            absl::StrCat("after ", harness->last(), ": ", s.message()));
      return fail(i, s);
    }
  }
  if (progress != nullptr) *progress = ops.size();
  if (absl::Status s = harness->Finish(); !s.ok())
    return fail(ops.size(),
                absl::InternalError(absl::StrCat("at the end: ", s.message())));
  r.failure_points = FailurePointsSeen() - points_before;
  if (plan) r.failures_injected = plan->failures_injected();
  plan.reset();
  harness.reset();
  return r;
}

}  // namespace uvmemu::verify
