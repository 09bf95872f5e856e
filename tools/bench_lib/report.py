#!/usr/bin/python3
"""report.py - turns tools/bench's results.csv into the printed benchmark table (also
written to OUT/summary.txt), checks the goals, and draws OUT/rows_per_s.png with gnuplot
(rows/s per tool, one panel per database kind).

Usage: report.py OUT_DIR   (reads OUT_DIR/results.csv)

"CPU s" is the client processes' user+system time, "srv CPU s" the source and target
servers' (medians over the repeated runs). Column "x tideline" is the row's rows/s divided by the reference tideline run of the same
kind (table mode, parallel_size 4 for MySQL/PG, checkpoints every second): below 1.00 the
tool is slower than tideline, above 1.00 it is faster.
"""

import csv
import os
import re
import subprocess
import sys

ORDER = {"ref": 0, "peer": 1, "ceiling": 2, "ckpt": 3, "variant": 4, "scaling": 5}
KINDS = ["mysql", "pg", "mongo", "ferretdb"]


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["rows"] = int(r["rows"])
        r["seconds"] = float(r["seconds"])
        r["rows_per_s"] = float(r["rows_per_s"])
        r["mb_per_s"] = float(r["mb_per_s"])
        r["peak_rss_kb"] = int(r["peak_rss_kb"] or 0)
        r["cpu_s"] = float(r.get("cpu_s") or 0)
        r["server_cpu_s"] = float(r.get("server_cpu_s") or 0)
    return rows


def find(rows, kind, section, tool=None):
    for r in rows:
        if r["kind"] == kind and r["section"] == section and (tool is None or r["tool"] == tool):
            return r
    return None


def runs(r):
    """The per-run seconds listed in a config's "(median of N: a b c)"."""
    c = r["config"]
    if ": " not in c or "median of" not in c:
        return []
    try:
        return [float(x) for x in c.rsplit(": ", 1)[1].rstrip(")").split()]
    except ValueError:
        return []


def table(rows):
    head = ["kind", "tool", "config", "rows", "seconds", "rows/s", "MB/s", "peak RSS MiB", "CPU s", "srv CPU s", "x tideline", "check"]
    out = []
    refs = {k: find(rows, k, "ref") for k in KINDS}
    for kind in KINDS:
        ks = sorted((r for r in rows if r["kind"] == kind), key=lambda r: ORDER.get(r["section"], 9))
        for r in ks:
            ref = refs.get(kind)
            ratio = "%.2f" % (r["rows_per_s"] / ref["rows_per_s"]) if ref and ref["rows_per_s"] else "-"
            out.append([kind, r["tool"], r["config"], str(r["rows"]), "%.2f" % r["seconds"],
                        "%.0f" % r["rows_per_s"], "%.1f" % r["mb_per_s"],
                        "%.1f" % (r["peak_rss_kb"] / 1024.0), "%.2f" % r["cpu_s"], "%.2f" % r["server_cpu_s"], ratio, r["verified"]])
    widths = [max(len(h), *(len(x[i]) for x in out)) if out else len(h) for i, h in enumerate(head)]
    lines = []
    fmt = lambda cells: "  ".join(c.ljust(w) if i < 3 or i == 11 else c.rjust(w)
                                  for i, (c, w) in enumerate(zip(cells, widths)))
    lines.append(fmt(head))
    lines.append("  ".join("-" * w for w in widths))
    prev = None
    for x in out:
        if prev and x[0] != prev:
            lines.append("")
        prev = x[0]
        lines.append(fmt(x))
    return lines


def goals(rows):
    lines = []

    def speed(kind, tool, section, goal):
        ref, peer = find(rows, kind, "ref"), find(rows, kind, section, tool)
        if not ref or not peer or not peer["rows_per_s"]:
            return
        v = ref["rows_per_s"] / peer["rows_per_s"]
        verdict = "met" if v >= goal else "MISSED: tideline is %s" % (
            "slower than %s" % tool if v < 1 else "faster, but by less than the goal")
        lines.append("%-6s tideline / %-26s = %5.2fx   goal >= %.1fx   %s" % (kind, tool, v, goal, verdict))

    def overhead(kind, goal, informational):
        on, off = find(rows, kind, "ref"), find(rows, kind, "ckpt")
        if not on or not off:
            return
        pct = (on["seconds"] - off["seconds"]) / off["seconds"] * 100.0
        verdict = "met" if pct <= goal else ("MISSED" if not informational else "above %d %%" % goal)
        lines.append("%-6s checkpoint overhead (1 s vs 86400 s, medians %.2f s vs %.2f s) = %+.1f %%   goal <= %d %%   %s%s"
                     % (kind, on["seconds"], off["seconds"], pct, goal, verdict,
                        " (informational)" if informational else ""))
        ron, roff = runs(on), runs(off)
        if len(ron) > 1 and len(roff) > 1:
            lines.append("%-6s   best runs %.2f s vs %.2f s = %+.1f %%; tideline CPU (medians) %.2f s vs %.2f s; %s vs %s"
                         % ("", min(ron), min(roff), (min(ron) - min(roff)) / min(roff) * 100.0,
                            on["cpu_s"], off["cpu_s"], on["note"] or "?", off["note"] or "?"))
        # tideline's own measure, free of run-to-run noise: time spent writing checkpoint
        # records (store transaction + log lines) as a share of the run
        m = re.search(r"checkpoint writes: (\d+) records written in ([0-9.]+) ms \(([0-9.]+) % of the run\)",
                      on["note"] or "")
        if m:
            share = float(m.group(3))
            lines.append("%-6s   measured by tideline: %s checkpoint records took %s ms = %.2f %% of the run   "
                         "goal <= %d %%   %s" % ("", m.group(1), m.group(2), share, goal,
                                                 "met" if share <= goal else "MISSED"))

    speed("mysql", "mydumper+myloader", "peer", 1.2)
    speed("mysql", "mysqldump|mariadb", "peer", 1.0)
    overhead("mysql", 3, False)
    speed("pg", "pg_dump|psql", "peer", 1.0)
    speed("pg", "raw COPY pipe", "peer", 0.8)
    overhead("pg", 3, True)
    speed("mongo", "pymongo insert_many", "ceiling", 0.8)
    speed("mongo", "pymongo bulk ReplaceOne upsert", "peer", 0.8)
    overhead("mongo", 3, True)
    speed("ferretdb", "Go driver find+insertMany", "peer", 1.0)
    overhead("ferretdb", 3, True)
    mem = find(rows, "ferretdb", "ref")
    if mem:
        lines.append("%-6s tideline peak RSS %.1f MiB (%d documents)   goal: bounded, as for SQL (<= 64 MiB)   %s"
                     % ("ferretdb", mem["peak_rss_kb"] / 1024.0, mem["rows"],
                        "met" if mem["peak_rss_kb"] <= 64 * 1024 else "MISSED"))
    # scaling, as ratios to parallel_size 1
    for kind in ("mysql",):
        sc = [r for r in rows if r["kind"] == kind and r["tool"] == "tideline"]
        base = next((r for r in sc if r["config"].startswith("table p=1 ")), None)
        if base:
            parts = []
            for r in sc:
                if r["section"] in ("ref", "scaling") and r["config"].startswith("table p="):
                    parts.append("%s %.2fx" % (r["config"].split(" ckpt")[0], r["rows_per_s"] / base["rows_per_s"]))
            lines.append("%-6s scaling over 4 tables vs p=1: %s" % (kind, ", ".join(sorted(parts))))
        big = next((r for r in sc if r["config"] == "1 big table: table p=1"), None)
        if big:
            parts = ["%s %.2fx" % (r["config"].split(": ")[1], r["rows_per_s"] / big["rows_per_s"])
                     for r in sc if r["config"].startswith("1 big table: chunk")]
            lines.append("%-6s chunk mode on one table vs table p=1: %s" % (kind, ", ".join(parts)))
    return lines


def chart(rows, out):
    kinds = [k for k in KINDS if any(r["kind"] == k for r in rows)]
    if not kinds:
        return None
    for k in kinds:
        ks = sorted((r for r in rows if r["kind"] == k), key=lambda r: ORDER.get(r["section"], 9))
        with open(os.path.join(out, "chart-%s.dat" % k), "w") as f:
            for r in ks:
                if r["tool"] == "tideline":
                    label = "tideline " + r["config"].split(" (")[0].replace(" ckpt=1s", "").replace("1 big table: ", "1 table, ")
                else:
                    label = r["tool"]
                label = label.replace('"', "'").replace("_", "\\\\_")
                color = 0x4477AA if r["tool"] == "tideline" else 0xCC6677
                f.write('"%s" %.0f %d\n' % (label, r["rows_per_s"], color))
    png = os.path.join(out, "rows_per_s.png")
    gp = ['set terminal pngcairo size %d,720 font ",9"' % (480 * len(kinds)) if has_cairo() else
          'set terminal png size %d,720' % (480 * len(kinds)),
          'set output "%s"' % png,
          'set multiplot layout 1,%d title "tideline benchmark: rows/s, higher is better (blue: tideline, red: other tools)"' % len(kinds),
          'set style fill solid 0.8 border -1', 'set boxwidth 0.7', 'set grid ytics',
          'set xtics rotate by 60 right nomirror', 'set yrange [0:*]', 'set bmargin 14',
          'unset key', 'set format y "%.1s%c"']
    for k in kinds:
        gp.append('set title "%s"' % k)
        gp.append('plot "%s" using 0:2:3:xtic(1) with boxes lc rgb variable'
                  % os.path.join(out, "chart-%s.dat" % k))
    gp.append("unset multiplot")
    try:
        subprocess.run(["gnuplot"], input="\n".join(gp) + "\n", text=True, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except (OSError, subprocess.CalledProcessError) as e:
        print("report: gnuplot failed: %s" % getattr(e, "stderr", e), file=sys.stderr)
        return None
    return png


def has_cairo():
    try:
        r = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
        return "pngcairo" in (r.stdout + r.stderr)
    except OSError:
        return False


def main():
    out = sys.argv[1]
    rows = load(os.path.join(out, "results.csv"))
    lines = table(rows)
    g = goals(rows)
    if g:
        lines += ["", "goals:"] + ["  " + x for x in g]
    fpath = os.path.join(out, "failures.txt")
    if os.path.exists(fpath):
        with open(fpath) as f:
            fails = [x.rstrip("\n") for x in f if x.strip()]
        if fails:
            lines += ["", "tideline runs that FAILED and were retried (%d):" % len(fails)] + ["  " + x for x in fails]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out, "summary.txt"), "a") as f:
        f.write(text)
    sys.stdout.write(text)
    png = chart(rows, out)
    if png:
        print("\nresults: %s/results.csv  summary: %s/summary.txt  chart: %s" % (out, out, png))
    return 0


if __name__ == "__main__":
    sys.exit(main())
