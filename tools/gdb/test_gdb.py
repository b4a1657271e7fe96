#!/usr/bin/env python3
"""gdb in batch mode on uvmemu programs, checking the pretty-printers'
and commands' text (CTest label gdb; see cmake/debug.cmake).

  tools/gdb/test_gdb.py --gdb gdb --bindir build/default CASE

Cases:
  autoload  fork_cow with only the build directory in the auto-load
            safe-path: the printers come from the .debug_gdb_scripts
            section.  Break in amap_copy when the child's read copies the
            shared amap, print the map entry, the amap, an anon and its
            page, `finish`, and print the child's new amap.
  ppref     amap_tour, after pages [3,5) were unmapped: the ppref runs
            decoded by the printer equal what the program's own C decoder
            (DescribePpref) printed.
  histformat  fork_cow stopped in exit(): uvm-hist prints each record
            the program printed with Trace::Print identically.
  initfile  tools/gdb/uvmemu.gdb (no auto-load): SIGSEGVs pass silently,
            an emulated segmentation violation stops at
            uvmemu_emulated_segv, uvm-hist and uvm-lwps work.
  lwps      examples/lwps stopped while two LWPs sleep on a channel and
            one naps: uvm-lwps lists all five LWPs (the scheduler's
            uvmemu_lwps table) with their wait channels and messages.

Runs from the source tree's top directory.  Works with optimised builds:
values are read from the breakpoint's arguments (available at entry) and
from convenience variables set there, never from locals.
"""
import argparse
import os
import re
import subprocess
import sys


def run_gdb(gdb, args, commands, timeout=240):
    cmd = [gdb, "-nx", "-batch"] + args["pre"]
    for c in commands:
        cmd += ["-ex", c]
    cmd += ["--args"] + args["program"]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=timeout)
    return p.stdout


def expect(out, checks):
    """checks: (description, regex) pairs that must all match."""
    failed = [(d, r) for d, r in checks if not re.search(r, out, re.M | re.S)]
    for bad in ("Python Exception", "Traceback", "Error occurred in Python"):
        if bad in out:
            failed.append(("no Python errors", bad))
    return failed


HEX = r"0x[0-9a-f]+"


def case_autoload(opts):
    bindir = os.path.abspath(opts.bindir)
    out = run_gdb(opts.gdb, {
        "pre": ["-iex", "add-auto-load-safe-path " + bindir],
        "program": [os.path.join(bindir, "fork_cow")],
    }, [
        "handle SIGSEGV nostop noprint pass",
        # the child's first read: amap_copy of an entry whose amap is
        # shared (ref 2) with the parent
        "break amap_copy if entry->aref.ar_amap != 0 && "
        "entry->aref.ar_amap->am_ref > 1",
        "run",
        "set $e = entry",
        "set $old = entry->aref.ar_amap",
        "print *$e",
        "print *$old",
        "print $old->am_anon[0]->an_page->uanon == $old->am_anon[0]",
        "print *$old->am_anon[0]",
        "print *$old->am_anon[0]->an_page",
        "print $e->aref",
        "finish",
        "print *$e",
        "print *$e->aref.ar_amap",
        "print $e->aref.ar_amap != $old",
        "uvm-hist 4",
        "uvm-lwps",
        "info auto-load python-scripts",
        "kill",
    ])
    print(out)
    return expect(out, [
        ("the embedded script was auto-loaded",
         r"Yes\s+uvmemu/tools/gdb/uvmemu\.py"),
        ("the breakpoint was hit", r"Breakpoint 1, amap_copy \("),
        ("map entry before: NEEDSCOPY, 4 pages, prot rw-",
         r"= entry \[0x[0-9a-f]+, 0x[0-9a-f]+\) 4 pages, prot rw-/rw[-x], "
         r"inherit copy, etype COW\|NEEDSCOPY, wired 0, aref pageoff 0, "
         r"amap 0x[0-9a-f]+ \(ref 2, nslot 4\)"),
        ("the shared amap with its four anons",
         r"= amap ref 2, flags none, nslot 4, maxslot 4, nused 4, ppref "
         r"none = \{\s*\[?\"?slot 0\"?\]? = \"?" + HEX +
         r" anon ref 1, page " + HEX + r" \(pa " + HEX + r", frame \d+\), "
         r"no swap.*slot 3\"?\]? = \"?" + HEX + r" anon ref 1"),
        ("the page's owner is the anon", r"= true"),
        ("the anon printer", r"= anon ref 1, page " + HEX + r" \(pa " + HEX +
         r", frame \d+\), no swap\n"),
        ("the page printer",
         r"= page pa " + HEX + r" \(frame \d+\), flags [A-Z|-]+, pqflags "
         r"ACTIVE\|ANON, owner anon " + HEX + r", wired 0, loans 0\n"),
        ("the aref printer",
         r"= aref pageoff 0, amap " + HEX + r" \(ref 2, nslot 4\)\n"),
        ("finish returned to the fault handler",
         r"^uvmfault_amapcopy \(ufi="),
        ("map entry after: NEEDSCOPY cleared",
         r"= entry \[0x[0-9a-f]+, 0x[0-9a-f]+\) 4 pages, prot rw-/rw[-x], "
         r"inherit copy, etype COW, wired 0, aref pageoff 0, amap " + HEX +
         r" \(ref 1, nslot 4\)"),
        ("the child's new amap shares every anon (an_ref 2)",
         r"= amap ref 1, flags none, nslot 4, maxslot 4, nused 4, ppref "
         r"none = \{\s*\[?\"?slot 0\"?\]? = \"?" + HEX +
         r" anon ref 2, .*slot 3\"?\]? = \"?" + HEX + r" anon ref 2"),
        ("a new amap", r"= true\n(.|\n)*= true"),
        ("uvm-hist shows amap_copy's records",
         r"^#\d+ lwp1 amap_copy: "),
        ("uvm-lwps lists lwp0 as running",
         r"^\*\s+1\s+lwp0\s+\d+\s+-\s+-"),
    ])


def case_ppref(opts):
    bindir = os.path.abspath(opts.bindir)
    out = run_gdb(opts.gdb, {
        "pre": ["-iex", "add-auto-load-safe-path " + bindir],
        "program": [os.path.join(bindir, "amap_tour")],
    }, [
        "handle SIGSEGV nostop noprint pass",
        # the second amap_unref: after pages [3,5) were unmapped
        "break amap_unref",
        "ignore 1 1",
        "run",
        "print *amap",
        "print amap->am_ppref[0]",
        "delete",
        "continue",
    ])
    print(out)
    failed = expect(out, [
        ("the breakpoint was hit", r"Breakpoint 1, amap_unref \("),
        ("the amap printer with an established ppref",
         r"= amap ref 2, flags none, nslot 8, maxslot 8, nused 4, ppref "
         r"\[0,3\) ref 1, \[3,5\) ref 0, \[5,8\) ref 1 = \{"),
    ])
    printed = re.search(r"= amap ref 2, [^\n]*?, ppref (.*?) = \{", out)
    program = re.search(
        r"== after unmapping pages \[3,5\).*?\n  ppref: ([^\n]*)\n", out, re.S)
    if not printed or not program:
        failed.append(("both ppref strings found", "printer / program"))
    elif printed.group(1) != program.group(1):
        failed.append(("printer ppref == program's DescribePpref",
                       "%r != %r" % (printed.group(1), program.group(1))))
    else:
        print("ppref: printer and DescribePpref agree: %s" % printed.group(1))
    return failed


def case_histformat(opts):
    """uvm-hist formats records exactly as the program's Trace::Print."""
    bindir = os.path.abspath(opts.bindir)
    out = run_gdb(opts.gdb, {
        "pre": ["-iex", "add-auto-load-safe-path " + bindir],
        "program": [os.path.join(bindir, "fork_cow")],
    }, [
        "handle SIGSEGV nostop noprint pass",
        # after main printed its last UVMHIST records (exit is in libc,
        # which is loaded at run)
        "set breakpoint pending on",
        "break exit",
        "run",
        "echo ==uvm-hist==\\n",
        "uvm-hist 0",
        "echo ==end==\\n",
        "kill",
    ])
    print(out)
    printed = {}
    section = out.split("== the last UVMHIST records", 1)
    if len(section) == 2:
        # the program's lines end where gdb reports the breakpoint
        for line in section[1].split("\nBreakpoint ", 1)[0].split("\n"):
            m = re.match(r"(#\d+) lwp", line)
            if m:
                printed[m.group(1)] = line
    hist = out.split("==uvm-hist==\n", 1)[-1].split("==end==", 1)[0]
    from_gdb = {}
    for line in hist.split("\n"):
        m = re.match(r"(#\d+) lwp", line)
        if m:
            from_gdb[m.group(1)] = line
    failed = []
    if len(printed) < 10:
        failed.append(("the program printed its trace tail", "%d lines"
                       % len(printed)))
    for seq, line in sorted(printed.items()):
        if from_gdb.get(seq) != line:
            failed.append(("uvm-hist line == Trace::Print line",
                           "%r != %r" % (from_gdb.get(seq), line)))
    if not failed:
        print("uvm-hist matches Trace::Print on %d records" % len(printed))
    return failed


def case_initfile(opts):
    bindir = os.path.abspath(opts.bindir)
    out = run_gdb(opts.gdb, {
        "pre": ["-x", "tools/gdb/uvmemu.gdb"],
        "program": [os.path.join(bindir, "uvmemu_gdb_segv_target")],
    }, [
        "info signals SIGSEGV",
        "run",
        "bt 3",
        "uvm-hist 3",
        "uvm-lwps",
        "info pretty-printer",
        "continue",
    ])
    print(out)
    return expect(out, [
        ("SIGSEGV passes silently", r"^SIGSEGV\s+No\s+No\s+Yes"),
        ("no stop on the MMU's SIGSEGVs before the violation",
         r"\A(?:(?!Program received signal).)*Breakpoint \d+, "
         r"uvmemu_emulated_segv"),
        ("stopped on the emulated violation (a write, process 1)",
         r"Breakpoint \d+, uvmemu_emulated_segv \(va=\d+, pid=1, write=1\)"),
        ("the program said where it stores", r"storing to read-only va 0x"),
        ("uvm-hist works after the init file loaded the printers",
         r"^#\d+ lwp1 \w+: "),
        ("uvm-lwps", r"^\*\s+1\s+lwp0"),
        ("the printers are registered", r"uvmemu\n(\s+vm_\w+\n){5}"),
        ("the report follows", r"emulated segmentation violation at va 0x"),
        ("the program died of SIGSEGV", r"Program terminated with signal SIGSEGV"),
    ])


def case_lwps(opts):
    bindir = os.path.abspath(opts.bindir)
    out = run_gdb(opts.gdb, {
        "pre": ["-iex", "add-auto-load-safe-path " + bindir],
        "program": [os.path.join(bindir, "lwps")],
    }, [
        "handle SIGSEGV nostop noprint pass",
        "break uvmemu_lwps_all_asleep",
        "run",
        "uvm-lwps",
        "kill",
    ])
    print(out)
    chan = HEX + r" <uvmemu_lwps_channel>"
    return expect(out, [
        ("the breakpoint was hit", r"Breakpoint 1, (0x\w+ in )?"
         r"uvmemu_lwps_all_asleep \("),
        ("lwp0 waits in Scheduler::Run", r"^\s+1\s+lwp0\s+\d+\s+" + HEX),
        ("sleeper1 sleeps on the channel",
         r"^\s+\d+\s+sleeper1\s+0\s+" + chan + r"\s+lwpswait$"),
        ("sleeper2 sleeps on the channel",
         r"^\s+\d+\s+sleeper2\s+0\s+" + chan + r"\s+lwpswait$"),
        ("napper naps", r"^\s+\d+\s+napper\s+0\s+\S+.*lwpsnap$"),
        ("the waker is running", r"^\*\s+\d+\s+waker\s+0\s+-\s+-$"),
        ("the list comes from the scheduler's table",
         r"\(source: uvmemu_lwps\)"),
    ])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gdb", default="gdb")
    ap.add_argument("--bindir", default="build/default")
    ap.add_argument("case",
                    choices=["autoload", "ppref", "histformat", "initfile",
                             "lwps"])
    opts = ap.parse_args()
    failed = {"autoload": case_autoload, "ppref": case_ppref,
              "histformat": case_histformat,
              "initfile": case_initfile,
              "lwps": case_lwps}[opts.case](opts)
    if failed:
        for desc, regex in failed:
            print("FAILED: %s\n  (looked for: %s)" % (desc, regex))
        return 1
    print("gdb.%s: all checks passed" % opts.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
