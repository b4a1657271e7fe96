#!/usr/bin/env python3
"""Plot amap_copy and amap_wiperange cost against size as SVG.

Reads either tools/bench-compare's JSON (medians of the emulated and the
bare build) or a Google Benchmark JSON of one run (bench/results/
latest.json, emulated only), and writes two log-log charts:

  bench/plot.py bench/results/compare.json --out-dir bench/results
    -> bench/results/amap_copy.svg, bench/results/amap_wiperange.svg

The SVG is written by hand: Python 3 standard library only.
"""

import argparse
import json
import math
import os
import re

WIDTH, HEIGHT = 760, 460
LEFT, RIGHT, TOP, BOTTOM = 78, 210, 48, 58
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def load(path):
    """Returns {variant: {benchmark name: ns per operation}}."""
    with open(path) as f:
        data = json.load(f)
    if "benchmarks" in data:  # one Google Benchmark run
        out = {}
        for b in data["benchmarks"]:
            if b.get("run_type") == "aggregate":
                continue
            name = b["name"].replace("/manual_time", "")
            out[name] = b["real_time"] * UNIT_NS[b.get("time_unit", "ns")]
        return {"emulated": out}
    return {v: m for v, m in data["bare"]["medians"].items()
            if v in ("emulated", "bare")}


def series(times, family):
    """[(size, ns)] of a family's benchmarks, by size."""
    pts = []
    for name, ns in times.items():
        m = re.fullmatch(re.escape(family) + r"/(\d+)", name)
        if m:
            pts.append((int(m.group(1)), ns))
    return sorted(pts)


def nice_range(lo, hi):
    return 10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi))


def fmt_size(x):
    for unit, scale in (("M", 1 << 20), ("K", 1 << 10)):
        if x >= scale and x % scale == 0:
            return "%d%s" % (x // scale, unit)
    return str(int(x))


def fmt_ns(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return "%g %s" % (ns / scale, unit)
    return "%g ns" % ns


def chart(title, xlabel, lines, markers=()):
    """lines: [(label, color, dashed, [(x, y)])]; markers: [(x, label, color)]."""
    xs = [x for _, _, _, pts in lines for x, _ in pts]
    ys = [y for _, _, _, pts in lines for _, y in pts]
    x0, x1 = min(xs) / 1.2, max(xs) * 1.2
    y0, y1 = nice_range(min(ys), max(ys))
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x):
        return LEFT + pw * (math.log(x) - math.log(x0)) / (math.log(x1) - math.log(x0))

    def py(y):
        return TOP + ph * (1 - (math.log(y) - math.log(y0)) / (math.log(y1) - math.log(y0)))

    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">'
           % (WIDTH, HEIGHT, WIDTH, HEIGHT),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>'
           % (LEFT, title)]
    # grid and axes: decades on y, the measured sizes on x
    y = y0
    while y <= y1 * 1.001:
        out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>'
                   % (LEFT, py(y), LEFT + pw, py(y)))
        out.append('<text x="%.1f" y="%.1f" text-anchor="end">%s</text>'
                   % (LEFT - 6, py(y) + 4, fmt_ns(y)))
        y *= 10
    ticks = sorted(set(xs))
    step = max(1, len(ticks) // 9)
    for x in ticks[::step]:
        out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>'
                   % (px(x), TOP, px(x), TOP + ph))
        out.append('<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>'
                   % (px(x), TOP + ph + 16, fmt_size(x)))
    out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" '
               'stroke="#333"/>' % (LEFT, TOP, pw, ph))
    out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
               % (LEFT + pw / 2, HEIGHT - 14, xlabel))
    out.append('<text transform="translate(18 %.1f) rotate(-90)" '
               'text-anchor="middle">CPU time per operation (log)</text>'
               % (TOP + ph / 2))
    for x, label, color in markers:
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" '
                   'stroke-dasharray="2 3"/>' % (px(x), TOP, px(x), TOP + ph, color))
        out.append('<text x="%.1f" y="%d" fill="%s" font-size="10" '
                   'text-anchor="middle">%s</text>' % (px(x), TOP - 4, color, label))
    for i, (label, color, dashed, pts) in enumerate(lines):
        path = " ".join("%.1f,%.1f" % (px(x), py(y)) for x, y in pts)
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        out.append('<polyline points="%s" fill="none" stroke="%s" '
                   'stroke-width="2"%s/>' % (path, color, dash))
        for x, y in pts:
            out.append('<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>'
                       % (px(x), py(y), color))
        ly = TOP + 10 + 18 * i
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" '
                   'stroke-width="2"%s/>' % (WIDTH - RIGHT + 12, ly,
                                             WIDTH - RIGHT + 40, ly, color, dash))
        out.append('<text x="%d" y="%d">%s</text>'
                   % (WIDTH - RIGHT + 46, ly + 4, label))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("json")
    p.add_argument("--out-dir", default="bench/results")
    args = p.parse_args()
    data = load(args.json)
    variants = [v for v in ("emulated", "bare") if v in data]

    copy_lines = []
    families = [("AmapCopy_Dense", "dense"), ("AmapCopy_Sparse16", "1/16 used"),
                ("AmapCopy_NoChunkNew", "new, no chunk"),
                ("AmapCopy_ChunkNew", "new, chunked")]
    for i, (fam, label) in enumerate(families):
        for v in variants:
            pts = series(data[v], fam)
            if pts:
                copy_lines.append(("%s (%s)" % (label, v), COLORS[i],
                                   v == "bare", pts))
    wipe_lines, markers = [], []
    for i, nused in enumerate((64, 512, 4096)):
        for v in variants:
            pts = series(data[v], "AmapWiperange_Nused%d" % nused)
            if pts:
                wipe_lines.append(("nused %d (%s)" % (nused, v), COLORS[i],
                                   v == "bare", pts))
        markers.append((nused, "len = nused", COLORS[i]))

    os.makedirs(args.out_dir, exist_ok=True)
    outputs = [
        ("amap_copy.svg", chart("amap_copy: cost against amap size",
                                "slots (entry pages)", copy_lines)),
        ("amap_wiperange.svg", chart(
            "amap_wiperange of [0, len) in a 4096-slot amap",
            "len (slots); left of a marker by am_anon, from it on by am_slots",
            wipe_lines, markers)),
    ]
    for name, svg in outputs:
        path = os.path.join(args.out_dir, name)
        with open(path, "w") as f:
            f.write(svg)
        print("wrote", path)


if __name__ == "__main__":
    main()
