# gdb support for uvmemu: pretty-printers for UVM's structures and the
# uvm-hist / uvm-lwps / uvm-segv commands.
#
# Loaded three ways (each is idempotent):
#   - automatically, from the .debug_gdb_scripts section that every binary
#     linking libuvmemu carries (needs the binary's directory in gdb's
#     auto-load safe-path: `add-auto-load-safe-path DIR`, or -iex);
#   - by `source tools/gdb/uvmemu.gdb` (the init file, which also sets the
#     SIGSEGV handling the software MMU needs);
#   - by `source tools/gdb/uvmemu.py`.
#
# Everything here reads the inferior's memory; nothing calls a function in
# it, so it works on a core file and while the process is stopped inside
# the SIGSEGV handler.  The flag values below mirror include/uvm/*.h (the
# gdb ctest checks the decoded names against a live process).
import re

import gdb
import gdb.printing

AMAP_FLAGS = [(0x1, "SHARED"), (0x2, "REFALL"), (0x4, "SWAPOFF")]
PG_FLAGS = [(0x0001, "BUSY"), (0x0002, "WANTED"), (0x0004, "TABLED"),
            (0x0008, "CLEAN"), (0x0010, "PAGEOUT"), (0x0020, "RELEASED"),
            (0x0040, "FAKE"), (0x0080, "RDONLY"), (0x0100, "ZERO")]
PQ_FLAGS = [(0x0001, "FREE"), (0x0002, "INACTIVE"), (0x0004, "ACTIVE"),
            (0x0010, "ANON")]
ET_FLAGS = [(0x01, "OBJ"), (0x02, "SUBMAP"), (0x04, "COW"),
            (0x08, "NEEDSCOPY")]
INHERIT_NAMES = {0: "share", 1: "copy", 2: "none"}
PAGE_SHIFT = 12
# PPREF_NONE is ((int *) -1): establishing the per-page counts failed.
PPREF_NONE = (1 << 64) - 1


def decode_flags(value, table, empty="none"):
    """NAME|NAME for the bits in table, unknown bits in hex."""
    value = int(value)
    names = [name for bit, name in table if value & bit]
    known = 0
    for bit, _ in table:
        known |= bit
    if value & ~known:
        names.append("0x%x" % (value & ~known))
    return "|".join(names) if names else empty


def prot_string(prot):
    prot = int(prot)
    return "".join(c if prot & bit else "-"
                   for bit, c in ((1, "r"), (2, "w"), (4, "x")))


def symbol_value(name):
    """The value of a global or file-static variable, or None.  Looked up
    by symbol, not parsed as an expression, so it works whatever frame
    (and language) the program is stopped in."""
    for lookup in (gdb.lookup_global_symbol, gdb.lookup_static_symbol):
        try:
            sym = lookup(name)
        except gdb.error:
            sym = None
        if sym is not None:
            return sym.value()
    return None


def addr(ptr):
    return int(ptr.cast(gdb.lookup_type("unsigned long")))


def decode_ppref(amap):
    """The per-page reference runs, as "[0,4) ref 2, [4,5) ref 3".

    A run of one slot is stored as ref + 1 (> 0); a longer run as
    -(ref + 1) followed by its length in the next slot (amap_pp_decode in
    lib/uvm_amap_check.cc is the C version)."""
    ppref = amap["am_ppref"]
    raw = addr(ppref)
    if raw == 0:
        return "none"
    if raw == PPREF_NONE:
        return "PPREF_NONE"
    nslot = int(amap["am_nslot"])
    maxslot = int(amap["am_maxslot"])
    runs = []
    lcv = 0
    while lcv < nslot:
        v = int(ppref[lcv])
        if v > 0:
            ref, length = v - 1, 1
        else:
            if v == 0 or lcv + 1 >= maxslot:
                return "malformed at slot %d (%d)" % (lcv, v)
            ref, length = -v - 1, int(ppref[lcv + 1])
            if length <= 1:
                return "malformed at slot %d (%d, len %d)" % (lcv, v, length)
        if lcv + length > nslot:
            return "malformed: run [%d,%d) beyond nslot %d" % (
                lcv, lcv + length, nslot)
        runs.append("[%d,%d) ref %d" % (lcv, lcv + length, ref))
        lcv += length
    return ", ".join(runs)


def anon_summary(anon):
    page = anon["an_page"]
    if addr(page) == 0:
        where = "no page"
    else:
        pa = int(page["phys_addr"])
        where = "page %s (pa 0x%x, frame %d)" % (page, pa, pa >> PAGE_SHIFT)
    swslot = int(anon["an_swslot"])
    swap = "swap slot %d" % swslot if swslot != 0 else "no swap"
    return "anon ref %d, %s, %s" % (int(anon["an_ref"]), where, swap)


class AmapPrinter:
    """struct vm_amap: counters, decoded flags and ppref, used slots."""

    def __init__(self, val):
        self.val = val

    def to_string(self):
        a = self.val
        return ("amap ref %d, flags %s, nslot %d, maxslot %d, nused %d, "
                "ppref %s" % (int(a["am_ref"]),
                              decode_flags(a["am_flags"], AMAP_FLAGS),
                              int(a["am_nslot"]), int(a["am_maxslot"]),
                              int(a["am_nused"]), decode_ppref(a)))

    def children(self):
        a = self.val
        nused = int(a["am_nused"])
        if nused < 0 or nused > int(a["am_maxslot"]):
            return
        # am_slots[0 .. nused) lists the used slots in insertion order;
        # show them in slot order.
        slots = sorted(int(a["am_slots"][i]) for i in range(nused))
        for slot in slots:
            anon = a["am_anon"][slot]
            if addr(anon) == 0:
                yield "slot %d" % slot, "<empty: am_slots is inconsistent>"
            else:
                yield "slot %d" % slot, "%s %s" % (anon, anon_summary(anon))


class AnonPrinter:
    def __init__(self, val):
        self.val = val

    def to_string(self):
        return anon_summary(self.val)


class PagePrinter:
    def __init__(self, val):
        self.val = val

    def to_string(self):
        p = self.val
        pa = int(p["phys_addr"])
        if addr(p["uanon"]) != 0:
            owner = "anon %s" % p["uanon"]
        elif addr(p["uobject"]) != 0:
            owner = "object %s offset 0x%x" % (p["uobject"], int(p["offset"]))
        else:
            owner = "no owner"
        s = ("page pa 0x%x (frame %d), flags %s, pqflags %s, owner %s, "
             "wired %d, loans %d" % (
                 pa, pa >> PAGE_SHIFT, decode_flags(p["flags"], PG_FLAGS, "-"),
                 decode_flags(p["pqflags"], PQ_FLAGS, "-"), owner,
                 int(p["wire_count"]), int(p["loan_count"])))
        if addr(p["owner_tag"]) != 0:
            s += ", busy by '%s' (lwp %d)" % (p["owner_tag"].string(),
                                              int(p["owner_lid"]))
        return s


class ArefPrinter:
    def __init__(self, val):
        self.val = val

    def to_string(self):
        amap = self.val["ar_amap"]
        if addr(amap) == 0:
            return "aref pageoff %d, no amap" % int(self.val["ar_pageoff"])
        return "aref pageoff %d, amap %s (ref %d, nslot %d)" % (
            int(self.val["ar_pageoff"]), amap, int(amap["am_ref"]),
            int(amap["am_nslot"]))


class MapEntryPrinter:
    def __init__(self, val):
        self.val = val

    def to_string(self):
        e = self.val
        start, end = int(e["start"]), int(e["end"])
        return ("entry [0x%x, 0x%x) %d pages, prot %s/%s, inherit %s, "
                "etype %s, wired %d, %s" % (
                    start, end, (end - start) >> PAGE_SHIFT,
                    prot_string(e["protection"]),
                    prot_string(e["max_protection"]),
                    INHERIT_NAMES.get(int(e["inheritance"]),
                                      str(int(e["inheritance"]))),
                    decode_flags(e["etype"], ET_FLAGS, "-"),
                    int(e["wired_count"]), ArefPrinter(e["aref"]).to_string()))


def build_printer():
    pp = gdb.printing.RegexpCollectionPrettyPrinter("uvmemu")
    pp.add_printer("vm_amap", "^vm_amap$", AmapPrinter)
    pp.add_printer("vm_anon", "^vm_anon$", AnonPrinter)
    pp.add_printer("vm_page", "^vm_page$", PagePrinter)
    pp.add_printer("vm_aref", "^vm_aref$", ArefPrinter)
    pp.add_printer("vm_map_entry", "^vm_map_entry$", MapEntryPrinter)
    return pp


# ---------------------------------------------------------------------------
# uvm-hist: the UVMHIST ring (struct uvmhist_ring uvmhist_ring, declared
# in include/uvm/uvm_stat.h), formatted here from the records' format
# strings and arguments.

_CONV = re.compile(r"%([-+ #0]*)(\*|\d+)?(?:\.(\*|\d+))?"
                   r"(?:hh|h|ll|l|q|j|z|t|L)?(.)", re.S)


def _c_unsigned(flags, width, prec, conv, v):
    """%u %x %X %o as C's printf renders them (Python's "#" differs: C
    writes no 0x for zero, and a single leading 0 for octal)."""
    digits = ("%" + ("." + prec if prec else "") +
              ("d" if conv == "u" else conv)) % v
    prefix = ""
    if "#" in flags and conv in "xX" and v != 0:
        prefix = "0" + conv
    if "#" in flags and conv == "o" and not digits.startswith("0"):
        digits = "0" + digits
    w = int(width or 0)
    pad = w - len(prefix) - len(digits)
    if pad <= 0:
        return prefix + digits
    if "-" in flags:
        return prefix + digits + " " * pad
    if "0" in flags and not prec:
        return prefix + "0" * pad + digits
    return " " * pad + prefix + digits


def format_message(fmt, args):
    """Renders a UVMHIST format with its four 64-bit arguments, as
    emu/hist.cc's FormatMessage does."""
    out = []
    pos = 0
    argi = [0]

    def next_arg():
        if argi[0] >= 4:
            return None
        argi[0] += 1
        return args[argi[0] - 1]

    for m in _CONV.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        flags, width, prec, conv = m.groups()
        if conv == "%":
            out.append("%")
            continue
        if width == "*":
            width = next_arg()
            width = str(width if width is not None else 0)
        if prec == "*":
            prec = next_arg()
            prec = str(prec if prec is not None else 0)
        v = next_arg()
        if v is None:
            out.append("<?>")
            continue
        if conv in "di":
            spec = "%" + flags + (width or "") + ("." + prec if prec else "")
            out.append((spec + "d") % (v - (1 << 64) if v >= 1 << 63 else v))
        elif conv in "uxXo":
            out.append(_c_unsigned(flags, width, prec, conv, v))
        elif conv == "c" and 0x20 <= v < 0x7F:
            out.append(chr(v))
        else:
            out.append("0x%x" % v)
    out.append(fmt[pos:])
    return "".join(out)


def hist_records(n=0):
    """The newest n records of the ring (all if n is 0), oldest first, as
    (seq, lwp, function, message).  Only those records are read."""
    ring = symbol_value("uvmhist_ring")
    if ring is None:
        raise gdb.GdbError("uvm-hist: no UVMHIST ring in this program "
                           "(no symbol uvmhist_ring)")
    start = ring["buf"]
    cap = int(ring["cap"])
    if addr(start) == 0 or cap == 0:
        return []
    # the record with sequence number s is buf[s & mask]
    seq = int(ring["seq"])
    mask = int(ring["mask"])
    count = min(seq, cap)
    if 0 < n < count:
        count = n
    recs = []
    for s in range(seq - count + 1, seq + 1):
        r = start[s & mask]
        site = r["site"]
        args = [int(r["args"][i]) for i in range(4)]
        fmt, fn = "", "?"
        if addr(site):
            fmt = site["format"].string() if addr(site["format"]) else ""
            fn = site["function"].string() if addr(site["function"]) else "?"
        recs.append((s, int(r["lwp"]), fn, format_message(fmt, args)))
    return recs


class UvmHistCommand(gdb.Command):
    """Print the UVMHIST ring: uvm-hist [N] prints the newest N records
    (default 20; 0 prints all), oldest first, as "#seq lwpN function:
    message".  Reads memory only; works on a core file."""

    def __init__(self):
        super().__init__("uvm-hist", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        n = 20
        if arg.strip():
            try:
                n = int(gdb.parse_and_eval(arg))
            except gdb.error:
                raise gdb.GdbError("usage: uvm-hist [N]")
        recs = hist_records(max(n, 0))
        if not recs:
            gdb.write("uvm-hist: the ring is empty\n")
        for seq, lwp, fn, msg in recs:
            gdb.write("#%d lwp%d %s: %s\n" % (seq, lwp, fn, msg))


# ---------------------------------------------------------------------------
# uvm-lwps: the LWPs.  When the scheduler publishes its LWPs as
#   struct lwp **uvmemu_lwps;  int uvmemu_nlwps;
# (emu/sched.cc, kept up to date at spawn and exit) every one of them is
# listed; before the scheduler first runs, or in a program without it,
# the command lists lwp0 and curlwp (emu/lwp.cc).


def lwp_list():
    table = symbol_value("uvmemu_lwps")
    count = symbol_value("uvmemu_nlwps")
    if table is not None and count is not None and int(count) > 0:
        return [table[i] for i in range(int(count))
                if addr(table[i]) != 0], "uvmemu_lwps"
    lwps = []
    lwp0 = symbol_value("(anonymous namespace)::lwp0")
    if lwp0 is not None:
        lwp0 = lwp0.address
    cur = symbol_value("uvmemu_curlwp")
    for p in (lwp0, cur):
        if p is not None and addr(p) != 0 and all(
                addr(p) != addr(q) for q in lwps):
            lwps.append(p)
    return lwps, "lwp0 and curlwp only (no uvmemu_lwps table)"


def wchan_string(lwp):
    wchan = lwp["l_wchan"]
    if addr(wchan) == 0:
        return "-"
    sym = gdb.execute("info symbol 0x%x" % addr(wchan), to_string=True)
    sym = sym.strip()
    if sym.startswith("No symbol"):
        return "0x%x" % addr(wchan)
    return "0x%x <%s>" % (addr(wchan), sym.split(" in section")[0])


class UvmLwpsCommand(gdb.Command):
    """List the LWPs: id, name, kmutexes held, wait channel and message;
    the running one (curlwp) is marked with '*'."""

    def __init__(self):
        super().__init__("uvm-lwps", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        lwps, source = lwp_list()
        if not lwps:
            raise gdb.GdbError("uvm-lwps: no LWPs found (%s)" % source)
        cur = symbol_value("uvmemu_curlwp")
        cur = addr(cur) if cur is not None else 0
        gdb.write("   %-4s %-12s %-6s %-30s %s\n" % (
            "lid", "name", "locks", "wchan", "wmesg"))
        for p in lwps:
            lwp = p.dereference()
            name = lwp["l_name"].string() if addr(lwp["l_name"]) else "?"
            wmesg = lwp["l_wmesg"].string() if addr(lwp["l_wmesg"]) else "-"
            gdb.write("%s  %-4d %-12s %-6d %-30s %s\n" % (
                "*" if addr(p) == cur else " ", int(lwp["l_lid"]), name,
                int(lwp["l_nlocks"]), wchan_string(lwp), wmesg))
        gdb.write("(source: %s)\n" % source)


# ---------------------------------------------------------------------------
# uvm-segv: stop where the MMU reports an emulated segmentation violation
# (emu/mmu_signal.cc calls uvmemu_emulated_segv just before printing the
# report) and where it hands a fault outside the emulated memory back to
# the host (uvmemu_foreign_segv), so the state can be examined although
# SIGSEGV itself passes silently.


class UvmSegvCommand(gdb.Command):
    """Stop on emulated segmentation violations and on wild pointers:
    breakpoints on uvmemu_emulated_segv (called with the faulting va, the
    process id and whether the access was a write) and on
    uvmemu_foreign_segv (called with the host address)."""

    def __init__(self):
        super().__init__("uvm-segv", gdb.COMMAND_BREAKPOINTS)

    def invoke(self, arg, from_tty):
        gdb.Breakpoint("uvmemu_emulated_segv")
        gdb.Breakpoint("uvmemu_foreign_segv")


def register(objfile=None):
    """Registers the printers (for objfile, or globally) and, once, the
    commands."""
    gdb.printing.register_pretty_printer(objfile, build_printer(),
                                         replace=True)
    if not getattr(gdb, "_uvmemu_commands", False):
        UvmHistCommand()
        UvmLwpsCommand()
        UvmSegvCommand()
        gdb._uvmemu_commands = True


register(gdb.current_objfile())
