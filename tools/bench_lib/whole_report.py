#!/usr/bin/env python3
"""whole_report.py - the report of tools/bench_whole: reads OUT/results.csv (section
"whole"), prints per kind each tool's median wall time and its ratio to tideline (the
peer's seconds / tideline's seconds: above 1.00 tideline is faster), the goals of #14,
an ASCII bar chart (for docs/benchmarks.md), appends all that to OUT/summary.txt and
draws OUT/whole.png with gnuplot when it is installed."""
import csv
import os
import subprocess
import sys

GOALS = {("pg", "pg_dump|psql"): 1.2, ("pg", "pgcopydb clone"): 1.3, ("mysql", "mydumper+myloader"): 1.5}


def main(out):
    rows = [r for r in csv.DictReader(open(os.path.join(out, "results.csv"))) if r["section"] == "whole"]
    lines = []
    kinds = []
    for r in rows:
        if r["kind"] not in kinds:
            kinds.append(r["kind"])
    chart = []
    for kind in kinds:
        rs = [r for r in rows if r["kind"] == kind]
        tl = next((r for r in rs if r["tool"] == "tideline"), None)
        if tl is None:
            continue
        base = float(tl["seconds"])
        lines.append("%s: %s rows, %.1f MB on the source" % (kind, tl["rows"], float(tl["bytes"]) / 1e6))
        lines.append("  %-20s %9s %8s %10s %10s %7s  %s" % ("tool", "seconds", "ratio", "CPU s", "srv CPU s", "check",
                                                            "config (runs)"))
        for r in rs:
            ratio = float(r["seconds"]) / base if base > 0 else 0.0
            lines.append("  %-20s %9.2f %7.2fx %10s %10s %7s  %s" % (r["tool"], float(r["seconds"]), ratio, r["cpu_s"],
                                                                  r["server_cpu_s"], r["verified"], r["config"]))
            chart.append((kind, r["tool"], ratio))
        for r in rs:
            goal = GOALS.get((kind, r["tool"]))
            if goal is None:
                continue
            ratio = float(r["seconds"]) / base if base > 0 else 0.0
            lines.append("  goal: tideline %.2fx as fast as %s (goal >= %.1fx): %s" %
                         (ratio, r["tool"], goal, "MET" if ratio >= goal else "MISSED"))
        if tl["note"]:
            lines.append("  tideline " + tl["note"])
        lines.append("")
    lines.append("ratio = the tool's seconds / tideline's seconds (tideline = 1.00; longer bar: slower than tideline)")
    width = 40
    top = max([c[2] for c in chart] + [1.0])
    for kind, tool, ratio in chart:
        lines.append("  %-5s %-20s %s %.2f" % (kind, tool, "#" * max(1, int(round(ratio / top * width))), ratio))
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(os.path.join(out, "summary.txt"), "a") as f:
        f.write(text)
    draw(out, chart)


def draw(out, chart):
    if not chart:
        return
    data = os.path.join(out, "whole.dat")
    with open(data, "w") as f:
        for i, (kind, tool, ratio) in enumerate(chart):
            f.write('%d "%s\\n%s" %.3f\n' % (i, kind, tool, ratio))
    gp = ['set terminal png size 760,380 noenhanced', 'set output "%s"' % os.path.join(out, "whole.png"),
          'set title "whole database into an empty server: wall time / tideline\'s (lower is faster)"',
          'set style fill solid 0.6', 'set boxwidth 0.6', 'set yrange [0:*]', 'set grid ytics',
          'set xtics font ",8"', 'unset key', 'set ylabel "seconds / tideline seconds"',
          'plot "%s" using 1:3:xtic(2) with boxes, 1 with lines dt 2' % data]
    try:
        subprocess.run(["gnuplot"], input="\n".join(gp) + "\n", text=True, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print("whole_report: gnuplot failed: %s" % getattr(e, "stderr", e), file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
