// The fault path through the software MMU against the host kernel's own,
// in one binary, so tools/bench-compare can divide one by the other:
//
//   Fault_ZeroFill_{Emulated,Host}   first write to each page of a fresh
//                                    anonymous mapping
//   Fault_Read_{Emulated,Host}       first read of each page of a fresh
//                                    anonymous mapping
//   Fault_CowWrite_{Emulated,Host}   write to each page shared with a fork
//                                    child (emulated: the child writes,
//                                    after a read did the amap_copy; host:
//                                    the parent writes while the child
//                                    waits)
//   ForkWrite_{Emulated,Host}/MiB    fork, the child writes every page of
//                                    a 1, 16 or 256 MiB working set, exits
//                                    and is reaped
//   Fault_SwapIn_Emulated            read of each page whose anon was paged
//                                    out (uvm_anon_pagein); the host has no
//                                    swap here, so there is no host twin
//   Fault_HostFloor                  the host kernel's part of an emulated
//                                    fault, with no emulator: SIGSEGV, a
//                                    handler that only maps the frame
//                                    (mremap), the retried store's minor
//                                    fault
//
// Emulated: a store through Process::Ptr raises SIGSEGV; the MMU hands it
// to uvm_fault, which zero-fills or copies the page and maps it.  Host:
// the same loads and stores on a host mmap, host fork() for COW.
//
// Times are CPU time (thread CPU time, plus the host children's CPU time
// from wait4 where the work runs in a host child): the machine is shared,
// and wall time there measures the neighbours too.  Per-page benchmarks
// touch kPages pages per iteration (items/s = faults/s).
//
// The swap-in benchmark pages the anons out with uvm_pageout_range, the
// page daemon's routine, between iterations.
#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "bench/bench_env.h"
#include "uvm/uvm.h"
#include "uvmemu/machine.h"

namespace {

using uvmemu::bench::TheMachine;
using uvmemu::bench::ThreadCpuSeconds;

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kPages = 256;
constexpr uint64_t kBytes = kPages * kPageSize;

void WriteEveryPage(char* base, uint64_t pages) {
  for (uint64_t i = 0; i < pages; i++) base[i * kPageSize] = 1;
  benchmark::ClobberMemory();
}

void ReadEveryPage(const char* base, uint64_t pages) {
  for (uint64_t i = 0; i < pages; i++) {
    char c = *const_cast<const volatile char*>(base + i * kPageSize);
    benchmark::DoNotOptimize(c);
  }
}

[[noreturn]] void Die(const char* what) {
  std::perror(what);
  std::abort();
}

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "fault_bench: %s\n", what);
  std::abort();
}

double Seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) +
         1e-6 * static_cast<double>(tv.tv_usec);
}

// Reaps a host child; returns the CPU time it used (user + system).
double ReapChild(pid_t pid) {
  int status = 0;
  rusage ru{};
  if (wait4(pid, &status, 0, &ru) != pid) Die("wait4");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "fault_bench: host child failed (status %#x)\n",
                 status);
    std::abort();
  }
  return Seconds(ru.ru_utime) + Seconds(ru.ru_stime);
}

char* HostMmap(uint64_t bytes) {
  void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) Die("mmap");
  return static_cast<char*>(m);
}

void Finish(benchmark::State& state, uint64_t pages) {
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(pages));
  state.counters["pages"] = static_cast<double>(pages);
}

// ---------------------------------------------------------------------------
// Per-page faults on fresh mappings

template <bool kWrite>
void BM_FreshFault_Emulated(benchmark::State& state) {
  uvmemu::Process p = *TheMachine().Spawn();
  for (auto _ : state) {
    const uint64_t va = *p.Mmap(kBytes, uvmemu::kReadWrite);
    const double start = ThreadCpuSeconds();
    if (kWrite)
      WriteEveryPage(p.Ptr(va), kPages);
    else
      ReadEveryPage(p.Ptr(va), kPages);
    state.SetIterationTime(ThreadCpuSeconds() - start);
    if (!p.Munmap(va, kBytes).ok()) state.SkipWithError("Munmap failed");
  }
  (void)p.Exit();
  Finish(state, kPages);
}

template <bool kWrite>
void BM_FreshFault_Host(benchmark::State& state) {
  for (auto _ : state) {
    char* m = HostMmap(kBytes);
    const double start = ThreadCpuSeconds();
    if (kWrite)
      WriteEveryPage(m, kPages);
    else
      ReadEveryPage(m, kPages);
    state.SetIterationTime(ThreadCpuSeconds() - start);
    munmap(m, kBytes);
  }
  Finish(state, kPages);
}

BENCHMARK(BM_FreshFault_Emulated<true>)
    ->Name("Fault_ZeroFill_Emulated")
    ->UseManualTime();
BENCHMARK(BM_FreshFault_Host<true>)
    ->Name("Fault_ZeroFill_Host")
    ->UseManualTime();
BENCHMARK(BM_FreshFault_Emulated<false>)
    ->Name("Fault_Read_Emulated")
    ->UseManualTime();
BENCHMARK(BM_FreshFault_Host<false>)->Name("Fault_Read_Host")->UseManualTime();

// ---------------------------------------------------------------------------
// Copy-on-write faults

void BM_CowWrite_Emulated(benchmark::State& state) {
  uvmemu::Process parent = *TheMachine().Spawn();
  const uint64_t va = *parent.Mmap(kBytes, uvmemu::kReadWrite);
  WriteEveryPage(parent.Ptr(va), kPages);
  for (auto _ : state) {
    std::optional<uvmemu::Process> child(*parent.Fork());
    // a read first, so the amap_copy of needs-copy is not in the timing
    benchmark::DoNotOptimize(*child->Ptr<volatile char>(va));
    const double start = ThreadCpuSeconds();
    WriteEveryPage(child->Ptr(va), kPages);
    state.SetIterationTime(ThreadCpuSeconds() - start);
    child.reset();
  }
  (void)parent.Exit();
  Finish(state, kPages);
}
BENCHMARK(BM_CowWrite_Emulated)
    ->Name("Fault_CowWrite_Emulated")
    ->UseManualTime();

void BM_CowWrite_Host(benchmark::State& state) {
  char* m = HostMmap(kBytes);
  WriteEveryPage(m, kPages);
  for (auto _ : state) {
    int done[2];
    if (pipe(done) != 0) Die("pipe");
    const pid_t pid = fork();
    if (pid < 0) Die("fork");
    if (pid == 0) {  // hold the pages until the parent has written them
      char c;
      close(done[1]);
      (void)!read(done[0], &c, 1);
      _exit(0);
    }
    close(done[0]);
    const double start = ThreadCpuSeconds();
    WriteEveryPage(m, kPages);
    state.SetIterationTime(ThreadCpuSeconds() - start);
    close(done[1]);
    ReapChild(pid);
  }
  munmap(m, kBytes);
  Finish(state, kPages);
}
BENCHMARK(BM_CowWrite_Host)->Name("Fault_CowWrite_Host")->UseManualTime();

// ---------------------------------------------------------------------------
// The host kernel's floor under an emulated fault

// What the MMU's fault path costs the host kernel alone (docs/mmu.md,
// "Costs"): a store to a hole raises SIGSEGV; the handler, which does
// nothing else, maps the next frame of a memfd there as the MMU does (an
// mmap for the first page, then an mremap growing the previous page's
// mapping); the retried store takes the minor fault that fills the
// page-table entry.  No emulated fault can cost less than this; divided
// by a host fault it is the lowest emulated/host ratio this design can
// reach.  The frames are in the page cache beforehand, like the arena's.
struct FloorRegion {
  char* base = nullptr;
  int memfd = -1;
};
FloorRegion g_floor;

void FloorFail(const char* what) {
  (void)!write(STDERR_FILENO, what, std::strlen(what));
  std::abort();
}

void FloorHandler(int, siginfo_t* info, void*) {
  const uintptr_t addr = reinterpret_cast<uintptr_t>(info->si_addr);
  const uintptr_t base = reinterpret_cast<uintptr_t>(g_floor.base);
  if (info->si_code <= 0 || addr < base || addr - base >= kBytes) {
    FloorFail("fault_bench: a fault outside the floor region\n");
  }
  char* page = g_floor.base + (addr - base) / kPageSize * kPageSize;
  if (page == g_floor.base) {
    if (mmap(page, kPageSize, PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_FIXED_NOREPLACE, g_floor.memfd, 0) != page) {
      FloorFail("fault_bench: floor mmap failed\n");
    }
  } else if (mremap(page - kPageSize, kPageSize, 2 * kPageSize, 0) ==
             MAP_FAILED) {
    FloorFail("fault_bench: floor mremap failed\n");
  }
}

void BM_HostFloor(benchmark::State& state) {
  g_floor.memfd = memfd_create("fault_floor", 0);
  if (g_floor.memfd < 0 || ftruncate(g_floor.memfd, kBytes) != 0) {
    Die("memfd");
  }
  void* fill = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                    g_floor.memfd, 0);
  if (fill == MAP_FAILED) Die("mmap");
  WriteEveryPage(static_cast<char*>(fill), kPages);  // into the page cache
  munmap(fill, kBytes);
  struct sigaction floor = {};
  floor.sa_sigaction = FloorHandler;
  sigemptyset(&floor.sa_mask);
  floor.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;  // as the MMU's
  for (auto _ : state) {
    // A hole: reserved, then unmapped.
    g_floor.base = HostMmap(kBytes);
    munmap(g_floor.base, kBytes);
    struct sigaction mmu;  // the MMU's handler, back after the batch
    sigaction(SIGSEGV, &floor, &mmu);
    const double start = ThreadCpuSeconds();
    WriteEveryPage(g_floor.base, kPages);
    state.SetIterationTime(ThreadCpuSeconds() - start);
    sigaction(SIGSEGV, &mmu, nullptr);
    munmap(g_floor.base, kBytes);
  }
  close(g_floor.memfd);
  Finish(state, kPages);
}
BENCHMARK(BM_HostFloor)->Name("Fault_HostFloor")->UseManualTime();

// ---------------------------------------------------------------------------
// Swap-in faults

// Pages out every page of [va, va + pages) of `p` with the page daemon's
// own routine (lib/uvm_pdaemon.cc).
void PageOutRange(const uvmemu::Process& p, uint64_t va, uint64_t pages) {
  const int n = uvm_pageout_range(&p.vmspace()->vm_map, va,
                                  va + pages * kPageSize);
  if (n != static_cast<int>(pages)) Fail("PageOutRange: a page stayed");
}

void BM_SwapIn_Emulated(benchmark::State& state) {
  uvmemu::Process p = *TheMachine().Spawn();
  const uint64_t va = *p.Mmap(kBytes, uvmemu::kReadWrite);
  for (uint64_t i = 0; i < kPages; i++) p.Ptr(va)[i * kPageSize] = 'a' + i % 26;
  int wrong = 0;
  for (auto _ : state) {
    PageOutRange(p, va, kPages);
    const double start = ThreadCpuSeconds();
    ReadEveryPage(p.Ptr(va), kPages);
    state.SetIterationTime(ThreadCpuSeconds() - start);
    wrong += p.Ptr(va)[7 * kPageSize] != 'a' + 7;
  }
  if (wrong != 0) state.SkipWithError("a page came back with other data");
  (void)p.Exit();
  Finish(state, kPages);
}
BENCHMARK(BM_SwapIn_Emulated)->Name("Fault_SwapIn_Emulated")->UseManualTime();

// ---------------------------------------------------------------------------
// fork + write every page of a working set + exit

uint64_t WorkingSetPages(const benchmark::State& state) {
  return static_cast<uint64_t>(state.range(0)) * (1 << 20) / kPageSize;
}

// Host forks are measured from a helper forked before main, while this
// process is still small: a host fork copies the page tables of every
// private page of the process, and this one ends up holding the
// emulator's bookkeeping and the amap benchmarks' anons, which would
// otherwise count as the host's fork cost.  The helper maps and fills
// the working set, then forks a child that writes every page and exits;
// it reports its own CPU time for fork and wait plus the child's (from
// wait4).
class HostForker {
 public:
  HostForker() {
    int req[2], resp[2];
    if (pipe(req) != 0 || pipe(resp) != 0) Die("pipe");
    pid_ = fork();
    if (pid_ < 0) Die("fork");
    if (pid_ == 0) {
      close(req[1]);
      close(resp[0]);
      Serve(req[0], resp[1]);
    }
    close(req[0]);
    close(resp[1]);
    req_ = req[1];
    resp_ = resp[0];
  }

  // CPU seconds of one fork + write of `pages` pages + exit + reap.
  double ForkWrite(uint64_t pages) {
    double seconds = 0;
    if (write(req_, &pages, sizeof pages) != sizeof pages ||
        read(resp_, &seconds, sizeof seconds) != sizeof seconds)
      Fail("the host fork helper is gone");
    return seconds;
  }

 private:
  [[noreturn]] static void Serve(int req, int resp) {
    uint64_t pages;
    while (read(req, &pages, sizeof pages) == sizeof pages) {
      char* m = HostMmap(pages * kPageSize);
      WriteEveryPage(m, pages);
      const double start = ThreadCpuSeconds();
      const pid_t pid = fork();
      if (pid < 0) Die("fork");
      if (pid == 0) {
        WriteEveryPage(m, pages);
        _exit(0);
      }
      const double child = ReapChild(pid);
      const double seconds = ThreadCpuSeconds() - start + child;
      munmap(m, pages * kPageSize);
      if (write(resp, &seconds, sizeof seconds) != sizeof seconds) _exit(1);
    }
    _exit(0);  // the benchmark process closed the pipe: it is exiting
  }

  pid_t pid_;
  int req_ = -1;
  int resp_ = -1;
};

// Forked during static initialisation; exits when this process does.
HostForker host_forker;

void BM_ForkWrite_Host(benchmark::State& state) {
  const uint64_t pages = WorkingSetPages(state);
  for (auto _ : state) state.SetIterationTime(host_forker.ForkWrite(pages));
  Finish(state, pages);
}

void BM_ForkWrite_Emulated(benchmark::State& state) {
  const uint64_t pages = WorkingSetPages(state);
  uvmemu::Process parent = *TheMachine().Spawn();
  const uint64_t va = *parent.Mmap(pages * kPageSize, uvmemu::kReadWrite);
  WriteEveryPage(parent.Ptr(va), pages);
  for (auto _ : state) {
    const double start = ThreadCpuSeconds();
    {
      uvmemu::Process child = *parent.Fork();
      WriteEveryPage(child.Ptr(va), pages);
      if (!child.Exit().ok()) state.SkipWithError("Exit failed");
    }
    state.SetIterationTime(ThreadCpuSeconds() - start);
  }
  (void)parent.Exit();
  Finish(state, pages);
}

BENCHMARK(BM_ForkWrite_Host)
    ->Name("ForkWrite_Host")
    ->ArgName("MiB")
    ->Arg(1)
    ->Arg(16)
    ->Arg(256)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ForkWrite_Emulated)
    ->Name("ForkWrite_Emulated")
    ->ArgName("MiB")
    ->Arg(1)
    ->Arg(16)
    ->Arg(256)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
