// Debugger support: the breakpoint hooks of emu/gdb_support.h, and the
// pretty-printers embedded in a .debug_gdb_scripts section, so that gdb
// loads tools/gdb/uvmemu.py for every program linking the library (once
// the program's directory is in gdb's auto-load safe-path).
//
// This file is always linked: the MMU's fault handler calls
// uvmemu_emulated_segv.
#include "emu/gdb_support.h"

extern "C" __attribute__((noinline)) void uvmemu_emulated_segv(uint64_t va,
                                                               int pid,
                                                               int write) {
  // Keeps the call (and its arguments) from being optimised away.
  asm volatile("" : : "r"(va), "r"(pid), "r"(write) : "memory");
}

extern "C" __attribute__((noinline)) void uvmemu_foreign_segv(uint64_t addr) {
  asm volatile("" : : "r"(addr) : "memory");
}

#ifdef UVMEMU_GDB_SCRIPT
// An inline Python script (kind 4): its name, a newline, the text, NUL.
// "MS" with entity size 1 lets the linker merge duplicates.
asm(".pushsection .debug_gdb_scripts, \"MS\", @progbits, 1\n"
    ".byte 4\n"
    ".ascii \"uvmemu/tools/gdb/uvmemu.py\\n\"\n"
    ".incbin \"" UVMEMU_GDB_SCRIPT
    "\"\n"
    ".byte 0\n"
    ".popsection\n");
#endif
