// For the gdb tests (tools/gdb/test_gdb.py): a store to a read-only page,
// which the MMU reports as an emulated segmentation violation, killing
// the program with SIGSEGV.
#include <cstdio>

#include "uvm/uvm.h"
#include "uvmemu/machine.h"

int main() {
  uvmemu::Machine machine({.physical_pages = 64});
  uvmemu::Process p = *machine.Spawn();
  const uint64_t va = *p.Mmap(2 * PAGE_SIZE, uvmemu::kReadWrite);
  p.Ptr(va)[0] = 'x';
  if (!p.Mprotect(va, 2 * PAGE_SIZE, uvmemu::kRead).ok()) return 2;
  std::printf("storing to read-only va 0x%llx\n",
              static_cast<unsigned long long>(va));
  std::fflush(stdout);
  p.Ptr(va)[1] = 'y';  // the emulated segmentation violation
  return 1;            // not reached
}
