// The page daemon as a kernel thread (KernelConfig::pagedaemon_thread):
// uvm_wait() wakes it and sleeps on uvmexp.free until the daemon's
// page-out frees memory, instead of paging out inline.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>

#include "test/page_pattern.h"
#include "uvmemu/machine.h"
#include "uvmemu/process.h"
#include "uvmemu/trace.h"

namespace uvmemu {
namespace {

using testing::PagePattern;

constexpr uint64_t kPage = 4096;
constexpr int kMemPages = 64;
constexpr int kMappedPages = 200;  // three times the physical memory

MachineConfig SmallMachine(bool daemon_thread) {
  return {.physical_pages = kMemPages,
          .swap_slots = 1024,
          .pagedaemon_thread = daemon_thread,
          .trace_records = 1 << 20};
}

// The LWP ids that logged a uvm_pageout_run record.
std::set<int> PageoutLwps() {
  std::set<int> lwps;
  for (const TraceRecord& rec : Trace::Tail(0)) {
    if (std::string(rec.function) == "uvm_pageout_run") lwps.insert(rec.lwp);
  }
  return lwps;
}

// Writes and reads back three times the machine's memory through the
// accessors and checks every byte; returns the LWPs that paged out.
std::set<int> OvercommitAndCheck(Machine& machine) {
  Process p = *machine.Spawn();
  const uint64_t va = *p.Mmap(kMappedPages * kPage, kReadWrite);
  for (int i = 0; i < kMappedPages; i++)
    EXPECT_TRUE(p.Write(va + i * kPage, PagePattern(i).data(), kPage).ok())
        << i;
  for (int i = 0; i < kMappedPages; i++) {
    std::string s(kPage, '\0');
    EXPECT_TRUE(p.Read(va + i * kPage, s.data(), kPage).ok()) << i;
    EXPECT_EQ(s, PagePattern(i)) << "page " << i;
  }
  EXPECT_GT(machine.Stats().page_outs, kMappedPages - kMemPages);
  EXPECT_TRUE(p.Exit().ok());
  return PageoutLwps();
}

TEST(PdaemonThreadTest, Overcommit_DaemonThreadPagesOut_EveryByteKept) {
  Trace::Clear();
  Machine machine(SmallMachine(/*daemon_thread=*/true));
  const std::set<int> lwps = OvercommitAndCheck(machine);
  // only the daemon (not lwp0, whose faults slept in uvm_wait) paged out
  ASSERT_EQ(lwps.size(), 1u);
  EXPECT_NE(*lwps.begin(), 1);
}

TEST(PdaemonThreadTest, Overcommit_NoDaemonThread_FaultingLwpPagesOutInline) {
  Trace::Clear();
  Machine machine(SmallMachine(/*daemon_thread=*/false));
  EXPECT_EQ(OvercommitAndCheck(machine), std::set<int>{1});
}

TEST(PdaemonThreadTest, RawStores_DaemonThreadWakesSleepingFault) {
  Machine machine(SmallMachine(/*daemon_thread=*/true));
  Process p = *machine.Spawn();
  const uint64_t va = *p.Mmap(kMappedPages * kPage, kReadWrite);
  char* base = p.Ptr(va);
  // each store faults in the SIGSEGV handler; those that find memory
  // short sleep there while the daemon runs on its own stack
  for (int i = 0; i < kMappedPages; i++)
    base[i * kPage] = static_cast<char>(i + 1);
  for (int i = 0; i < kMappedPages; i++)
    ASSERT_EQ(base[i * kPage], static_cast<char>(i + 1)) << "page " << i;
  EXPECT_GT(machine.Stats().daemon_runs, 0);
  EXPECT_TRUE(p.Exit().ok());
}

}  // namespace
}  // namespace uvmemu
