// What the amap benchmarks need from their surroundings, for both builds
// of bench/amap_bench.cc:
//
//   uvmemu_bench       the port on the emulated kernel services (a booted
//                      uvmemu::Kernel: checked mutexes, UVMHIST, accounted
//                      and poisoned kmem/pools, failure injection points);
//   uvmemu_bench_bare  the same port on no-op services (bench/bare/,
//                      UVMEMU_BARE defined), to price the emulation.
//
// Both builds run the same benchmark functions under the same names, so
// tools/bench-compare can divide one by the other.
#ifndef UVMEMU_BENCH_BENCH_ENV_H
#define UVMEMU_BENCH_BENCH_ENV_H

#include <benchmark/benchmark.h>
#include <malloc.h>
#include <time.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "uvm/uvm.h"

#ifdef UVMEMU_BARE
#include "bench/bare/bare_boot.h"
#else
#include "uvmemu/machine.h"
#include "uvmemu/trace.h"
#endif

namespace uvmemu::bench {

// "emulated" or "bare": recorded in the JSON context.
inline constexpr const char* kBuildName =
#ifdef UVMEMU_BARE
    "bare";
#else
    "emulated";
#endif

// Large blocks come from the heap and stay there after free (both builds):
// an amap's arrays of 2^20 slots then cost the same to get again, rather
// than fresh mmap()ed pages whose first-touch faults would depend on
// glibc's mmap threshold heuristics and the order of frees.
inline void TuneMalloc() {
  static const bool tuned = [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum on LP64
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    return true;
  }();
  (void)tuned;
}

// True unless the environment variable `name` is "0".
inline bool EnvOn(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr || std::strcmp(v, "0") != 0;
}

// Whether the emulated kernel poisons and quarantines kmem blocks
// (UVMEMU_BENCH_KMEM_DEBUG), recorded in the JSON context; the bare
// build has no such checks.
inline const char* KmemDebugLabel() {
#ifdef UVMEMU_BARE
  return "none";
#else
  return EnvOn("UVMEMU_BENCH_KMEM_DEBUG") ? "on" : "off";
#endif
}

#ifndef UVMEMU_BARE
// Physical pages of the benchmark machine: the 256 MiB fork working set
// of bench/fault_bench.cc twice over (parent and child copies), plus room.
inline constexpr size_t kMachinePages = 2 * 65536 + 8192;

// The one machine (and so the one kernel) of the emulated run, shared by
// the amap and the fault benchmarks.  It keeps the kernel's default
// configuration (UVMHIST recording on, kmem debugging on) unless
// UVMEMU_BENCH_TRACE=0 or UVMEMU_BENCH_KMEM_DEBUG=0 is set.  At exit its
// destructor reaps every process and aborts the run if anything leaked.
inline Machine& TheMachine() {
  static Machine* machine = [] {
    TuneMalloc();
    static Machine m({.physical_pages = kMachinePages,
                      .kmem_debug = EnvOn("UVMEMU_BENCH_KMEM_DEBUG")});
    Trace::Enable(EnvOn("UVMEMU_BENCH_TRACE"));
    return &m;
  }();
  return *machine;
}
#endif

// Boots the kernel once for the whole run.
inline void Boot() {
#ifdef UVMEMU_BARE
  TuneMalloc();
  bare::Boot();
#else
  TheMachine();
#endif
}

inline bool TraceOn() {
#ifdef UVMEMU_BARE
  return false;
#else
  return Trace::Enabled();
#endif
}

// CPU time of the calling thread, in seconds: user and system time the
// benchmark itself spent, unaffected by other processes taking the CPU
// (the machine is shared; wall time there measures the neighbours too).
inline double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) +
         1e-9 * static_cast<double>(ts.tv_nsec);
}

// Runs the benchmark in batches of `batch` operations, timing only the
// batches (thread CPU time): setup() prepares a batch, op(i) is the timed
// operation i of the batch, teardown() undoes the batch.  The benchmark
// must be registered with UseManualTime().  Two clock reads per batch
// instead of a PauseTiming()/ResumeTiming() pair per operation.
template <class Setup, class Op, class Teardown>
void RunBatched(benchmark::State& state, int64_t batch, Setup&& setup, Op&& op,
                Teardown&& teardown) {
  while (state.KeepRunningBatch(batch)) {
    setup();
    const double start = ThreadCpuSeconds();
    for (int64_t i = 0; i < batch; i++) op(i);
    const double end = ThreadCpuSeconds();
    teardown();
    state.SetIterationTime(end - start);
  }
}

// Operations per batch so that a batch of `per_op_units` units of work
// each (a unit: a slot, a few nanoseconds) lasts long enough to dwarf the
// two clock reads, which are system calls (about 2^16 units).
inline int64_t BatchFor(int64_t per_op_units, int64_t max_batch = 1024) {
  int64_t b = (int64_t{1} << 16) / (per_op_units > 0 ? per_op_units : 1);
  if (b < 1) b = 1;
  return b > max_batch ? max_batch : b;
}

}  // namespace uvmemu::bench

#endif  // UVMEMU_BENCH_BENCH_ENV_H
