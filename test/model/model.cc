#include "test/model/model.h"

#include <algorithm>
#include <cstring>

namespace uvmemu::verify {

bool Cell::IsZero() const {
  return std::all_of(bytes.begin(), bytes.end(),
                     [](uint8_t b) { return b == 0; });
}

Model::Model(uint64_t min_page, uint64_t max_page)
    : min_page_(min_page), max_page_(max_page) {}

std::shared_ptr<Cell> Model::NewCell() {
  auto cell = std::make_shared<Cell>();
  cell->group = next_group_++;
  return cell;
}

size_t Model::Spawn() {
  procs_.push_back(ModelProcess{.id = next_id_++, .pages = {}});
  return procs_.size() - 1;
}

// As Process::CheckRange: non-empty and inside the user range.
Expect Model::CheckRange(uint64_t page, uint64_t npages) const {
  if (npages == 0) return Expect::kInvalidArgument;
  if (page < min_page_ || npages > max_page_ - page)
    return Expect::kInvalidArgument;
  return Expect::kOk;
}

Expect Model::Map(size_t p, uint64_t npages, int prot, bool shared,
                  std::optional<uint64_t> fixed_page, uint64_t* first_page) {
  ModelProcess& pr = procs_[p];
  uint64_t first = fixed_page.value_or(min_page_);
  if (Expect e = CheckRange(first, npages); e != Expect::kOk) return e;
  if (fixed_page) {
    auto it = pr.pages.lower_bound(first);
    if (it != pr.pages.end() && it->first < first + npages)
      return Expect::kAlreadyExists;
  } else {
    // First fit from the bottom of the user range.
    for (auto it = pr.pages.lower_bound(first); it != pr.pages.end(); ++it) {
      if (it->first >= first + npages) break;
      first = it->first + 1;
    }
    if (npages > max_page_ - first) return Expect::kResourceExhausted;
  }
  const uint64_t region = next_region_++;
  for (uint64_t i = first; i < first + npages; i++) {
    Page pg;
    pg.cell = NewCell();
    pg.prot = prot;
    pg.inherit = shared ? Inherit::kShare : Inherit::kCopy;
    pg.region = region;
    pr.pages[i] = std::move(pg);
  }
  *first_page = first;
  return Expect::kOk;
}

Expect Model::Unmap(size_t p, uint64_t page, uint64_t npages) {
  if (Expect e = CheckRange(page, npages); e != Expect::kOk) return e;
  ModelProcess& pr = procs_[p];
  pr.pages.erase(pr.pages.lower_bound(page),
                 pr.pages.lower_bound(page + npages));
  return Expect::kOk;
}

Expect Model::Protect(size_t p, uint64_t page, uint64_t npages, int prot) {
  if (Expect e = CheckRange(page, npages); e != Expect::kOk) return e;
  ModelProcess& pr = procs_[p];
  for (auto it = pr.pages.lower_bound(page);
       it != pr.pages.end() && it->first < page + npages; ++it)
    it->second.prot = prot;
  return Expect::kOk;
}

Expect Model::SetInherit(size_t p, uint64_t page, uint64_t npages,
                         Inherit inherit) {
  if (Expect e = CheckRange(page, npages); e != Expect::kOk) return e;
  ModelProcess& pr = procs_[p];
  for (auto it = pr.pages.lower_bound(page);
       it != pr.pages.end() && it->first < page + npages; ++it)
    it->second.inherit = inherit;
  return Expect::kOk;
}

// mlock: EFAULT ("OutOfRange") if the first page is not mapped; EINVAL if
// the range has a hole or a page without access.  Each call adds one
// wiring.
Expect Model::Wire(size_t p, uint64_t page, uint64_t npages) {
  if (Expect e = CheckRange(page, npages); e != Expect::kOk) return e;
  ModelProcess& pr = procs_[p];
  if (!pr.pages.count(page)) return Expect::kOutOfRange;
  for (uint64_t i = page; i < page + npages; i++) {
    auto it = pr.pages.find(i);
    if (it == pr.pages.end() || it->second.prot == kNone)
      return Expect::kInvalidArgument;
  }
  for (uint64_t i = page; i < page + npages; i++) pr.pages[i].wired++;
  return Expect::kOk;
}

// munlock: as mlock, but EINVAL for a page that is not wired; one call
// undoes every wiring.
Expect Model::Unwire(size_t p, uint64_t page, uint64_t npages) {
  if (Expect e = CheckRange(page, npages); e != Expect::kOk) return e;
  ModelProcess& pr = procs_[p];
  if (!pr.pages.count(page)) return Expect::kOutOfRange;
  for (uint64_t i = page; i < page + npages; i++) {
    auto it = pr.pages.find(i);
    if (it == pr.pages.end() || it->second.wired == 0)
      return Expect::kInvalidArgument;
  }
  for (uint64_t i = page; i < page + npages; i++) pr.pages[i].wired = 0;
  return Expect::kOk;
}

size_t Model::Fork(size_t p) {
  ModelProcess child{.id = next_id_++, .pages = {}};
  for (const auto& [i, pg] : procs_[p].pages) {
    if (pg.inherit == Inherit::kNone) continue;
    Page cp = pg;
    cp.wired = 0;
    if (pg.inherit == Inherit::kCopy) {
      cp.cell = NewCell();
      cp.cell->bytes = pg.cell->bytes;
    }
    child.pages[i] = std::move(cp);
  }
  procs_.push_back(std::move(child));
  return procs_.size() - 1;
}

void Model::Exit(size_t p) { procs_.erase(procs_.begin() + p); }

Expect Model::CanAccess(size_t p, uint64_t va, uint64_t len, bool write) const {
  if (len == 0) return Expect::kOk;
  const ModelProcess& pr = procs_[p];
  const int need = write ? kWrite : kRead;
  const uint64_t last = (va + len - 1) / kPageBytes;
  for (uint64_t i = va / kPageBytes; i <= last; i++) {
    auto it = pr.pages.find(i);
    if (it == pr.pages.end() || (it->second.prot & need) == 0)
      return Expect::kOutOfRange;  // EFAULT
  }
  return Expect::kOk;
}

std::vector<uint8_t> Model::Read(size_t p, uint64_t va, uint64_t len) const {
  std::vector<uint8_t> out(len);
  const ModelProcess& pr = procs_[p];
  for (uint64_t done = 0; done < len;) {
    const uint64_t at = va + done;
    const uint64_t off = at % kPageBytes;
    const uint64_t n = std::min(len - done, kPageBytes - off);
    const Cell& cell = *pr.pages.at(at / kPageBytes).cell;
    if (cell.bytes.empty())
      std::memset(out.data() + done, 0, n);
    else
      std::memcpy(out.data() + done, cell.bytes.data() + off, n);
    done += n;
  }
  return out;
}

void Model::Write(size_t p, uint64_t va, const uint8_t* src, uint64_t len) {
  ModelProcess& pr = procs_[p];
  for (uint64_t done = 0; done < len;) {
    const uint64_t at = va + done;
    const uint64_t off = at % kPageBytes;
    const uint64_t n = std::min(len - done, kPageBytes - off);
    Cell& cell = *pr.pages.at(at / kPageBytes).cell;
    if (cell.bytes.empty()) cell.bytes.assign(kPageBytes, 0);
    std::memcpy(cell.bytes.data() + off, src + done, n);
    cell.version++;
    done += n;
  }
}

std::vector<uint64_t> Model::MappedPages(size_t p) const {
  std::vector<uint64_t> out;
  out.reserve(procs_[p].pages.size());
  for (const auto& [i, pg] : procs_[p].pages) out.push_back(i);
  return out;
}

void Model::RegionAround(size_t p, uint64_t page, uint64_t* first,
                         uint64_t* npages) const {
  const auto& pages = procs_[p].pages;
  const uint64_t region = pages.at(page).region;
  uint64_t lo = page, hi = page;
  for (auto it = pages.find(page); it != pages.begin();) {
    --it;
    if (it->first != lo - 1 || it->second.region != region) break;
    lo = it->first;
  }
  for (auto it = pages.find(page); ++it != pages.end();) {
    if (it->first != hi + 1 || it->second.region != region) break;
    hi = it->first;
  }
  *first = lo;
  *npages = hi - lo + 1;
}

}  // namespace uvmemu::verify
