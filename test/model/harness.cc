#include "test/model/harness.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
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

absl::Status Harness::Expected(Planned& pl, const absl::Status& got,
                               Expect want) {
  if (got.code() == want) {
    if (want != Expect::kOk) absl::StrAppend(&pl.what, " -> ", CodeName(want));
    return absl::OkStatus();
  }
  return absl::InternalError(absl::StrFormat(
      "%s: the emulator returned %s (%s), the model expects %s", pl.what,
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

// The bytes a read or write of process p accesses.
Harness::Span Harness::AccessSpan(size_t p, const Op& op, int need) const {
  Span s;
  s.va = PickVa(p, op.b, op.d, need);
  s.len = (op.c & 3) == 0 ? 1 + (op.c >> 2) % (2 * kPageBytes)
                          : 1 + (op.c >> 2) % 64;
  return s;
}

// The sharing groups whose bytes an op reads or writes: those a read or
// a write accesses, and those a fork copies (copy inheritance).  Other
// ops change no byte: attributes, mappings, page-out and swap-off (the
// last must run alone among swap-offs: two would race for the slots).
Harness::Footprint Harness::Touches(size_t p, const Op& op) const {
  Footprint f;
  const auto& pages = model_.process(p).pages;
  switch (op.kind) {
    case OpKind::kRead:
    case OpKind::kWrite: {
      const bool write = op.kind == OpKind::kWrite;
      const Span s = AccessSpan(p, op, write ? kWrite : kRead);
      const uint64_t last = (s.va + s.len - 1) / kPageBytes;
      for (uint64_t i = s.va / kPageBytes; i <= last; i++) {
        auto it = pages.find(i);
        if (it != pages.end())
          (write ? f.writes : f.reads).push_back(it->second.cell->group);
      }
      break;
    }
    case OpKind::kFork:
      for (const auto& [i, pg] : pages)
        if (pg.inherit == Inherit::kCopy) f.reads.push_back(pg.cell->group);
      break;
    case OpKind::kSwapOff:
      f.swapoff = true;
      break;
    default:
      break;
  }
  return f;
}

size_t Harness::PlanRound(const std::vector<Op>& ops, size_t begin) {
  round_.clear();
  std::vector<bool> busy(procs_.size(), false);
  std::set<uint64_t> read, written;
  bool swapoff = false;
  size_t i = begin;
  while (i < ops.size()) {
    const Op& op = ops[i];
    const size_t p = op.a % procs_.size();
    if (busy[p]) break;
    // The order of two ops' bytes in one group is unspecified: the later
    // op waits for the next round.
    const Footprint f = Touches(p, op);
    bool clash = f.swapoff && swapoff;
    for (uint64_t g : f.writes)
      clash = clash || read.count(g) || written.count(g);
    for (uint64_t g : f.reads) clash = clash || written.count(g);
    if (clash && config_.order_byte_groups) break;
    busy[p] = true;
    swapoff = swapoff || f.swapoff;
    read.insert(f.reads.begin(), f.reads.end());
    written.insert(f.writes.begin(), f.writes.end());
    round_.push_back(Plan(p, op));
    i++;
    // The set of processes changes: the next ops resolve against it.
    if (op.kind == OpKind::kFork || op.kind == OpKind::kExit) break;
  }
  return i;
}

absl::Status Harness::Step(const Op& op) {
  round_.clear();
  round_.push_back(Plan(op.a % procs_.size(), op));
  size_t failed = 0;
  return RunRound(nullptr, &failed);
}

absl::Status Harness::RunRound(Scheduler* sched, size_t* failed) {
  absl::Status ran;
  if (sched == nullptr) {
    for (Planned& pl : round_) pl.status = pl.run(pl);
  } else {
    for (Planned& pl : round_) {
      pl.concurrent = round_.size() > 1;
      sched->Spawn(pl.what, [&pl] { pl.status = pl.run(pl); });
    }
    ran = sched->RunRound();
    // A kernel thread (the page daemon) woken meanwhile finishes first:
    // the checks need a quiescent point.
    sched->Settle();
  }
  absl::Status first;
  *failed = round_.size() - 1;
  for (size_t i = 0; i < round_.size(); i++) {
    Commit(round_[i]);
    if (!round_[i].status.ok() && first.ok()) {
      first = round_[i].status;
      *failed = i;
    }
  }
  last_ = round_[*failed].what;
  if (first.ok() && !ran.ok())
    return absl::InternalError(absl::StrCat("the schedule: ", ran.message()));
  return first;
}

// Forked children join, exited processes leave: after the round, so that
// the other ops' processes keep their indices while they run.
void Harness::Commit(Planned& pl) {
  if (pl.kind == OpKind::kFork && pl.child) {
    procs_.push_back(std::move(*pl.child));
    pl.child.reset();
    const size_t c = model_.Fork(pl.p);
    absl::StrAppendFormat(&pl.what, " -> p%d", model_.process(c).id);
  }
  if (pl.kind == OpKind::kExit && pl.exits) {
    procs_.erase(procs_.begin() + static_cast<long>(pl.p));
    model_.Exit(pl.p);
  }
}

std::vector<std::string> Harness::RoundLog() const {
  std::vector<std::string> out;
  for (const Planned& pl : round_) out.push_back(pl.what);
  return out;
}

Harness::Planned Harness::Plan(size_t p, const Op& op) {
  Planned pl;
  switch (op.kind) {
    case OpKind::kMap:
      pl = PlanMap(p, op);
      break;
    case OpKind::kUnmap:
    case OpKind::kProtect:
    case OpKind::kInherit:
    case OpKind::kWire:
    case OpKind::kUnwire:
      pl = PlanRange(p, op);
      break;
    case OpKind::kFork:
      pl = PlanFork(p);
      break;
    case OpKind::kExit:
      pl = PlanExit(p);
      break;
    case OpKind::kRead:
      pl = PlanRead(p, op);
      break;
    case OpKind::kWrite:
      pl = PlanWrite(p, op);
      break;
    case OpKind::kPageOut:
      pl = PlanPageOut(p, op);
      break;
    case OpKind::kSwapOff:
      pl = PlanSwapOff(op);
      break;
    case OpKind::kCount:
      pl.what = "unknown op";
      pl.run = [](Planned& self) {
        return absl::InvalidArgumentError(self.what);
      };
      break;
  }
  pl.kind = op.kind;
  pl.p = p;
  return pl;
}

Harness::Planned Harness::PlanMap(size_t p, const Op& op) {
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
  Planned pl;
  pl.what = absl::StrFormat(
      "p%d map %d pages %s %s %s", model_.process(p).id, npages, ProtName(prot),
      shared ? "shared" : "private",
      fixed ? absl::StrFormat("fixed at 0x%x", *fixed_page * kPageBytes)
            : std::string("anywhere"));
  MapOptions options;
  options.shared = shared;
  if (fixed_page) options.fixed_address = *fixed_page * kPageBytes;
  pl.run = [this, p, npages, prot, options, want, first](Planned& self) {
    absl::StatusOr<uint64_t> got =
        procs_[p].Mmap(npages * kPageBytes, prot, options);
    if (absl::Status s = Expected(self, got.status(), want); !s.ok()) return s;
    if (got.ok() && *got != first * kPageBytes)
      return absl::InternalError(
          absl::StrFormat("%s: mapped at 0x%x, the model at 0x%x", self.what,
                          *got, first * kPageBytes));
    if (got.ok()) absl::StrAppendFormat(&self.what, " -> 0x%x", *got);
    return absl::OkStatus();
  };
  return pl;
}

Harness::Planned Harness::PlanRange(size_t p, const Op& op) {
  const bool wiring = op.kind == OpKind::kWire || op.kind == OpKind::kUnwire;
  std::function<bool(const Page&)> pick;
  if (op.kind == OpKind::kWire)
    pick = [](const Page& pg) { return pg.prot != kNone; };
  if (op.kind == OpKind::kUnwire)
    pick = [](const Page& pg) { return pg.wired > 0; };
  const Range r = PickRange(p, op.b, op.c, op.kind == OpKind::kUnmap || wiring,
                            pick, wiring);
  const uint64_t va = r.page * kPageBytes, len = r.npages * kPageBytes;
  Planned pl;
  pl.what = absl::StrFormat("p%d %s [0x%x, 0x%x)", model_.process(p).id,
                            OpKindName(op.kind), va, va + len);
  Expect want = Expect::kOk;
  std::function<absl::Status(Process&)> call;
  switch (op.kind) {
    case OpKind::kUnmap:
      want = model_.Unmap(p, r.page, r.npages);
      call = [va, len](Process& proc) { return proc.Munmap(va, len); };
      break;
    case OpKind::kProtect: {
      static constexpr int kProts[] = {kReadWrite, kReadWrite, kReadWrite,
                                       kRead,      kRead,      kNone};
      const int prot = kProts[op.d % 6];
      absl::StrAppend(&pl.what, " ", ProtName(prot));
      want = model_.Protect(p, r.page, r.npages, prot);
      call = [va, len, prot](Process& proc) {
        return proc.Mprotect(va, len, prot);
      };
      break;
    }
    case OpKind::kInherit: {
      static constexpr Inherit kInherits[] = {Inherit::kCopy, Inherit::kShare,
                                              Inherit::kNone};
      const Inherit inherit = kInherits[op.d % 3];
      absl::StrAppend(&pl.what, " ", InheritName(inherit));
      want = model_.SetInherit(p, r.page, r.npages, inherit);
      call = [va, len, inherit](Process& proc) {
        return proc.Minherit(va, len, inherit);
      };
      break;
    }
    case OpKind::kWire:
      want = model_.Wire(p, r.page, r.npages);
      call = [va, len](Process& proc) { return proc.Wire(va, len); };
      break;
    case OpKind::kUnwire:
      want = model_.Unwire(p, r.page, r.npages);
      call = [va, len](Process& proc) { return proc.Unwire(va, len); };
      break;
    default:
      call = [](Process&) {
        return absl::InvalidArgumentError("not a range op");
      };
      break;
  }
  pl.run = [this, p, want, call](Planned& self) {
    return Expected(self, call(procs_[p]), want);
  };
  return pl;
}

Harness::Planned Harness::PlanFork(size_t p) {
  Planned pl;
  pl.what = absl::StrFormat("p%d fork", model_.process(p).id);
  if (procs_.size() >= config_.max_processes) {
    absl::StrAppend(&pl.what, " (skipped: enough processes)");
    pl.run = [](Planned&) { return absl::OkStatus(); };
    return pl;
  }
  pl.run = [this, p](Planned& self) {
    absl::StatusOr<Process> child = procs_[p].Fork();
    if (!child.ok())
      return absl::InternalError(
          absl::StrCat(self.what, ": ", child.status().message()));
    self.child.emplace(std::move(*child));
    return absl::OkStatus();
  };
  return pl;
}

Harness::Planned Harness::PlanExit(size_t p) {
  Planned pl;
  pl.what = absl::StrFormat("p%d exit", model_.process(p).id);
  if (procs_.size() <= 1) {
    absl::StrAppend(&pl.what, " (skipped: the last process)");
    pl.run = [](Planned&) { return absl::OkStatus(); };
    return pl;
  }
  pl.exits = true;
  pl.run = [this, p](Planned& self) {
    if (absl::Status s = procs_[p].Exit(); !s.ok())
      return absl::InternalError(absl::StrCat(self.what, ": ", s.message()));
    return absl::OkStatus();
  };
  return pl;
}

Harness::Planned Harness::PlanRead(size_t p, const Op& op) {
  const Span s = AccessSpan(p, op, kRead);
  Planned pl;
  pl.what = absl::StrFormat("p%d read [0x%x, +%d)", model_.process(p).id, s.va,
                            s.len);
  const Expect want = model_.CanAccess(p, s.va, s.len, false);
  std::vector<uint8_t> expect;
  std::vector<uint64_t> groups;  // of each page, for the message
  if (want == Expect::kOk) {
    expect = model_.Read(p, s.va, s.len);
    const uint64_t last = (s.va + s.len - 1) / kPageBytes;
    for (uint64_t i = s.va / kPageBytes; i <= last; i++)
      groups.push_back(model_.process(p).pages.at(i).cell->group);
  }
  pl.run = [this, p, s, want, expect, groups](Planned& self) {
    std::vector<uint8_t> got(s.len);
    if (absl::Status st =
            Expected(self, procs_[p].Read(s.va, got.data(), s.len), want);
        !st.ok())
      return st;
    if (want != Expect::kOk) return absl::OkStatus();
    const auto [g, e] = std::mismatch(got.begin(), got.end(), expect.begin());
    if (g == got.end()) return absl::OkStatus();
    const uint64_t at = s.va + static_cast<uint64_t>(g - got.begin());
    return absl::InternalError(absl::StrFormat(
        "%s: byte at 0x%x is 0x%02x, the model has 0x%02x (sharing group %d)",
        self.what, at, *g, *e, groups[at / kPageBytes - s.va / kPageBytes]));
  };
  return pl;
}

Harness::Planned Harness::PlanWrite(size_t p, const Op& op) {
  const Span s = AccessSpan(p, op, kWrite);
  Planned pl;
  pl.what = absl::StrFormat("p%d write [0x%x, +%d)", model_.process(p).id, s.va,
                            s.len);
  const std::vector<uint8_t> data = WriteData(op.d, s.len);
  // The writes to issue: [done, done + n) of the data, and their outcome.
  struct Piece {
    uint64_t done, n;
    Expect want;
  };
  std::vector<Piece> pieces;
  if (const Expect want = model_.CanAccess(p, s.va, s.len, true);
      want == Expect::kOk) {
    pieces.push_back({0, s.len, want});
    model_.Write(p, s.va, data.data(), s.len);
  } else {
    // A refused copy stops somewhere inside the page it faults on, and
    // memcpy's order is unspecified: write page by page instead, so that
    // the pages before the refused one are written whole and it not at
    // all.
    for (uint64_t done = 0; done < s.len;) {
      const uint64_t at = s.va + done;
      const uint64_t n = std::min(s.len - done, kPageBytes - at % kPageBytes);
      const Expect page_want = model_.CanAccess(p, at, n, true);
      pieces.push_back({done, n, page_want});
      if (page_want != Expect::kOk) break;
      model_.Write(p, at, data.data() + done, n);
      done += n;
    }
  }
  pl.run = [this, p, s, data, pieces](Planned& self) {
    for (const Piece& x : pieces) {
      const absl::Status got =
          procs_[p].Write(s.va + x.done, data.data() + x.done, x.n);
      if (absl::Status st = Expected(self, got, x.want); !st.ok()) return st;
    }
    return absl::OkStatus();
  };
  return pl;
}

// Memory pressure: the page daemon frees 1 to 32 pages (one op in four),
// or a range of process p is paged out whatever the queues say.  Both
// must leave every byte as it was (the checks after the step read
// swapped pages from their slots) and never page out a wired page.
Harness::Planned Harness::PlanPageOut(size_t p, const Op& op) {
  Planned pl;
  if (op.d % 4 == 0) {
    const int pages = 1 + static_cast<int>(op.c % 32);
    pl.what = absl::StrFormat("page daemon, %d pages", pages);
    pl.run = [this, pages](Planned& self) {
      absl::StatusOr<int> freed = machine_.PageOut(pages);
      if (!freed.ok())
        return absl::InternalError(
            absl::StrCat(self.what, ": ", freed.status().message()));
      absl::StrAppendFormat(&self.what, " -> %d freed", *freed);
      return absl::OkStatus();
    };
    return pl;
  }
  const Range r = PickRange(p, op.b, op.c, true, nullptr, false);
  const uint64_t va = r.page * kPageBytes, len = r.npages * kPageBytes;
  pl.what = absl::StrFormat("p%d pageout [0x%x, 0x%x)", model_.process(p).id,
                            va, va + len);
  pl.run = [this, p, va, len](Planned& self) {
    absl::StatusOr<int> n = procs_[p].PageOut(va, len);
    if (!n.ok())
      return absl::InternalError(
          absl::StrCat(self.what, ": ", n.status().message()));
    absl::StrAppendFormat(&self.what, " -> %d paged out", *n);
    return absl::OkStatus();
  };
  return pl;
}

// Swap-off of every slot (one op in three) or of a run of up to 64
// slots, then swap-on of them: every swapped-out anon in the range is
// paged back in, and the contents do not change.  Only an injected
// allocation failure may make it fail (the slots then stay on), or, when
// other ops ran meanwhile, an anon that held a slot outside every amap
// for a moment (one being freed): NetBSD's swap_off then fails with
// EBUSY too.
Harness::Planned Harness::PlanSwapOff(const Op& op) {
  const int slots = static_cast<int>(config_.machine.swap_slots);
  const bool all = op.d % 3 == 0;
  const int first = 1 + static_cast<int>(op.b % static_cast<uint32_t>(slots));
  const int end = std::min(slots + 1, first + 1 + static_cast<int>(op.c % 64));
  Planned pl;
  pl.what = all ? std::string("swapoff all")
                : absl::StrFormat("swapoff slots [%d, %d)", first, end);
  pl.run = [this, all, first, end](Planned& self) {
    const int in_use = machine_.Stats().swap_in_use;
    absl::Status s = all ? machine_.SwapOff() : machine_.SwapOff(first, end);
    absl::StrAppendFormat(&self.what, " (%d slots in use)", in_use);
    if (!s.ok()) {
      const bool no_memory =
          allocations_may_fail_ &&
          (s.code() == absl::StatusCode::kResourceExhausted ||
           s.code() == absl::StatusCode::kFailedPrecondition);
      const bool busy = self.concurrent &&
                        s.code() == absl::StatusCode::kFailedPrecondition &&
                        absl::StrContains(s.message(), "outside every amap");
      if (!no_memory && !busy)
        return absl::InternalError(absl::StrCat(self.what, ": ", s.message()));
      if (busy) busy_swapoffs_++;
      // A failed swapoff of every slot may have turned some runs off.
      absl::StrAppend(&self.what, " -> ", CodeName(s.code()));
      if (absl::Status on = machine_.SwapOn(); !on.ok())
        return absl::InternalError(absl::StrCat(self.what, ": ", on.message()));
      return absl::OkStatus();
    }
    // The slots are off: nothing can take one of them until the swap-on.
    const int left =
        all ? machine_.Stats().swap_in_use : uvm_swap_rangeinuse(first, end);
    if (left != 0)
      return absl::InternalError(
          absl::StrFormat("%s: %d slots in use afterwards", self.what, left));
    s = all ? machine_.SwapOn() : machine_.SwapOn(first, end);
    if (!s.ok())
      return absl::InternalError(
          absl::StrCat(self.what, ", swapon: ", s.message()));
    return absl::OkStatus();
  };
  return pl;
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

std::string ScheduleName(const ScheduleOptions& schedule) {
  if (schedule.policy == SchedPolicy::kPct)
    return absl::StrFormat("pct seed %d depth %d steps %d", schedule.seed,
                           schedule.pct_depth, schedule.pct_steps);
  return absl::StrFormat(
      "%s seed %d", schedule.policy == SchedPolicy::kRandom ? "random" : "fifo",
      schedule.seed);
}

std::string ScheduleArg(const ScheduleOptions& schedule) {
  if (schedule.policy == SchedPolicy::kPct)
    return absl::StrFormat("pct:%d:%d:%d", schedule.seed, schedule.pct_depth,
                           schedule.pct_steps);
  return absl::StrFormat(
      "%s:%d", schedule.policy == SchedPolicy::kRandom ? "random" : "fifo",
      schedule.seed);
}

std::optional<ScheduleOptions> ParseScheduleArg(std::string_view text) {
  const std::vector<std::string> f =
      absl::StrSplit(absl::string_view(text.data(), text.size()), ':');
  ScheduleOptions o;
  if (f[0] == "random" && f.size() == 2) {
    o.policy = SchedPolicy::kRandom;
  } else if (f[0] == "fifo" && f.size() == 2) {
    o.policy = SchedPolicy::kFifo;
  } else if (f[0] == "pct" && (f.size() == 2 || f.size() == 4)) {
    o.policy = SchedPolicy::kPct;
    o.pct_steps = 0;
  } else {
    return std::nullopt;
  }
  if (!absl::SimpleAtoi(f[1], &o.seed)) return std::nullopt;
  if (f.size() == 4 && (!absl::SimpleAtoi(f[2], &o.pct_depth) ||
                        !absl::SimpleAtoi(f[3], &o.pct_steps)))
    return std::nullopt;
  return o;
}

namespace {

// Switch points per op, on average (measured: docs/verification.md), to
// spread PCT's change points over a run whose length is not yet known.
constexpr uint64_t kSwitchPointsPerOp = 35;

// Decisions where an LWP that could go on running (at mutex_enter,
// mutex_exit or preempt) was taken off the CPU for another one: it was
// inside its op, which the other one then overtook.
uint64_t Preemptions(const std::vector<Decision>& decisions, size_t from) {
  uint64_t n = 0;
  for (size_t i = from; i < decisions.size(); i++) {
    const Decision& d = decisions[i];
    const bool could_go_on = d.kind == Decision::Kind::kEnter ||
                             d.kind == Decision::Kind::kMutexExit ||
                             d.kind == Decision::Kind::kPreempt;
    if (could_go_on && !d.runnable.empty() && d.lid != d.runnable[0]) n++;
  }
  return n;
}

}  // namespace

RunResult RunOps(const std::vector<Op>& ops, const HarnessConfig& config,
                 const RunOptions& options, volatile size_t* progress) {
  RunResult r;
  auto harness = std::make_unique<Harness>(config);
  harness->set_allocations_may_fail(options.plan.has_value());
  const uint64_t points_before = FailurePointsSeen();
  std::optional<Scheduler> sched;
  if (options.schedule) {
    ScheduleOptions so = *options.schedule;
    if (so.policy == SchedPolicy::kPct && so.pct_steps == 0)
      so.pct_steps = std::max<uint64_t>(1, ops.size() * kSwitchPointsPerOp);
    so.max_steps = std::max<uint64_t>(so.max_steps, 1000 * ops.size());
    sched.emplace(so);
  }
  std::optional<ScopedFailurePlan> plan;
  if (options.plan) plan.emplace(*options.plan);
  auto fail = [&](size_t i, const absl::Status& s) {
    r.ok = false;
    r.failed_op = i;
    r.message = std::string(s.message());
    r.dump = harness->Dump();
    if (sched) {
      r.replay = sched->ReplayString();
      r.switch_points = sched->Steps();
    }
    r.busy_swapoffs = harness->busy_swapoffs();
    // The kernel may be corrupt: never tear it down.
    (void)harness.release();
    return r;
  };
  for (size_t i = 0; i < ops.size();) {
    // Without a schedule each op is a round of its own.
    const size_t end = sched ? harness->PlanRound(ops, i) : i + 1;
    // A crash is attributed to the round's last op, so that the prefix
    // kept for shrinking holds the whole round.
    if (progress != nullptr) *progress = end - 1;
    size_t failed = 0;
    absl::Status s;
    if (sched) {
      const size_t before = sched->Decisions().size();
      s = harness->RunRound(&*sched, &failed);
      const uint64_t preempted = Preemptions(sched->Decisions(), before);
      r.rounds++;
      if (end - i > 1) r.concurrent_rounds++;
      if (preempted > 0) r.interleaved_rounds++;
      r.preemptions += preempted;
      if (options.keep_log)
        for (const std::string& line : harness->RoundLog())
          r.log.push_back(end - i > 1
                              ? absl::StrCat(line, " [round ", r.rounds, "]")
                              : line);
    } else {
      s = harness->Step(ops[i]);
      if (options.keep_log) r.log.push_back(harness->last());
    }
    r.steps = end;
    if (config.after_step) config.after_step(*harness);
    if (s.ok()) s = harness->Check();
    if (!s.ok()) {
      if (s.message().find(harness->last()) == std::string::npos)
        s = absl::InternalError(
            absl::StrCat("after ", harness->last(), ": ", s.message()));
      if (end - i > 1)
        s = absl::InternalError(
            absl::StrFormat("in the round of ops %d..%d (op %d): %s", i,
                            end - 1, i + failed, s.message()));
      return fail(sched ? end - 1 : i, s);
    }
    i = end;
  }
  if (progress != nullptr) *progress = ops.size();
  const MemoryStats stats = harness->Stats();
  r.daemon_runs = stats.daemon_runs;
  r.page_outs = stats.page_outs;
  r.page_ins = stats.page_ins;
  if (absl::Status s = harness->Finish(); !s.ok())
    return fail(ops.size(),
                absl::InternalError(absl::StrCat("at the end: ", s.message())));
  if (sched) {
    // A replay must have been followed to its end.
    if (absl::Status s = sched->Run(); !s.ok())
      return fail(ops.size(), absl::InternalError(
                                  absl::StrCat("the schedule: ", s.message())));
    r.replay = sched->ReplayString();
    r.switch_points = sched->Steps();
  }
  r.busy_swapoffs = harness->busy_swapoffs();
  r.failure_points = FailurePointsSeen() - points_before;
  if (plan) r.failures_injected = plan->failures_injected();
  plan.reset();
  sched.reset();
  harness.reset();
  return r;
}

PagingOps CountPagingOps(const std::vector<std::string>& log,
                         bool concurrent_only) {
  PagingOps n;
  for (const std::string& line : log) {
    // RunOps marks the ops of rounds of several ops " [round N]"
    if (concurrent_only && line.find(" [round ") == std::string::npos) continue;
    // the outcomes PlanPageOut and PlanSwapOff append to their op's line
    if (line.find(" paged out") != std::string::npos &&
        line.find("-> 0 paged out") == std::string::npos)
      n.page_outs++;
    if (line.rfind("swapoff", 0) == 0 &&
        line.find("(0 slots in use)") == std::string::npos)
      n.swapoffs_with_pages++;
  }
  return n;
}

}  // namespace uvmemu::verify
