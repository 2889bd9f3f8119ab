"""Stage 7 benchmark: the shift-solve factorisation of the eigensolver.

    python bench/bench_eigensolver.py [--sizes 320x320 640x480] [--repeat 5]
                                      [--end-to-end] [--update-readme]

Laplacian: ``sss.affinity_laplacian`` of docia (left half of
../shared/data/docia_image_and_features.png as the image, right half as the
features, resized with PIL bicubic to W x H), as in bench_pipeline.py.

1. Ordering: CHOLMOD's supernodal Cholesky of L - sigma I (sigma = -1e-4
   mean |diag L|, the automatic shift's first try) with CHOLMOD's default
   ordering (the baseline: METIS and AMD tried, the better kept) against the
   geometric nested dissection of ``sss.eigensolver.grid_nested_dissection``
   (``image_shape=``): analysis (ordering + symbolic) and factorisation time,
   factor nonzeros, flops, and the solve time for 1 and 8 right-hand sides.
2. Threads: multi-column solves (``perform_op_block``) of 8, 16 (the block
   method's default block size for k = 100) and 20 columns, the split-tree
   solve (the elimination tree's two halves) on one core (baseline) and on
   two.
3. With ``--end-to-end``: ``sss.smallest_eigenvectors(L, 100)`` with and
   without ``image_shape`` (slow: tens of seconds per run at 640x480).

Times are the best of ``--repeat`` runs, the two variants interleaved (the
machine is shared); ratio = baseline time / time (higher is faster).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

import sss
from sss import _core

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, today, write_section  # noqa: E402

DOCIA = Path(__file__).resolve().parents[2] / "shared" / "data" / "docia_image_and_features.png"


def docia_laplacian(width, height):
    both = Image.open(os.environ.get("SSS_DOCIA", DOCIA)).convert("RGB")
    w = both.width // 2
    img = both.crop((0, 0, w, both.height)).resize((width, height), Image.BICUBIC)
    feat = both.crop((w, 0, 2 * w, both.height)).resize((width, height), Image.BICUBIC)
    img = np.asarray(img, dtype=np.float64) / 255.0
    feat = np.asarray(feat, dtype=np.float64) / 255.0
    return sss.affinity_laplacian(img, feat)


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def make_op(L, shape):
    return _core.ShiftSolveOp(L.data, L.indices, L.indptr, L.shape[0], *shape)


def bench_size(L, h, w, repeat, end_to_end):
    n = L.shape[0]
    sigma = -1e-4 * np.abs(L.diagonal()).mean()
    X = np.asfortranarray(np.random.default_rng(0).standard_normal((n, 20)))
    ops, rows = {}, []
    for name, shape in (("CHOLMOD default (baseline)", (0, 0)), ("grid nested dissection", (h, w))):
        op = make_op(L, shape)
        fact = []
        for _ in range(2):
            assert op.try_set_shift(sigma)
            fact.append(op.stats["factor_seconds"])
        s = op.stats
        ops[name] = op
        rows.append(dict(name=f"{name} [{s['ordering']}]", analyze=s["analyze_seconds"],
                         factor=min(fact), lnz=s["lnz"], flops=s["flops"]))
    # solves, interleaved
    best = {(k, c): np.inf for k in ops for c in (1, 8)}
    for _ in range(repeat):
        for k, op in ops.items():
            op.set_solve_threads(1)
            for c in (1, 8):
                best[k, c] = min(best[k, c], timed(lambda: op.solve(X[:, :c]))[0])
    for r, k in zip(rows, ops):
        r["solve1"], r["solve8"] = best[k, 1], best[k, 8]
    base = rows[0]
    lines = [f"### {w}x{h} (N = {n}, nnz(L) = {L.nnz:,}, backend {s['backend']})", "",
             "| ordering | analysis s | factorisation s | lnz (M) | flops (G) | solve 1 RHS s "
             "| solve 8 RHS s | analysis + factorisation speed-up |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['analyze']:.2f} | {r['factor']:.2f} | "
                     f"{r['lnz'] / 1e6:.1f} | {r['flops'] / 1e9:.1f} | {r['solve1']:.3f} | "
                     f"{r['solve8']:.3f} | "
                     f"{(base['analyze'] + base['factor']) / (r['analyze'] + r['factor']):.2f}x |")
    # threads on the grid-ordered factor
    op = ops["grid nested dissection"]
    del ops["CHOLMOD default (baseline)"]
    variants = (1, 2)  # threads of the split-tree solve
    tbest = {(v, c): np.inf for v in variants for c in (8, 16, 20)}
    diff = {}
    for _ in range(repeat):
        for c in (8, 16, 20):
            for v in variants:
                op.set_solve_threads(v)
                dt, Y = timed(lambda: op.solve(X[:, :c]))
                tbest[v, c] = min(tbest[v, c], dt)
                if v == variants[0]:
                    ref = Y
                else:
                    diff[v, c] = np.abs(Y - ref).max() / np.abs(ref).max()
    lines += ["", "Block solves on the grid-ordered factor: the elimination tree cut below "
              "its first separator into two halves, one per thread, every column at once "
              "(each thread streams half the factor). Baseline: the same solve on one thread.",
              "",
              "| block solve | 1 thread s | 2 threads s | speed-up | max rel. difference |",
              "| --- | ---: | ---: | ---: | ---: |"]
    for c in (8, 16, 20):
        t1, t2 = (tbest[v, c] for v in variants)
        lines.append(f"| {c} columns | {t1:.3f} | {t2:.3f} | {t1 / t2:.2f}x | {diff[2, c]:.1e} |")
    del op, ops
    if end_to_end:
        lines += ["", "| smallest_eigenvectors(L, 100) | time s | operations | speed-up |",
                  "| --- | ---: | ---: | ---: |"]
        res = {}
        for name, shape in (("default ordering (baseline)", None), ("image_shape", (h, w))):
            dt, (vals, _, info) = timed(lambda: sss.smallest_eigenvectors(
                L, 100, shape=shape, return_info=True))
            res[name] = (dt, vals, info)
        t0 = res["default ordering (baseline)"][0]
        for name, (dt, vals, info) in res.items():
            lines.append(f"| {name} | {dt:.1f} | {info['operations']} | {t0 / dt:.2f}x |")
        v0, v1 = (r[1] for r in res.values())
        lines.append("")
        lines.append(f"Max eigenvalue difference between the two: {np.abs(v0 - v1).max():.1e}.")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", nargs="+", default=["320x320", "640x480"])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--end-to-end", action="store_true")
    ap.add_argument("--update-readme", action="store_true")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    parts = [f"Shift-solve factorisation of the docia Laplacian ({today()}, {machine()}, "
             f"load average {load:.1f} at the start). Best of {args.repeat}, variants "
             "interleaved; speed-up = baseline time / time."]
    for size in args.sizes:
        w, h = (int(v) for v in size.split("x"))
        L = docia_laplacian(w, h)
        parts.append(bench_size(L, h, w, args.repeat, args.end_to_end))
        print(parts[-1], flush=True)
    text = "\n\n".join(parts)
    if args.update_readme:
        write_section("eigensolver", "## Stage 7: shift-solve factorisation\n\n" + text)


if __name__ == "__main__":
    main()
