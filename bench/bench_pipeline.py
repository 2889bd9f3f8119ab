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
from sss._compare import match_layers
from sss.constrained import auto_sample_stride

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


def eigensolver_row(L, t_block, vals_block):
    """Default (block Krylov-Schur) against Spectra's Lanczos on the same L."""
    t_lan, (lv, _) = best(lambda: sss.smallest_eigenvectors(L, 100, method="lanczos"))
    return (f"| eigenvectors, k = 100, N = {L.shape[0]} | block Krylov-Schur (default) "
            f"{t_block:.1f} s | Spectra Lanczos (`method=\"lanczos\"`) {t_lan:.1f} s | "
            f"{t_lan / t_block:.2f}x (eigenvalues agree to {np.abs(lv - vals_block).max():.1e}) |")


def eigensolver_parts(img, feat):
    """Where the default eigensolver spends its time, and Lanczos on the same L."""
    L = sss.affinity_laplacian(img, feat)
    t0 = time.perf_counter()
    vals, _, info = sss.smallest_eigenvectors(L, 100, return_info=True)
    t = time.perf_counter() - t0
    parts = ", ".join(f"{k[8:]} {v:.1f} s" for k, v in info.items() if k.startswith("seconds_"))
    line = (f"Default eigensolver at {img.shape[1]}x{img.shape[0]} in a separate call: "
            f"{t:.1f} s ({parts}); {info['operations']} vectors shift-solved in blocks of "
            f"{_core.eigen_default_block_size(100)}, {info['restarts']} restarts, largest "
            f"residual {info['residual']:.1e}.")
    return line, eigensolver_row(L, t, vals)


def baselines(img, feat):
    """Returns markdown table rows."""
    import scipy.sparse.linalg as sla
    rows = []
    L = sss.affinity_laplacian(img, feat)
    print("\nbaselines at", img.shape[:2])
    t_ours, (vals, _) = best(lambda: sss.smallest_eigenvectors(L, 100))
    t_ref, (rv, _) = best(lambda: sla.eigsh(L, 100, sigma=-1e-3, which="LM"))
    rows.append(f"| eigenvectors, k = 100 | {t_ours:.1f} s | scipy `eigsh(sigma=-1e-3)` "
                f"(ARPACK + SuperLU) {t_ref:.1f} s | {t_ref / t_ours:.2f}x (eigenvalues agree "
                f"to {np.abs(np.sort(rv) - vals).max():.1e}) |")
    rows.append(eigensolver_row(L, t_ours, vals))
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
The target of the solver issue, 640x480 in <= 60 s, is **not met**: by default
it now takes about 120 s (was 203 s), and about 195 s with the exact constrained
stage. What changed: constrained sparsification evaluates its sparsity energy on
every 2nd pixel in each direction from 512 x 512 up (`sample_stride`, a
quadrature of the same sum; the layers are still E y at every pixel), 3.1x
faster at 640x480 with the final layers agreeing with the exact run as shown
above (on the reference image at 320x320, the same sampling agrees with the
authors' result on 99.97% of pixels, as the exact run does). Its remaining
cost is the K weighted Gram matrices E^T diag(w_k) E per iteration (~1100 over
the 40 iterations, N m^2 / 2 multiply-adds each) at ~22 GFLOP/s per thread; a
BLAS dsyrk kernel (Debian's OpenBLAS 0.3.21) is slower than the built-in
AVX2 one here (table above), which therefore stays the default. The eigensolver is now ~65% of the time: Spectra's
Lanczos needs ~300 shift-solves at ~0.12 s each (CHOLMOD's supernodal solve with
a 60M-nonzero factor, memory-bound), full reorthogonalisation passes over its
201-vector basis (also memory-bound, ~40 s) and one analysis + factorisation
(~11 s). The new block method (`method="block"`) does 10-column solves
(0.033 s per vector) and BLAS-3 orthogonalisation, but needs about twice as
many vectors with thick restarts: slower at 320x320 (table above); at 640x480
in separate runs on the same Laplacian it took 62 s with `block_size=6`, 71 s
with 4, 75 s with 10 (the default for k = 100 is 20) against 77 s for Lanczos,
not a steady enough gain to change the default yet. Next steps: a Lanczos with partial reorthogonalisation,
or a multilevel eigensolver (the paper's own suggestion); with Eigen's
SimplicialLDLT instead of CHOLMOD one factorisation of L took 30 s at 320x320
(CHOLMOD supernodal with OpenBLAS: ~2 s), hence CHOLMOD when found (Debian
`libsuitesparse-dev`, `libopenblas0-pthread`). The authors report ~210 s for
640x480 in MATLAB.
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
        res = sss.segment(img, feat, progress=True, constrained_sample_stride=stride)
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
