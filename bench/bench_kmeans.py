"""Benchmark of the splitting k-means (the initialisation of constrained
sparsification, ``sss.kmeans.splitting_kmeans``) on docia's features.

Features: right half of ../shared/data/docia_image_and_features.png resized
(PIL bicubic) to W x H as in bench_pipeline.py; k = 40 and the reference's
other parameters. The baseline, timed in the same run, is the previous pure
numpy implementation (``sss.kmeans._lloyd_numpy``: n x k distance matrices by
the |x|^2 - 2 x.c + |c|^2 expansion, argmin) driven by the same splitting code
and the same random draws. Also reports how many labels differ between the
two (only near-ties rounded differently can make them differ).

Usage: python bench/bench_kmeans.py [--sizes 640x480 320x320] [--repeat 3]
                                    [--baseline-repeat 1] [--update-readme]
"""

from __future__ import annotations

import argparse
import functools
import os
import time

import numpy as np

from sss import _core
from sss import kmeans as km

from _common import machine, today, write_section
from bench_pipeline import load


def best_of(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def run(X, backend, k=40, seed=0):
    return km._splitting_kmeans(X, k, 5, 7, 13, 100, np.random.default_rng(seed), backend)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="+", default=["640x480"], help="W x H, e.g. 640x480")
    ap.add_argument("--repeat", type=int, default=3, help="runs of sss (best is reported)")
    ap.add_argument("--baseline-repeat", type=int, default=1, help="runs of the numpy baseline")
    ap.add_argument("--update-readme", action="store_true")
    args = ap.parse_args()

    serial = km._Backend(functools.partial(km._lloyd, num_threads=1), km._nearest_sqdist)
    rows = []
    for size in args.sizes:
        w, h = (int(v) for v in size.lower().split("x"))
        _, feat = load(w, h)
        X = np.ascontiguousarray(feat.reshape(-1, feat.shape[2]), dtype=np.float64)
        run(X[:2000], km._CORE)  # warm-up
        t_core, lab = best_of(lambda: run(X, km._CORE), args.repeat)
        t_one, lab1 = best_of(lambda: run(X, serial), args.repeat)
        t_np, lab_np = best_of(lambda: run(X, km._NUMPY), args.baseline_repeat)
        assert np.array_equal(lab, lab1), "thread count changed the result"
        differ = int((lab != lab_np).sum())
        print(f"{size}: sss {t_core:.3f} s, 1 thread {t_one:.3f} s, numpy {t_np:.3f} s, "
              f"{t_np / t_core:.1f}x; labels differing: {differ} of {lab.size}")
        rows.append((size, X.shape[0], t_core, t_one, t_np, differ))

    threads = _core.max_threads()
    lines = [
        f"`splitting_kmeans(X, 40)` (the reference's parameters) on docia's 3-D features "
        f"({today()}, {machine()}, threads={threads}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'default')}): features = right half "
        "of `../shared/data/docia_image_and_features.png`, PIL bicubic to W x H. Baseline: the "
        "previous pure numpy Lloyd (`sss.kmeans._lloyd_numpy`: n x k distance matrices by the "
        "|x|^2 - 2 x.c + |c|^2 expansion, argmin), same splitting code and random draws, same "
        f"run. Best of {args.repeat} (sss) and {args.baseline_repeat} (numpy).", "",
        "| W x H | points | sss (s) | sss, 1 thread (s) | numpy baseline (s) | speed-up | "
        "labels differing |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for size, n, t_core, t_one, t_np, differ in rows:
        lines.append(f"| {size} | {n} | {t_core:.3f} | {t_one:.3f} | {t_np:.2f} | "
                     f"{t_np / t_core:.1f}x | {differ} |")
    table = "\n".join(lines)
    print(table)
    if args.update_readme:
        write_section("kmeans", "## Stage 8: splitting k-means (`bench_kmeans.py`)\n\n" + table)


if __name__ == "__main__":
    main()
