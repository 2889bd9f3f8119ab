"""Stage 3 benchmark: sss.matting_affinity at 640x480 against pymatting.

    python bench/bench_matting.py [--update-readme]

pymatting's cf_laplacian (numba) builds the same Levin et al. matting
Laplacian; it is timed on its second call, after JIT compilation. sss is
timed for the affinity alone and for affinity + Laplacian (the same output
as cf_laplacian), with all cores and with one thread.
"""

from __future__ import annotations

import argparse

import numpy as np

import sss
from _common import best_time, machine, photo, publish, today


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--update-readme", action="store_true")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    import pymatting

    img = photo(480, 640).astype(np.float64) / 255.0
    base = best_time(lambda: pymatting.cf_laplacian(img, epsilon=1e-7, radius=1),
                     repeat=args.repeat, warmup=1)
    rows = [("pymatting.cf_laplacian (baseline, 2nd+ call)", base)]
    rows.append(("sss.matting_affinity", best_time(lambda: sss.matting_affinity(img),
                                                   repeat=args.repeat)))
    rows.append(("sss.matting_affinity + laplacian_from_affinity",
                 best_time(lambda: sss.laplacian_from_affinity(sss.matting_affinity(img)),
                           repeat=args.repeat)))
    rows.append(("sss.matting_affinity, 1 thread",
                 best_time(lambda: sss.matting_affinity(img, num_threads=1),
                           repeat=args.repeat)))
    # the two Laplacians agree (pymatting does not symmetrise, so compare loosely)
    L_ref = pymatting.cf_laplacian(img, epsilon=1e-7, radius=1)
    L = sss.laplacian_from_affinity(sss.matting_affinity(img))
    agree = abs(L - L_ref).max()

    lines = [f"Matting affinity at 640x480 on `examples/data/coffee.jpg` ({today()}, {machine()}, "
             f"pymatting {pymatting.__version__}). Best of {args.repeat}; ratio = baseline time / time "
             f"(higher is faster). Max abs difference of the two Laplacians: {agree:.1e}.", "",
             "| what | time (s) | speed-up vs pymatting |", "| --- | ---: | ---: |"]
    for name, t in rows:
        lines.append(f"| {name} | {t:.3f} | {base / t:.2f}x |")
    publish("matting", "Stage 3: matting affinity", lines, args.update_readme)


if __name__ == "__main__":
    main()
