# gdb init file for uvmemu programs.  From the repository's top directory:
#
#   gdb -x tools/gdb/uvmemu.gdb build/default/fork_cow
#
# or once for every session, in ~/.gdbinit:
#
#   add-auto-load-safe-path /path/to/uvmemu/build
#   source /path/to/uvmemu/tools/gdb/uvmemu.gdb
#
# (installed: $prefix/share/uvmemu/gdb/uvmemu.gdb with uvmemu.py beside
# it; set UVMEMU_GDB_DIR to that directory).  See docs/walkthrough.md.

# The software MMU takes a SIGSEGV for every first touch, copy-on-write
# and referenced/modified update: pass them to the program silently.
handle SIGSEGV nostop noprint pass

# Stop where the MMU reports an emulated segmentation violation (an
# access UVM refused; `up` a few frames for the faulting code), and where
# it hands a fault outside the emulated memory back to the host to crash
# genuinely.  Pending until the program is loaded.
set breakpoint pending on
break uvmemu_emulated_segv
break uvmemu_foreign_segv
set breakpoint pending auto

# Structures print one field (or amap slot) per line.
set print pretty on

# The pretty-printers and the uvm-hist, uvm-lwps and uvm-segv commands.
# Programs linking libuvmemu carry them in a .debug_gdb_scripts section,
# which gdb loads when the program's directory is in its auto-load
# safe-path; otherwise load them from the source tree or UVMEMU_GDB_DIR.
python
import os
if not getattr(gdb, "_uvmemu_commands", False):
    _dirs = [os.environ.get("UVMEMU_GDB_DIR", ""), "tools/gdb"]
    _found = [d for d in _dirs if d and os.path.isfile(os.path.join(d, "uvmemu.py"))]
    if _found:
        gdb.execute("source " + os.path.join(_found[0], "uvmemu.py"))
    # with no program loaded yet, auto-load may still bring them
    elif gdb.current_progspace().filename:
        print("uvmemu.gdb: pretty-printers not loaded: run gdb from the "
              "uvmemu source tree, set UVMEMU_GDB_DIR, or "
              "add-auto-load-safe-path the program's directory")
end
