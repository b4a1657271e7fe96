// The fault path through the software MMU against the host kernel's own,
// in one binary: zero-fill first touch, and the copy-on-write write fault
// after fork.  Each iteration touches kPages pages (items/s = faults/s).
//
// Emulated: a store through Process::Ptr into an emulated process raises
// SIGSEGV; the MMU hands it to uvm_fault, which zero-fills or copies the
// page and maps it.  Host: the same stores to a host mmap, after a host
// fork() for COW (the parent writes while the child holds the pages).
#include <benchmark/benchmark.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <optional>

#include "uvmemu/machine.h"
#include "uvmemu/trace.h"

namespace {

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kPages = 256;
constexpr uint64_t kBytes = kPages * kPageSize;

void TouchEveryPage(char* base) {
  for (uint64_t i = 0; i < kPages; i++) base[i * kPageSize] = 1;
  benchmark::ClobberMemory();
}

uvmemu::Machine& TheMachine() {
  static uvmemu::Machine machine({.physical_pages = 4 * kPages});
  uvmemu::Trace::Enable(false);  // measure the fault path, not the trace
  return machine;
}

void BM_ZeroFill_Emulated(benchmark::State& state) {
  uvmemu::Machine& machine = TheMachine();
  uvmemu::Process p = *machine.Spawn();
  for (auto _ : state) {
    state.PauseTiming();
    const uint64_t va = *p.Mmap(kBytes, uvmemu::kReadWrite);
    state.ResumeTiming();
    TouchEveryPage(p.Ptr(va));
    state.PauseTiming();
    (void)p.Munmap(va, kBytes);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kPages);
}
BENCHMARK(BM_ZeroFill_Emulated)->UseRealTime();

void BM_ZeroFill_Host(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    void* m = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    state.ResumeTiming();
    TouchEveryPage(static_cast<char*>(m));
    state.PauseTiming();
    munmap(m, kBytes);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kPages);
}
BENCHMARK(BM_ZeroFill_Host)->UseRealTime();

// The child writes every page its parent wrote before the fork.
void BM_CowWrite_Emulated(benchmark::State& state) {
  uvmemu::Machine& machine = TheMachine();
  uvmemu::Process parent = *machine.Spawn();
  const uint64_t va = *parent.Mmap(kBytes, uvmemu::kReadWrite);
  TouchEveryPage(parent.Ptr(va));
  for (auto _ : state) {
    state.PauseTiming();
    std::optional<uvmemu::Process> child(*parent.Fork());
    // a read first, so the amap_copy of needs-copy is not in the timing
    benchmark::DoNotOptimize(*child->Ptr<volatile char>(va));
    state.ResumeTiming();
    TouchEveryPage(child->Ptr(va));
    state.PauseTiming();
    child.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kPages);
}
BENCHMARK(BM_CowWrite_Emulated)->UseRealTime();

void BM_CowWrite_Host(benchmark::State& state) {
  char* m = static_cast<char*>(mmap(nullptr, kBytes, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  TouchEveryPage(m);
  for (auto _ : state) {
    state.PauseTiming();
    int done[2];
    if (pipe(done) != 0) std::abort();
    const pid_t pid = fork();
    if (pid == 0) {  // hold the pages until the parent has written them
      char c;
      close(done[1]);
      (void)!read(done[0], &c, 1);
      _exit(0);
    }
    close(done[0]);
    state.ResumeTiming();
    TouchEveryPage(m);
    state.PauseTiming();
    close(done[1]);
    waitpid(pid, nullptr, 0);
    state.ResumeTiming();
  }
  munmap(m, kBytes);
  state.SetItemsProcessed(state.iterations() * kPages);
}
BENCHMARK(BM_CowWrite_Host)->UseRealTime();

}  // namespace
