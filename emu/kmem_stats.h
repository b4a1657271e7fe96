// Accounting of the emulated kernel's allocators (emu/kmem.cc).
#ifndef UVMEMU_EMU_KMEM_STATS_H
#define UVMEMU_EMU_KMEM_STATS_H

#include <string>

namespace uvmemu::kmem {

struct Totals {
  long objects = 0;       // kmem blocks outstanding
  long bytes = 0;         // kmem bytes outstanding
  long pool_objects = 0;  // pool cache objects outstanding, all caches
};

Totals Outstanding();
// Objects outstanding in the pool cache bootstrapped with this name.
long PoolOutstanding(const char* wchan);
// One line per call site with something outstanding; empty if none.
std::string LeakReport();

}  // namespace uvmemu::kmem

#endif  // UVMEMU_EMU_KMEM_STATS_H
