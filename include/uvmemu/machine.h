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
#include "uvmemu/process.h"

namespace uvmemu {

struct MachineConfig {
  size_t physical_pages = 4096;        // 16 MiB
  size_t swap_slots = 1024;
  size_t host_mapping_budget = 30000;  // well under vm.max_map_count
  size_t max_processes = 64;
  size_t trace_records = 4096;
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
