"""Speed and memory of the default (multilevel) pipeline on the bench photo set.

    PYTHONPATH=python python bench/bench_speed.py [--photos a,b] [--sizes 640x480,...]
                                                  [--no-reference] [--update-readme]

For every photo of the bench set (bench/photos.py) and every size (640x480,
1280x960, 2448x1632 by default), ``sss.segment(photo)`` with all defaults,
features included, runs in a fresh process: wall time per stage and in all,
and the process's peak resident memory. In the same run the reference method
(``method="reference"``) is timed on every photo at 640x480, as the baseline
of the speed-up. Medians over the photos; a log-log plot of time against
pixel count goes to docs/speed_vs_pixels.png.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from _common import machine, publish, run_child, today
from photos import available

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent

_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {bench!r})
import sss
from photos import photo
name, h, w, method = {name!r}, {h}, {w}, {method!r}
im = photo(name, (h, w))
t = time.perf_counter()
r = sss.segment(im, method=method, progress=False)
wall = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(json.dumps(dict(wall=wall, timings=r.timings, peak_mib=peak,
                      layers=int(r.alphas.shape[2]), working=list(r.working_shape))))
"""


def run_one(name, h, w, method="multilevel"):
    code = _CHILD.format(bench=str(BENCH), name=name, h=h, w=w, method=method)
    return run_child(code, f"{name} {w}x{h} {method}")


def plot(results, sizes, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4.2), dpi=100)
    px = [h * w for h, w in sizes]
    for name, per in results.items():
        ax.plot(px, [per[s]["wall"] for s in sizes], "o-", lw=1, ms=3, alpha=0.6, label=name)
    med = [np.median([per[s]["wall"] for per in results.values()]) for s in sizes]
    ax.plot(px, med, "k-", lw=2.5, label="median")
    ref = [per.get("reference") for per in results.values() if per.get("reference")]
    if ref:
        ax.plot([px[0]] * len(ref), [r["wall"] for r in ref], "rx", ms=6,
                label="reference method, 640x480")
    lin = [med[0] * p / px[0] for p in px]
    ax.plot(px, lin, "k:", lw=1, label="linear in pixels")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("pixels")
    ax.set_ylabel("seconds (wall, features included)")
    ax.set_title("sss.segment, multilevel default, 2 cores")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(True, which="both", lw=0.3)
    fig.tight_layout()
    fig.savefig(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", default=None)
    ap.add_argument("--sizes", default="640x480,1280x960,2448x1632")
    ap.add_argument("--no-reference", action="store_true")
    ap.add_argument("--update-readme", action="store_true")
    args = ap.parse_args(argv)
    names = available() if args.photos is None else args.photos.split(",")
    sizes = [tuple(int(v) for v in s.split("x"))[::-1] for s in args.sizes.split(",")]
    results = {}
    for name in names:
        per = {}
        if not args.no_reference:
            per["reference"] = run_one(name, 480, 640, "reference")
        for h, w in sizes:
            per[(h, w)] = run_one(name, h, w)
        results[name] = per
        print(name, {f"{w}x{h}": round(per[(h, w)]["wall"], 2) for h, w in sizes},
              "reference", round(per["reference"]["wall"], 1) if "reference" in per else "-",
              flush=True)
    stages = ["features", "affinities", "eigenvectors", "constrained sparsification",
              "grouping", "relaxed sparsification", "upsampling", "layer matting",
              "subject matting"]
    head = "| photo | " + " | ".join(f"{w}x{h} s | peak MiB" for h, w in sizes)
    if not args.no_reference:
        head += " | reference 640x480 s | speed-up at 640x480"
    lines = [head + " |", "| --- |" + " ---: | ---: |" * len(sizes)
             + (" ---: | ---: |" if not args.no_reference else "")]
    for name, per in results.items():
        row = f"| {name} | " + " | ".join(f"{per[s]['wall']:.2f} | {per[s]['peak_mib']:.0f}"
                                          for s in sizes)
        if "reference" in per:
            row += f" | {per['reference']['wall']:.1f} | " \
                   f"{per['reference']['wall'] / per[sizes[0]]['wall']:.0f}x"
        lines.append(row + " |")
    med = {s: float(np.median([per[s]["wall"] for per in results.values()])) for s in sizes}
    mpk = {s: float(np.median([per[s]["peak_mib"] for per in results.values()])) for s in sizes}
    row = "| **median** | " + " | ".join(f"**{med[s]:.2f}** | {mpk[s]:.0f}" for s in sizes)
    if not args.no_reference:
        rm = float(np.median([per["reference"]["wall"] for per in results.values()]))
        sp = float(np.median([per["reference"]["wall"] / per[sizes[0]]["wall"]
                              for per in results.values()]))
        row += f" | {rm:.1f} | {sp:.0f}x"
    lines.append(row + " |")
    stage_lines = ["| stage | " + " | ".join(f"{w}x{h} median s" for h, w in sizes) + " |",
                   "| --- |" + " ---: |" * len(sizes)]
    for st in stages:
        stage_lines.append(f"| {st} | " + " | ".join(
            f"{np.median([per[s]['timings'].get(st, 0.0) for per in results.values()]):.2f}"
            for s in sizes) + " |")
    notes = "Median time per stage:\n\n" + "\n".join(stage_lines)
    if len(sizes) >= 2:
        notes += (f"\n\ntime({sizes[1][1]}x{sizes[1][0]}) / time({sizes[0][1]}x{sizes[0][0]}) "
                  f"= {med[sizes[1]] / med[sizes[0]]:.2f} (medians, same run).")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    if load is not None:
        notes += (f"\n\nLoad average at the end of the run: {load[0]:.1f} / {load[1]:.1f} / "
                  f"{load[2]:.1f} (1 / 5 / 15 min) on {os.cpu_count()} cores; other jobs "
                  "inflate wall times.")
    notes += ("\n\nEach run is a fresh process (peak MiB = its resident high-water mark). "
              "Photos above their own resolution are upsampled (bench/photos.py): the "
              "large sizes measure the cost of the pixel count.\n\n"
              "![time against pixels](../docs/speed_vs_pixels.png)")
    publish("speed", f"Speed of the default pipeline ({today()}, {machine()})", lines,
            args.update_readme, notes)
    if args.update_readme:
        plot(results, sizes, REPO / "docs" / "speed_vs_pixels.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
