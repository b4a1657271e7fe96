// Booting and shutting down the emulated kernel.
//
// The kernel's state is global, as in a real kernel: one uvmemu::Kernel
// may exist at a time.  Its destructor checks that everything the kernel
// allocated was given back; a leak is reported (and makes Shutdown()
// return the report) rather than silently ignored.
#ifndef UVMEMU_KERNEL_H
#define UVMEMU_KERNEL_H

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace uvmemu {

struct KernelConfig {
  // Physical pages in the arena (4 KiB each).
  size_t physical_pages = 1024;
  // Slots (4 KiB each) in the in-memory swap device.
  size_t swap_slots = 256;
  // The page daemon runs when fewer than free_min pages are free and
  // frees pages until free_target are.  0 means tuned from
  // physical_pages as NetBSD's uvmpd_tune() does (a twentieth of memory
  // clamped to 4..64 pages, at most an eighth of memory; the target a
  // third more).  free_target must exceed free_min (else the boot
  // panics).
  size_t free_min = 0;
  size_t free_target = 0;
  // Run the page daemon as a kernel thread (an LWP of the scheduler,
  // include/uvmemu/scheduler.h) that uvm_wait() wakes and sleeps for.
  // Off, the LWP that waits for memory pages out inline (docs/paging.md).
  bool pagedaemon_thread = false;
  // UVMHIST ring size in records.
  size_t trace_records = 4096;
  // Host mappings (4 KiB pages mapped into address-space windows) the
  // MMU keeps before it evicts the oldest; Linux allows about 65530
  // mappings per process (vm.max_map_count).
  size_t host_mapping_budget = 30000;
  // Address spaces (pmaps, each an 8 GiB window) that can exist at once.
  size_t max_processes = 64;
  // Windows in use keep no PROT_NONE reservation where nothing is
  // mapped, which halves the host's work per fault (docs/mmu.md).
  bool sparse_windows = true;
  // kmem debugging: freed kmem blocks and pool objects are poisoned and
  // quarantined, and checked for writes after free when they leave the
  // quarantine; new ones are filled with a pattern (emu/kmem_debug.h).
  // Off, a use after free is no longer caught (accounting, leak checks
  // and the misuse panics stay); the benchmarks measure both.
  bool kmem_debug = true;
};

// What the kernel holds right now, for leak checks.
struct ResourceCounts {
  long kmem_objects = 0;   // kmem_alloc blocks outstanding
  long kmem_bytes = 0;
  long pool_objects = 0;   // pool_cache objects outstanding (all caches)
  long amaps = 0;          // amaps in existence
  long anons = 0;          // anons in existence
  long pages_in_use = 0;   // physical pages not on the free list
  long swap_slots = 0;     // swap slots in use
  long host_mappings = 0;  // page mappings held by pmaps (on the host or
                           // evicted from it)
  bool operator==(const ResourceCounts&) const = default;
};

class Kernel {
 public:
  explicit Kernel(const KernelConfig& config = KernelConfig());
  ~Kernel();
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  static ResourceCounts Counts();
  // A human-readable list of everything outstanding (per call site for
  // kmem and pools), empty when nothing is.
  static std::string LeakReport();
  // OK when nothing is outstanding; otherwise FailedPrecondition with the
  // leak report.
  static absl::Status CheckNoLeaks();
};

}  // namespace uvmemu

#endif  // UVMEMU_KERNEL_H
