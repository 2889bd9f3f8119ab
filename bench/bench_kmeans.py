"""Benchmark of the splitting k-means (the initialisation of constrained
sparsification, ``sss.kmeans.splitting_kmeans``) on docia's features.

Features: right half of ../shared/data/docia_image_and_features.png resized
(PIL bicubic) to W x H as in bench_pipeline.py; k = 40 and the reference's
other parameters. The baseline, timed in the same run, is the previous pure
numpy implementation (``tests/kmeans_numpy.py``: n x k distance matrices by
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

from _common import machine, publish, today
from kmeans_numpy import NUMPY_BACKEND
from bench_pipeline import load


NOTES = """\
The core computes each distance directly as sum_j (x_j - c_j)^2, 2 (SSE2) or 4
(AVX, chosen at run time) points per vector with compare-and-select, never
forming the n x k matrix; every lane does the scalar IEEE operations, so all
kernels and thread counts give bitwise the same result. About 3000 passes over
the points (265 Lloyd runs, 244 of them 2-means on parts of the points) make
the time; a pass at 640x480 costs 1-5 ms. On this shared machine a pass run on
2 threads waits, when another process holds the second core, a scheduler time
slice for it (libgomp's default waiting makes it worse): in runs on
2026-11-25, forcing 2 threads ranged from 1.6x faster to 26x slower than one
thread, while the default (one thread per pass at these sizes) took
1.08-1.24 s at 640x480 in every run; the numpy baseline took 9.5-41 s (speed-up
8.4x-33x: it suffers more from the load). Hence the automatic count: one
thread per 2^22 units n (k + 4) of a pass, so larger images get threads.
"""


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

    threads = _core.max_threads()
    forced = km._Backend(functools.partial(km._lloyd, num_threads=threads), km._nearest_sqdist)
    load_before = os.getloadavg()[0]
    rows = []
    for size in args.sizes:
        w, h = (int(v) for v in size.lower().split("x"))
        _, feat = load(w, h)
        X = np.ascontiguousarray(feat.reshape(-1, feat.shape[2]), dtype=np.float64)
        run(X[:2000], km._CORE)  # warm-up
        t_core, lab = best_of(lambda: run(X, km._CORE), args.repeat)
        t_all, lab_all = best_of(lambda: run(X, forced), args.repeat)
        t_np, lab_np = best_of(lambda: run(X, NUMPY_BACKEND), args.baseline_repeat)
        assert np.array_equal(lab, lab_all), "thread count changed the result"
        differ = int((lab != lab_np).sum())
        print(f"{size}: sss {t_core:.3f} s, forced {threads} threads {t_all:.3f} s, numpy "
              f"{t_np:.3f} s, {t_np / t_core:.1f}x; labels differing: {differ} of {lab.size}")
        rows.append((size, X.shape[0], t_core, t_all, t_np, differ))
    loadavg = (load_before + os.getloadavg()[0]) / 2

    lines = [
        f"`splitting_kmeans(X, 40)` (the reference's parameters) on docia's 3-D features "
        f"({today()}, {machine()}, threads={threads}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'default')}): features = right half "
        "of `../shared/data/docia_image_and_features.png`, PIL bicubic to W x H. Baseline: the "
        "previous pure numpy Lloyd (`tests/kmeans_numpy.py`: n x k distance matrices by the "
        "|x|^2 - 2 x.c + |c|^2 expansion, argmin), same splitting code and random draws, same "
        f"run. Best of {args.repeat} (sss) and {args.baseline_repeat} (numpy). The automatic "
        "thread count gives a pass over n points with k centres one thread per 2^22 units "
        "n (k + 4), so none of these passes runs on 2 threads; the forced column runs every "
        f"pass of >= 2 chunks on {threads} threads (same labels). Load average "
        f"during the run: {loadavg:.1f} on {os.cpu_count()} cores.", "",
        f"| W x H | points | sss (s) | sss, forced {threads} threads (s) | numpy baseline (s) | "
        "speed-up | labels differing |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for size, n, t_core, t_all, t_np, differ in rows:
        lines.append(f"| {size} | {n} | {t_core:.3f} | {t_all:.3f} | {t_np:.2f} | "
                     f"{t_np / t_core:.1f}x | {differ} |")
    publish("kmeans", "Stage 8: splitting k-means (`bench_kmeans.py`)", lines, args.update_readme,
            NOTES)


if __name__ == "__main__":
    main()
