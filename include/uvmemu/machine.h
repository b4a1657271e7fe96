// The emulated machine: physical memory, swap, the software MMU and the
// kernel, booted for the Machine's lifetime.  One Machine may exist at a
// time (the kernel's state is global, as in a real kernel).
#ifndef UVMEMU_MACHINE_H
#define UVMEMU_MACHINE_H

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "uvmemu/kernel.h"
#include "uvmemu/memory_stats.h"
#include "uvmemu/process.h"

namespace uvmemu {

struct MachineConfig {
  size_t physical_pages = 4096;        // 16 MiB
  size_t swap_slots = 1024;            // 4 KiB each, numbered from 1
  // Page daemon thresholds (see KernelConfig): 0 = tuned from memory.
  size_t free_min = 0;
  size_t free_target = 0;
  // The page daemon as a kernel thread (see KernelConfig).
  bool pagedaemon_thread = false;
  size_t host_mapping_budget = 30000;  // well under vm.max_map_count
  size_t max_processes = 64;
  size_t trace_records = 4096;
  bool kmem_debug = true;  // see KernelConfig
};

class Machine {
 public:
  explicit Machine(const MachineConfig& config = MachineConfig());
  // Processes still running are exited first.
  ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  // A new process with an empty address space.
  absl::StatusOr<Process> Spawn();

  // Processes that have not exited.
  size_t live_processes() const { return live_.size(); }

  // Paging (docs/paging.md).  The page daemon also runs by itself when
  // a page allocation finds memory short.
  //
  // Runs the page daemon until `pages` pages have been freed or nothing
  // more can be paged out (wired or busy pages, full swap); returns the
  // number freed.  InvalidArgument if `pages` is negative.
  absl::StatusOr<int> PageOut(int pages);
  // Memory pressure: runs the page daemon as the kernel does when free
  // memory falls below free_min, up to its free target (nothing happens
  // if enough memory is free).  Returns the number of pages freed.
  int RelieveMemoryPressure();
  // Turns off swap slots [first_slot, end_slot): every anon paged out to
  // them is paged back in (amap_swap_off) and the slots are taken out of
  // use.  InvalidArgument for a range outside 1..swap_slots,
  // FailedPrecondition if a slot in it is already off,
  // ResourceExhausted if the pages do not fit in memory (the slots stay
  // on, the pages paged in so far stay in).
  absl::Status SwapOff(int first_slot, int end_slot);
  // Turns off every slot that is on.
  absl::Status SwapOff();
  // Turns slots [first_slot, end_slot) that SwapOff turned off on again.
  // FailedPrecondition if a slot in the range is on.
  absl::Status SwapOn(int first_slot, int end_slot);
  // Turns every slot that is off on.
  absl::Status SwapOn();
  // Memory and paging counters now.
  MemoryStats Stats() const;

 private:
  friend class Process;
  void Register(Process* p);
  void Unregister(Process* p);
  void Moved(Process* from, Process* to);

  Kernel kernel_;
  size_t max_processes_;
  std::vector<Process*> live_;  // in spawn order, for a deterministic exit
};

}  // namespace uvmemu

#endif  // UVMEMU_MACHINE_H
