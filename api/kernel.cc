// Boot and shutdown of the emulated kernel, and its resource accounting.
#include "uvmemu/kernel.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_format.h"
#include "emu/kmem_debug.h"
#include "emu/kmem_stats.h"
#include "emu/mmu.h"
#include "uvm/uvm.h"
#include "uvmemu/trace.h"

namespace uvmemu {
namespace {

bool booted = false;

}  // namespace

Kernel::Kernel(const KernelConfig& config) {
  if (booted) panic("uvmemu::Kernel: a kernel is already running");
  booted = true;
  kmem::SetDebug(config.kmem_debug);
  Trace::SetCapacity(config.trace_records);
  uvm_page_init(config.physical_pages);
  if (config.free_min != 0 || config.free_target != 0) {
    uvmpd_tune(static_cast<int>(config.free_min),
               static_cast<int>(config.free_target));
  }
  mmu::Init({.max_pmaps = config.max_processes,
             .host_mapping_budget = config.host_mapping_budget,
             .sparse_windows = config.sparse_windows});
  uvm_swap_init(config.swap_slots);
  uvm_anon_init();
  uvm_amap_init();
  uvm_fault_init();
  if (config.pagedaemon_thread) uvm_pageout_start();
}

Kernel::~Kernel() {
  // A leak must not pass unnoticed, and tearing down subsystems that
  // still hold objects would panic with a less useful message.  Each
  // ctest case runs in its own process, so aborting here fails just the
  // test that leaked, with the report.
  uvm_pageout_stop();
  // Blocks still in quarantine are checked for writes after free.
  kmem::FlushQuarantine();
  const absl::Status leaks = CheckNoLeaks();
  if (!leaks.ok()) {
    std::fprintf(stderr, "uvmemu::Kernel shut down with leaks:\n%s\n",
                 std::string(leaks.message()).c_str());
    std::abort();
  }
  uvm_swap_shutdown();
  mmu::Shutdown();
  uvm_page_shutdown();
  kmem::SetDebug(true);  // the default, for code run without a kernel
  booted = false;
}

ResourceCounts Kernel::Counts() {
  const kmem::Totals totals = kmem::Outstanding();
  ResourceCounts counts;
  counts.kmem_objects = totals.objects;
  counts.kmem_bytes = totals.bytes;
  counts.pool_objects = totals.pool_objects;
  counts.amaps = amap_list_count();
  counts.anons = uvm_anon_count();
  counts.pages_in_use = uvmexp.npages - uvmexp.free;
  counts.swap_slots = uvm_swap_inuse();
  counts.host_mappings = static_cast<long>(mmu::GetStats().mappings);
  return counts;
}

std::string Kernel::LeakReport() {
  const ResourceCounts c = Counts();
  if (c == ResourceCounts()) return "";
  return absl::StrFormat(
             "amaps %d, anons %d, pages %d, swap slots %d, "
             "kmem %d objects / %d bytes, pool objects %d, "
             "page mappings %d\n",
             c.amaps, c.anons, c.pages_in_use, c.swap_slots, c.kmem_objects,
             c.kmem_bytes, c.pool_objects, c.host_mappings) +
         kmem::LeakReport();
}

absl::Status Kernel::CheckNoLeaks() {
  std::string report = LeakReport();
  if (report.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(report);
}

}  // namespace uvmemu
