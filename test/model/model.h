// The reference model of process memory that the emulator is checked
// against (docs/verification.md).  It knows nothing of UVM: each process
// is a map from page number to a page, and each page's bytes live in a
// Cell.  A Cell is an explicit sharing group: the pages of all processes
// that hold the same Cell see each other's writes (MAP_SHARED, or
// MAP_INHERIT_SHARE at fork); a private copy (copy inheritance at fork)
// gets a new Cell with the same bytes.
//
// Every operation mirrors uvmemu::Process: it predicts the status code the
// emulator must return and, on success, applies the operation.
#ifndef UVMEMU_TEST_MODEL_MODEL_H
#define UVMEMU_TEST_MODEL_MODEL_H

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "uvmemu/process.h"

namespace uvmemu::verify {

inline constexpr uint64_t kPageBytes = 4096;

// A sharing group: the bytes of one page as every member sees them.
struct Cell {
  uint64_t group = 0;          // unique id, for messages
  std::vector<uint8_t> bytes;  // empty: all zero (never written)
  uint64_t version = 0;        // bumped by every write

  uint8_t At(size_t i) const { return bytes.empty() ? 0 : bytes[i]; }
  bool IsZero() const;
};

struct Page {
  std::shared_ptr<Cell> cell;
  int prot = kReadWrite;
  Inherit inherit = Inherit::kCopy;
  int wired = 0;        // mlock count (munlock drops it to 0)
  uint64_t region = 0;  // the Map() call that created it, for whole unmaps
};

struct ModelProcess {
  int id = 0;                      // stable name in messages ("p3")
  std::map<uint64_t, Page> pages;  // by page number (va / kPageBytes)
};

// The outcome the emulator must produce: OK or one status code.
using Expect = absl::StatusCode;

class Model {
 public:
  // Pages [min_page, max_page) are the user range of every process.
  Model(uint64_t min_page, uint64_t max_page);

  size_t process_count() const { return procs_.size(); }
  const ModelProcess& process(size_t i) const { return procs_[i]; }
  const std::vector<ModelProcess>& processes() const { return procs_; }
  uint64_t min_page() const { return min_page_; }
  uint64_t max_page() const { return max_page_; }

  // Spawn: a process with no pages; returns its index.
  size_t Spawn();

  // mmap: on success returns the first page (fixed or first fit).
  Expect Map(size_t p, uint64_t npages, int prot, bool shared,
             std::optional<uint64_t> fixed_page, uint64_t* first_page);
  Expect Unmap(size_t p, uint64_t page, uint64_t npages);
  Expect Protect(size_t p, uint64_t page, uint64_t npages, int prot);
  Expect SetInherit(size_t p, uint64_t page, uint64_t npages, Inherit inherit);
  Expect Wire(size_t p, uint64_t page, uint64_t npages);
  Expect Unwire(size_t p, uint64_t page, uint64_t npages);
  // The child is appended; returns its index.
  size_t Fork(size_t p);
  void Exit(size_t p);

  // Whether [va, va + len) may be read / written by process p.
  Expect CanAccess(size_t p, uint64_t va, uint64_t len, bool write) const;
  // Bytes at [va, va + len) (CanAccess must be OK).
  std::vector<uint8_t> Read(size_t p, uint64_t va, uint64_t len) const;
  void Write(size_t p, uint64_t va, const uint8_t* src, uint64_t len);

  // Pages that are mapped in p, in order (for choosing operands).
  std::vector<uint64_t> MappedPages(size_t p) const;
  // The range of the mapping (Map call) that page belongs to, clipped to
  // the pages of it that are still contiguous around `page`.
  void RegionAround(size_t p, uint64_t page, uint64_t* first,
                    uint64_t* npages) const;

 private:
  Expect CheckRange(uint64_t page, uint64_t npages) const;
  std::shared_ptr<Cell> NewCell();

  uint64_t min_page_, max_page_;
  std::vector<ModelProcess> procs_;
  uint64_t next_group_ = 1;
  uint64_t next_region_ = 1;
  int next_id_ = 1;
};

}  // namespace uvmemu::verify

#endif  // UVMEMU_TEST_MODEL_MODEL_H
