// Host system calls on the MMU's reservation (see emu/host_vm.h).
//
// Linux refuses any mmap once a process holds more than vm.max_map_count
// mappings (a MAP_FIXED mmap that splits a mapping can take it one past
// the limit), even an mmap that would lower the count; munmap without a
// split still works.  So re-reservation falls back to munmap + mmap
// (with sparse windows it is a munmap), and the other calls evict (which
// re-reserves) and retry.
#include "emu/host_vm.h"

#include <sys/mman.h>
#include <sys/systm.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "emu/mmu_state.h"

namespace uvmemu::mmu::internal {
namespace {

// ENOMEM retries before giving up: each retry first evicts a batch, so
// this many failures mean the host's limit is taken by something else.
constexpr int kMaxEnomemRetries = 64;

int MapReservation(char* addr, size_t len) {
  void* p =
      mmap(addr, len, PROT_NONE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
  return p == MAP_FAILED ? errno : 0;
}

// Runs `call` (returning 0 or an errno) until it succeeds, evicting host
// mappings while it fails with ENOMEM.  The host's limit is lower than
// the budget then: the budget in force drops to what fits.
template <class Call>
void RetryOnEnomem(const char* what, char* addr, size_t len,
                   const Exclusion& keep, Call call) {
  State& s = S();
  for (int attempt = 0;; attempt++) {
    const int error = call();
    if (error == 0) return;
    if (error != ENOMEM) {
      panic("mmu: %s of %zu bytes at %p: %s", what, len,
            static_cast<void*>(addr), strerror(error));
    }
    const size_t batch = std::max<size_t>(1, s.resident.size() / 16);
    if (attempt == kMaxEnomemRetries || Evict(batch, keep) == 0) {
      panic(
          "mmu: %s of %zu bytes at %p: out of host mappings with %zu "
          "established (host_mapping_budget %zu; vm.max_map_count is "
          "taken by other mappings of this process?)",
          what, len, static_cast<void*>(addr), s.resident.size(),
          s.config.host_mapping_budget);
    }
    s.budget = std::max<size_t>(1, std::min(s.budget, s.resident.size()));
  }
}

}  // namespace

int HostProtBits(vm_prot_t host_prot) {
  int bits = PROT_NONE;
  if (host_prot & (VM_PROT_READ | VM_PROT_EXECUTE)) bits |= PROT_READ;
  if (host_prot & VM_PROT_WRITE) bits |= PROT_READ | PROT_WRITE;
  return bits;
}

int TryReserve(char* addr, size_t len) {
  // Sparse: a hole.  munmap fails (ENOMEM) only at the host's limit, and
  // only if it would split a mapping in two.
  if (S().sparse) return munmap(addr, len) == 0 ? 0 : errno;
  int error = MapReservation(addr, len);
  if (error != ENOMEM) return error;
  // Over the limit: unmap first (lowering the count), then reserve the
  // hole.  Nothing else runs on this thread in between, and nothing
  // else maps at fixed addresses inside the reservation.
  if (munmap(addr, len) != 0) return errno;
  return MapReservation(addr, len);
}

void HostMapFrame(char* addr, vm_prot_t host_prot, paddr_t pa, bool replace,
                  const Exclusion& keep) {
  const State& s = S();
  // No MAP_POPULATE: the access that made us map the frame comes next
  // and takes a minor fault to fill the PTE, which costs less than
  // populating here.  MAP_POPULATE faults a shared mapping in as a read,
  // and a read fault on a file mapping also maps the neighbouring pages
  // ("fault-around": with frames merged into one host mapping, up to 16
  // pages to look at); the write fault of a store does not.  Measured in
  // interleaved runs of a fault loop (21 each): about 10% less per
  // copy-on-write fault, the same for zero fill.
  // Into a hole: MAP_FIXED_NOREPLACE, never over someone else's mapping.
  const bool into_hole = s.sparse && !replace;
  const int fixed = into_hole ? MAP_FIXED_NOREPLACE : MAP_FIXED;
  RetryOnEnomem("mmap of a frame", addr, PAGE_SIZE, keep, [&] {
    void* p = mmap(addr, PAGE_SIZE, HostProtBits(host_prot),
                   MAP_SHARED | fixed, s.memfd, static_cast<off_t>(pa));
    if (p == MAP_FAILED && errno == EEXIST && into_hole) {
      panic(
          "mmu: a mapping the MMU did not make is at %p, inside the "
          "window reservation [%p, %p) (something mapped it at a fixed "
          "address; run with sparse_windows off to keep the reservation)",
          static_cast<void*>(addr), static_cast<void*>(s.base),
          static_cast<void*>(s.base + s.reservation_bytes));
    }
    if (p != MAP_FAILED && p != addr) {
      panic("mmu: mmap of a frame at %p landed at %p",
            static_cast<void*>(addr), p);
    }
    return p == MAP_FAILED ? errno : 0;
  });
}

bool HostExtendMapping(char* addr) {
  // Growing in place never splits or adds a mapping, so the host's
  // mapping limit cannot refuse it; it fails only if addr is not a hole
  // right after the mapping (then HostMapFrame finds out why).
  void* p = mremap(addr - PAGE_SIZE, PAGE_SIZE, 2 * PAGE_SIZE, 0);
  return p != MAP_FAILED;
}

void HostReserve(char* addr, size_t len, const Exclusion& keep) {
  RetryOnEnomem("re-reservation", addr, len, keep,
                [&] { return TryReserve(addr, len); });
}

void HostProtect(char* addr, size_t len, vm_prot_t host_prot,
                 const Exclusion& keep) {
  RetryOnEnomem("mprotect", addr, len, keep, [&] {
    return mprotect(addr, len, HostProtBits(host_prot)) == 0 ? 0 : errno;
  });
}

void HostOpenWindow(char* addr, size_t len) {
  RetryOnEnomem("opening a window", addr, len, {},
                [&] { return munmap(addr, len) == 0 ? 0 : errno; });
}

void HostCloseWindow(char* addr, size_t len) {
  RetryOnEnomem("closing a window", addr, len, {},
                [&] { return MapReservation(addr, len); });
}

void HostRuns::Add(char* addr, vm_prot_t host_prot) {
  if (start_ != nullptr && addr == end_ && host_prot == prot_) {
    end_ += PAGE_SIZE;
    return;
  }
  Flush();
  start_ = addr;
  end_ = addr + PAGE_SIZE;
  prot_ = host_prot;
}

void HostRuns::Bridge(char* addr, vm_prot_t host_prot) {
  if (start_ != nullptr && addr == end_ && host_prot == prot_) {
    end_ += PAGE_SIZE;
  }
}

void HostRuns::Flush() {
  if (start_ == nullptr) return;
  const size_t len = static_cast<size_t>(end_ - start_);
  if (prot_ == VM_PROT_NONE) {
    HostReserve(start_, len, keep_);
  } else {
    HostProtect(start_, len, prot_, keep_);
  }
  start_ = end_ = nullptr;
}

}  // namespace uvmemu::mmu::internal
