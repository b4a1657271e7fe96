// Boot of the bare build (uvmemu_bench_bare): the ported amap, anon and
// map code on no-op kernel services (bench/bare/*.cc).
#ifndef UVMEMU_BENCH_BARE_BARE_BOOT_H
#define UVMEMU_BENCH_BARE_BARE_BOOT_H

namespace uvmemu::bench::bare {

// Initialises the anon and amap pools once.
void Boot();

}  // namespace uvmemu::bench::bare

#endif  // UVMEMU_BENCH_BARE_BARE_BOOT_H
