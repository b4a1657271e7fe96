// Hooks for the debugger (tools/gdb): functions that exist so that gdb
// has a stable place to stop.
#ifndef UVMEMU_EMU_GDB_SUPPORT_H
#define UVMEMU_EMU_GDB_SUPPORT_H

#include <cstdint>

extern "C" {

// Called by the MMU just before it reports an emulated segmentation
// violation at `va` of process `pid` (0 if the window has no address
// space); `write` is 1 for a write access.  Does nothing: `uvm-segv` in
// gdb puts a breakpoint here.
void uvmemu_emulated_segv(uint64_t va, int pid, int write);

// Called by the MMU when a SIGSEGV at host address `addr` is not an
// emulated fault (a wild pointer): the access is retried under the
// previous handler and crashes.  Does nothing; a breakpoint here stops
// before the crash although gdb passes SIGSEGV silently.
void uvmemu_foreign_segv(uint64_t addr);

}  // extern "C"

#endif  // UVMEMU_EMU_GDB_SUPPORT_H
