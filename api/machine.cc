#include "uvmemu/machine.h"

#include <algorithm>

#include "uvm/uvm.h"

namespace uvmemu {
namespace {

KernelConfig KernelConfigFor(const MachineConfig& c) {
  KernelConfig k;
  k.physical_pages = c.physical_pages;
  k.swap_slots = c.swap_slots;
  k.trace_records = c.trace_records;
  k.host_mapping_budget = c.host_mapping_budget;
  k.max_processes = c.max_processes;
  k.free_min = c.free_min;
  k.free_target = c.free_target;
  k.pagedaemon_thread = c.pagedaemon_thread;
  k.kmem_debug = c.kmem_debug;
  return k;
}

}  // namespace

Machine::Machine(const MachineConfig& config)
    : kernel_(KernelConfigFor(config)), max_processes_(config.max_processes) {}

Machine::~Machine() {
  // Exit in reverse spawn order: children before the parents they share
  // amaps with, as a shell would reap them.
  while (!live_.empty()) {
    Process* p = live_.back();
    (void)p->Exit();
  }
}

absl::StatusOr<Process> Machine::Spawn() {
  if (live_.size() >= max_processes_) {
    return absl::ResourceExhaustedError("Spawn: every process window is in use");
  }
  struct vmspace* vm = uvmspace_alloc(PAGE_SIZE, pmap_window_size());
  return Process(this, vm);
}

void Machine::Register(Process* p) { live_.push_back(p); }

void Machine::Unregister(Process* p) {
  live_.erase(std::remove(live_.begin(), live_.end(), p), live_.end());
}

void Machine::Moved(Process* from, Process* to) {
  std::replace(live_.begin(), live_.end(), from, to);
}

}  // namespace uvmemu
