"""Benchmark of the whole pipeline, sss.segment, on docia.

Image: left half of ../shared/data/docia_image_and_features.png, features: the
right half (3-D, ready), both resized together (PIL bicubic) to 320x320 and
640x480 (W x H). Prints the time and the process's peak memory after each
stage, and, at the smallest size, ratios against baselines run in the same
process on the same Laplacian:

- eigenvectors: scipy.sparse.linalg.eigsh in shift-invert mode (ARPACK +
  SuperLU), the setting the oracle README used as its independent check;
- constrained sparsification: its cost is K weighted Gram matrices
  E^T diag(w) E per iteration; the AVX2/FMA kernel against Eigen's portable
  rank update on one 100-column Gram;
- relaxed sparsification: block-Jacobi PCG against plain CG with MATLAB pcg
  semantics (the reference's solver).

Usage: python bench/bench_pipeline.py [--sizes 320x320 640x480] [--no-baselines]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image

import sss
from sss import _core

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / \
    "docia_image_and_features.png"


def load(width, height):
    both = Image.open(DATA).convert("RGB")
    w = both.width // 2
    img = both.crop((0, 0, w, both.height)).resize((width, height), Image.BICUBIC)
    feat = both.crop((w, 0, 2 * w, both.height)).resize((width, height), Image.BICUBIC)
    return np.asarray(img) / 255.0, np.asarray(feat) / 255.0


def best(fn, repeat=1):
    t = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        t.append(time.perf_counter() - t0)
    return min(t), out


def baselines(img, feat):
    import scipy.sparse.linalg as sla
    L = sss.affinity_laplacian(img, feat)
    print("\nbaselines at", img.shape[:2])
    t_ours, (vals, _) = best(lambda: sss.smallest_eigenvectors(L, 100))
    t_ref, (rv, _) = best(lambda: sla.eigsh(L, 100, sigma=-1e-3, which="LM"))
    print(f"  eigenvectors: sss {t_ours:.1f} s, scipy eigsh shift-invert {t_ref:.1f} s, "
          f"ratio {t_ref / t_ours:.2f}x (max eigenvalue difference "
          f"{np.abs(np.sort(rv) - vals).max():.1e})")
    rng = np.random.default_rng(0)
    E = rng.standard_normal((L.shape[0], 100))
    w = rng.random(L.shape[0]) * 1e3
    t_simd, G1 = best(lambda: _core.weighted_gram(E, w, True), 3)
    t_eig, G2 = best(lambda: _core.weighted_gram(E, w, False), 3)
    print(f"  weighted Gram (one layer, N x 100): AVX2 kernel {t_simd:.3f} s, Eigen "
          f"{t_eig:.3f} s, ratio {t_eig / t_simd:.2f}x (rel. diff "
          f"{np.abs(G1 - G2).max() / np.abs(G2).max():.1e})")
    lay = rng.random(img.shape[:2] + (5,))
    lay /= lay.sum(axis=2, keepdims=True)
    t_bj, a = best(lambda: sss.relaxed_sparsify(lay, L, img))
    t_none, b = best(lambda: sss.relaxed_sparsify(lay, L, img, preconditioner="none"))
    print(f"  relaxed sparsification: block-Jacobi PCG {t_bj:.1f} s, plain CG (reference) "
          f"{t_none:.1f} s, ratio {t_none / t_bj:.2f}x (max diff {np.abs(a - b).max():.1e})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="+", default=["320x320", "640x480"])
    ap.add_argument("--no-baselines", action="store_true")
    args = ap.parse_args()
    print(f"threads: {_core.max_threads()}")
    for size in args.sizes:
        w, h = (int(v) for v in size.split("x"))
        img, feat = load(w, h)
        t0 = time.perf_counter()
        res = sss.segment(img, feat, progress=True)
        total = time.perf_counter() - t0
        print(f"\n{w}x{h} (N = {w * h}): {res.initial_alphas.shape[2]} initial layers")
        print("| stage | s | peak RSS MiB |")
        print("| --- | ---: | ---: |")
        for name, t in res.timings.items():
            print(f"| {name} | {t:.1f} | {res.peak_memory.get(name, float('nan')):.0f} |")
        print(f"| **total** | **{total:.1f}** | **{max(res.peak_memory.values()):.0f}** |")
    if not args.no_baselines:
        w, h = (int(v) for v in args.sizes[0].split("x"))
        baselines(*load(w, h))


if __name__ == "__main__":
    main()
