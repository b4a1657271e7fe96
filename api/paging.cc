// The paging part of the Machine and Process API: page-out, swap-off and
// swap-on, and the memory counters (lib/uvm_pdaemon.cc, lib/uvm_swap.cc).
#include <cerrno>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "api/status.h"
#include "uvm/uvm.h"
#include "uvmemu/machine.h"
#include "uvmemu/process.h"

namespace uvmemu {
namespace {

// uvm_swapoff (off) / uvm_swapon errors as a Status.
absl::Status SwapStatus(int error, bool off, int first, int end) {
  const std::string range = absl::StrFormat(
      "%s of slots [%d, %d)", off ? "swapoff" : "swapon", first, end);
  switch (error) {
    case 0:
      return absl::OkStatus();
    case EINVAL:
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: not a range of the swap device's slots 1..%d",
                          range, uvm_swap_devsize()));
    case ENXIO:
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s: a slot in the range is already %s", range, off ? "off" : "on"));
    case ENOMEM:
      return absl::ResourceExhaustedError(absl::StrFormat(
          "%s: the paged-out pages do not fit in memory", range));
    case EBUSY:
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s: slots still in use by anons outside every amap", range));
    default:
      return ErrnoStatus(error, range);
  }
}

// The maximal runs of slots that are on (want_on) or off.
std::vector<std::pair<int, int>> SlotRuns(bool want_on) {
  std::vector<std::pair<int, int>> runs;
  const int n = uvm_swap_devsize();
  for (int slot = 1; slot <= n;) {
    if (uvm_swap_slotison(slot) != want_on) {
      slot++;
      continue;
    }
    const int first = slot;
    while (slot <= n && uvm_swap_slotison(slot) == want_on) slot++;
    runs.emplace_back(first, slot);
  }
  return runs;
}

}  // namespace

absl::StatusOr<int> Machine::PageOut(int pages) {
  if (pages < 0)
    return absl::InvalidArgumentError(
        absl::StrFormat("PageOut: %d pages is negative", pages));
  return uvm_pageout_run(pages);
}

int Machine::RelieveMemoryPressure() {
  if (!uvm_pageout_needed()) return 0;
  return uvm_pageout_run(uvmexp.freetarg - uvmexp.free);
}

absl::Status Machine::SwapOff(int first_slot, int end_slot) {
  return SwapStatus(uvm_swapoff(first_slot, end_slot), /*off=*/true, first_slot,
                    end_slot);
}

absl::Status Machine::SwapOff() {
  for (const auto& [first, end] : SlotRuns(/*want_on=*/true)) {
    if (absl::Status s = SwapOff(first, end); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Machine::SwapOn(int first_slot, int end_slot) {
  return SwapStatus(uvm_swapon(first_slot, end_slot), /*off=*/false, first_slot,
                    end_slot);
}

absl::Status Machine::SwapOn() {
  for (const auto& [first, end] : SlotRuns(/*want_on=*/false)) {
    if (absl::Status s = SwapOn(first, end); !s.ok()) return s;
  }
  return absl::OkStatus();
}

MemoryStats Machine::Stats() const {
  MemoryStats s;
  s.pages = uvmexp.npages;
  s.free = uvmexp.free;
  s.active = uvmexp.active;
  s.inactive = uvmexp.inactive;
  s.wired = uvmexp.wired;
  s.anon_pages = uvmexp.anonpages;
  s.free_min = uvmexp.freemin;
  s.free_target = uvmexp.freetarg;
  s.swap_slots = uvmexp.swpages;
  s.swap_available = uvmexp.swpgavail;
  s.swap_in_use = uvmexp.swpginuse;
  s.swap_only = uvmexp.swpgonly;
  s.page_ins = uvmexp.pgswapin;
  s.page_outs = uvmexp.pgswapout;
  s.daemon_runs = uvmexp.pdwoke;
  s.daemon_freed = uvmexp.pdfreed;
  s.daemon_scanned = uvmexp.pdscans;
  s.daemon_reactivated = uvmexp.pdreact;
  s.daemon_deactivated = uvmexp.pddeact;
  s.daemon_busy = uvmexp.pdbusy;
  s.fault_no_ram = uvmexp.fltnoram;
  return s;
}

absl::StatusOr<int> Process::PageOut(uint64_t va, uint64_t length) {
  if (absl::Status s = CheckRange(va, length); !s.ok()) return s;
  return uvm_pageout_range(&vm_->vm_map, va, va + length);
}

}  // namespace uvmemu
