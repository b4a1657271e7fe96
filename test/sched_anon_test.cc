// An anon losing its last reference while the page daemon pages its page
// out: uvm_anfree (lib/uvm_anon.cc) and uvmpd_scan_inactive
// (lib/uvm_pdaemon.cc) meet on the anon's lock.  Found by the
// differential harness with processes as LWPs (docs/verification.md).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "absl/strings/str_format.h"
#include "test/page_pattern.h"
#include "uvmemu/machine.h"
#include "uvmemu/process.h"
#include "uvmemu/scheduler.h"

namespace uvmemu {
namespace {

using testing::PagePattern;

constexpr uint64_t kPage = 4096;
constexpr int kPages = 4;

// Each schedule: a process with kPages written pages exits while the page
// daemon pages them out.  Every page is freed once (a second free
// panics) and nothing is left: no page, no swap slot.
absl::Status ExitBesidePageDaemon(Machine& machine, Scheduler& sched,
                                  int free_before, int* split_runs) {
  Process p = *machine.Spawn();
  const uint64_t va = *p.Mmap(kPages * kPage, kReadWrite);
  for (int i = 0; i < kPages; i++)
    if (!p.Write(va + i * kPage, PagePattern(i).data(), kPage).ok())
      return absl::InternalError("write failed");
  int freed = 0;
  sched.Spawn("exit", [&] { (void)p.Exit(); });
  sched.Spawn("pagedaemon", [&] { freed = *machine.PageOut(kPages); });
  if (absl::Status s = sched.Run(); !s.ok()) return s;
  if (freed > 0 && freed < kPages) ++*split_runs;
  const MemoryStats stats = machine.Stats();
  if (stats.swap_in_use != 0 || stats.free != free_before)
    return absl::InternalError(absl::StrFormat(
        "after the exit (daemon freed %d): %d swap slots in use, %d pages "
        "free (%d before)",
        freed, stats.swap_in_use, stats.free, free_before));
  return absl::OkStatus();
}

TEST(SchedAnon, ExitBesidePageDaemon_EveryPageFreedOnce) {
  Machine machine({.physical_pages = 64, .swap_slots = 64});
  const int free_before = machine.Stats().free;
  for (SchedPolicy policy : {SchedPolicy::kRandom, SchedPolicy::kPct}) {
    int split_runs = 0;
    const ExploreResult r = Explore(
        {.policy = policy, .seed = 1, .max_runs = 300}, [&](Scheduler& sched) {
          return ExitBesidePageDaemon(machine, sched, free_before, &split_runs);
        });
    EXPECT_FALSE(r.failed) << r.failure << "\nreplay: " << r.replay;
    EXPECT_EQ(r.runs, 300u);
    // Not vacuous: in some schedules the daemon paged some of the pages
    // out and the exit freed the others.
    EXPECT_GT(split_runs, 10);
  }
}

}  // namespace
}  // namespace uvmemu
