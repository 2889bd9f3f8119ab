"""Benchmark of the reference computation, sss.segment(method="reference"), on docia.

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
                                     [--update-readme]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image

import sss
from sss import _core
from sss.constrained import auto_sample_stride

import _common  # noqa: F401  (puts tests/ on sys.path)
from layer_match import match_layers

try:
    from _common import machine, today, write_section
except ImportError:  # run from elsewhere
    import sys as _sys
    _sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import machine, today, write_section

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


def eigensolver_row(L, shape, t_block, vals_block):
    """Default (block Krylov-Schur) against Spectra's Lanczos on the same L,
    both with the grid ordering (as segment calls them)."""
    t_lan, (lv, _) = best(lambda: sss.smallest_eigenvectors(L, 100, method="lanczos",
                                                            shape=shape))
    return (f"| eigenvectors, k = 100, N = {L.shape[0]} | block Krylov-Schur (default) "
            f"{t_block:.1f} s | Spectra Lanczos (`method=\"lanczos\"`) {t_lan:.1f} s | "
            f"{t_lan / t_block:.2f}x (eigenvalues agree to {np.abs(lv - vals_block).max():.1e}) |")


def eigensolver_parts(img, feat):
    """Where the default eigensolver spends its time, and Lanczos on the same L."""
    L = sss.affinity_laplacian(img, feat)
    t0 = time.perf_counter()
    vals, _, info = sss.smallest_eigenvectors(L, 100, shape=img.shape[:2],
                                              return_info=True)
    t = time.perf_counter() - t0
    parts = ", ".join(f"{k[8:]} {v:.1f} s" for k, v in info.items() if k.startswith("seconds_"))
    line = (f"Default eigensolver at {img.shape[1]}x{img.shape[0]} in a separate call: "
            f"{t:.1f} s ({parts}); {info['operations']} vectors shift-solved in blocks of "
            f"{_core.eigen_default_block_size(100)}, {info['restarts']} restarts, largest "
            f"residual {info['residual']:.1e}.")
    return line, eigensolver_row(L, img.shape[:2], t, vals)


def baselines(img, feat):
    """Returns markdown table rows."""
    import scipy.sparse.linalg as sla
    rows = []
    L = sss.affinity_laplacian(img, feat)
    print("\nbaselines at", img.shape[:2])
    shape = img.shape[:2]
    t_ours, (vals, _) = best(lambda: sss.smallest_eigenvectors(L, 100, shape=shape))
    t_ref, (rv, _) = best(lambda: sla.eigsh(L, 100, sigma=-1e-3, which="LM"))
    rows.append(f"| eigenvectors, k = 100 | {t_ours:.1f} s | scipy `eigsh(sigma=-1e-3)` "
                f"(ARPACK + SuperLU) {t_ref:.1f} s | {t_ref / t_ours:.2f}x (eigenvalues agree "
                f"to {np.abs(np.sort(rv) - vals).max():.1e}) |")
    rows.append(eigensolver_row(L, shape, t_ours, vals))
    rng = np.random.default_rng(0)
    E = rng.standard_normal((L.shape[0], 100))
    w = rng.random(L.shape[0]) * 1e3
    Er = np.ascontiguousarray(E)
    t_eig, G2 = best(lambda: _core.weighted_gram(Er, w, "eigen"), 3)
    names = {"blas": "BLAS dsyrk", "avx2": "AVX2/FMA kernel"}
    for kernel in [k for k in _core.gram_kernels() if k != "eigen"]:
        t_k, G1 = best(lambda: _core.weighted_gram(Er, w, kernel), 3)
        rows.append(f"| one weighted Gram, N x 100, 1 thread | {names[kernel]} {t_k:.3f} s | "
                    f"Eigen rank update (SSE2 build) {t_eig:.3f} s | {t_eig / t_k:.2f}x (rel. "
                    f"diff {np.abs(G1 - G2).max() / np.abs(G2).max():.1e}) |")
    lay = rng.random(img.shape[:2] + (5,))
    lay /= lay.sum(axis=2, keepdims=True)
    t_bj, a = best(lambda: sss.relaxed_sparsify(lay, L, img))
    t_none, b = best(lambda: sss.relaxed_sparsify(lay, L, img, preconditioner="none"))
    rows.append(f"| relaxed sparsification | block-Jacobi PCG {t_bj:.1f} s | plain CG, MATLAB "
                f"pcg semantics (the reference's solver) {t_none:.1f} s | "
                f"{t_none / t_bj:.2f}x (max diff {np.abs(a - b).max():.1e}) |")
    return rows


ANALYSIS = """\
The target of the solver issue, 640x480 in <= 60 s, is **met**: 42.9 s by
default in this table's run and 52.6 s in an identical run ten minutes
earlier (stage by stage there: eigenvectors 28.1 s, constrained
sparsification 20.3 s, relaxed 3.6 s); two later 640x480-only runs
(`--sizes 640x480 --no-baselines --no-exact`) took 55.4 s and 47.9 s, the
second without OMP_WAIT_POLICY=passive. Down from 60-66 s at the previous stop
(119 s and 203 s before that); 101-111 s
with the exact constrained stage. What changed since the last table:
(1) block solves with the supernodal factor split at its first
nested-dissection separator, one half per core, every column at once
(the default; stage 7 table
below: 16 columns 1.3x (640x480) and 1.4x (320x320) faster than splitting
them 8 + 8 over the cores, 2.5x faster than one solve on one core, because
each core streams half the factor instead of all of it);
the eigensolver's solves went from ~15 s to ~10 s at 640x480; (2) the final
Rayleigh quotients and residuals multiply L by 16 columns at a time in
parallel (Eigen's product walked the 100 columns one by one: ~1.7 s ->
~1 s); (3) constrained sparsification: the right-hand sides and E y by BLAS
on row chunks in parallel (Eigen's SSE2 GEMM before: 3.7 s -> 1.4 s), each
thread's weighted Gram matrices in one pass over the eigenvectors (the
chunk packed once, scaled per layer: ~17 s -> ~15.5 s), and the IRLS weights
x^(gamma - 2) by a vectorised exp(e log x) (`sss/vector_pow.hpp`, bitwise the
same on the AVX2 and scalar paths: 1.9 s -> 0.6 s); (4) the relaxed stage's
system product with the layer count fixed at compile time and the same
vectorised weights (5.4 s -> 3.6 s). Where the time goes now at 640x480: the
eigensolver (~25-28 s: ~10 s of shift-solves for 672 vectors, ~8.5 s of
block Gram-Schmidt, compute-bound dgemm at 8 N m flops per vector for a
basis of m <= 300, ~3.5 s of restarts and Rayleigh-Ritz, ~3 s factorisation)
and the ~1100 weighted Gram matrices E^T diag(w_k) E of constrained
sparsification (~15.5 s on 76,800 sampled pixels, ~27 GFLOP/s per thread,
about 75% of this machine's dgemm peak). The machine is shared and noisy:
identical runs differ by up to 20%. The authors report ~210 s for 640x480 in
MATLAB.
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="+", default=["320x320", "640x480"])
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--no-exact", action="store_true",
                    help="skip the run with constrained_sample_stride=1 at the largest size")
    ap.add_argument("--update-readme", action="store_true")
    args = ap.parse_args()
    results = []
    runs = [(size, "auto") for size in args.sizes]
    big = args.sizes[-1]
    bw, bh = (int(v) for v in big.split("x"))
    if not args.no_exact and auto_sample_stride((bh, bw)) > 1:
        runs.append((big, 1))
    for size, stride in runs:
        w, h = (int(v) for v in size.split("x"))
        img, feat = load(w, h)
        t0 = time.perf_counter()
        res = sss.segment(img, feat, progress=True, method="reference",
                          constrained=dict(sample_stride=0 if stride == "auto" else stride))
        s_used = auto_sample_stride((h, w)) if stride == "auto" else stride
        label = f"{size}" + (" exact (s = 1)" if stride == 1 else
                             (f" default (s = {s_used})" if s_used > 1 else ""))
        results.append((label, time.perf_counter() - t0, res))
    names = list(results[0][2].timings)
    head = "| stage | " + " | ".join(f"{s} s | peak MiB" for s, _, _ in results) + " |"
    lines = [f"`sss.segment` on docia ({today()}, {machine()}, threads={_core.max_threads()}, "
             f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'default')}): image = left "
             "half of `../shared/data/docia_image_and_features.png`, features = right half "
             "(3-D, used as they are), both resized with PIL bicubic to W x H; all defaults "
             "(the reference's, except that constrained sparsification samples its energy "
             "on every 2nd pixel each way from 512 x 512 up: `constrained_sample_stride`). Peak MiB is the process's resident high-water mark after the stage. "
             "Surviving initial layers: "
             + ", ".join(f"{r.initial_alphas.shape[2]} ({s})" for s, _, r in results) + ".",
             "", head, "| --- |" + " ---: | ---: |" * len(results)]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(
            f"{r.timings[name]:.1f} | {r.peak_memory.get(name, float('nan')):.0f}"
            for _, _, r in results) + " |")
    lines.append("| **total** | " + " | ".join(
        f"**{t:.1f}** | **{max(r.peak_memory.values()):.0f}**" for _, t, r in results) + " |")
    if len(runs) > len(args.sizes):  # the exact run at the largest size
        a, b = results[len(args.sizes) - 1][2], results[-1][2]
        m = match_layers(a.alphas, b.alphas)
        ratio = b.timings["constrained sparsification"] / a.timings["constrained sparsification"]
        lines += ["", f"At {big}, the default sampled energy (s = {auto_sample_stride((bh, bw))}) "
                  f"against the exact run (s = 1): constrained sparsification "
                  f"{ratio:.1f}x faster; final layers: {100 * m['strongest_agreement']:.2f}% of "
                  f"pixels have the same strongest layer (after optimal matching), mean abs "
                  f"alpha difference {m['mean_abs_diff']:.1e}."]
    if not args.no_baselines:
        w, h = (int(v) for v in args.sizes[0].split("x"))
        lines += ["", f"Baselines in the same run at {args.sizes[0]}, on the same Laplacian:",
                  "", "| stage | sss | baseline | ratio |", "| --- | ---: | ---: | ---: |"]
        lines += baselines(*load(w, h))
        if args.sizes[-1] != args.sizes[0]:
            line, row = eigensolver_parts(*load(bw, bh))
            lines += [row, "", line]
    lines += ["", ANALYSIS]
    md = "## Whole pipeline (stages 1-10): `bench_pipeline.py`\n\n" + "\n".join(lines)
    print(md)
    if args.update_readme:
        write_section("pipeline", md)


if __name__ == "__main__":
    main()
