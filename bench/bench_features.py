"""Stage 1 benchmark: embedded feature network + feature preprocessing at 640x480.

    python bench/bench_features.py [--update-readme] [--repeat N]

Times ``sss.compute_features`` (onnxruntime) and ``sss.preprocess_features``
(C++: clip, guided filter, PCA) on a real photo, with all cores and with one
thread. The goal is features + preprocessing <= 1 s at 640x480. The baseline
for the preprocessing is the same computation written with numpy/scipy
(``scipy.ndimage.uniform_filter`` box means, every channel filtered), measured
in the same run.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy import ndimage

import sss
from _common import best_time, machine, photo, today, write_section


def numpy_preprocess(F: np.ndarray, I: np.ndarray, n: int = 10, eps: float = 0.01) -> np.ndarray:
    """Baseline: clip, colour guided filter of every channel (box means over offsets
    -(n-1)//2..n//2, mirror padding), PCA to 3, min/max scaling."""
    F = np.clip(F.astype(np.float64), -5, 5)
    origin = [-(1 - n % 2) if n % 2 == 0 else 0] * 2 + [0]  # window -4..+5 for n = 10

    def box(x):
        size = (n, n) + (1,) * (x.ndim - 2)
        return ndimage.uniform_filter(x, size=size, mode="reflect", origin=origin[:x.ndim])

    mI = box(I)
    cov = np.empty(I.shape[:2] + (3, 3))
    for i in range(3):
        for j in range(i, 3):
            cov[..., i, j] = cov[..., j, i] = box(I[..., i] * I[..., j]) - mI[..., i] * mI[..., j]
    inv = np.linalg.inv(cov + eps * np.eye(3))
    mP = box(F)
    cIP = np.stack([box(I[..., i:i + 1] * F) - mI[..., i:i + 1] * mP for i in range(3)], -1)
    a = np.einsum("hwdj,hwij->hwdi", cIP, inv)
    b = mP - np.einsum("hwdi,hwi->hwd", a, mI)
    ma = box(a.reshape(*a.shape[:2], -1)).reshape(a.shape)
    q = np.einsum("hwdi,hwi->hwd", ma, I) + box(b)
    X = q.reshape(-1, q.shape[2])
    X = X - X.mean(0)
    _, V = np.linalg.eigh(X.T @ X / len(X))
    Y = X @ V[:, ::-1][:, :3]
    return ((Y - Y.min(0)) / (Y.max(0) - Y.min(0))).reshape(q.shape[:2] + (3,))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--update-readme", action="store_true")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    r = args.repeat

    img = photo(480, 640).astype(np.float64) / 255.0
    F = sss.compute_features(img)
    base = best_time(lambda: numpy_preprocess(F, img), repeat=max(1, r // 2), warmup=0)
    rows = []
    for nt, label in [(None, "all cores"), (1, "1 thread")]:
        tf = best_time(lambda: sss.compute_features(img, num_threads=nt), repeat=r)
        tp = best_time(lambda: sss.preprocess_features(F, img, num_threads=nt), repeat=r)
        tt = best_time(lambda: sss.preprocess_features(sss.compute_features(img, num_threads=nt),
                                                       img, num_threads=nt), repeat=r)
        rows.append((label, tf, tp, tt))
    tfull = best_time(lambda: sss.preprocess_features(F, img, prefilter_components=None), repeat=r)
    ref = numpy_preprocess(F, img)
    full = sss.preprocess_features(F, img, prefilter_components=None)
    agree = max(min(np.abs(ref[..., j] - full[..., j]).max(), np.abs(ref[..., j] - 1 + full[..., j]).max())
                for j in range(3))  # PCA signs are a convention

    lines = [f"Features at 640x480 on `examples/data/coffee.jpg` ({today()}, {machine()}). "
             f"Default model `{sss.features.DEFAULT_MODEL}`, D = {F.shape[2]}; preprocessing filters "
             f"the top 16 principal components. Best of {r}; goal: features + preprocessing <= 1 s.",
             "", "| threads | compute_features (s) | preprocess_features (s) | both, end to end (s) "
             "| preprocessing speed-up vs numpy/scipy |", "| --- | ---: | ---: | ---: | ---: |"]
    for label, tf, tp, tt in rows:
        lines.append(f"| {label} | {tf:.3f} | {tp:.3f} | {tt:.3f} | {base / tp:.1f}x |")
    lines += ["", f"Baseline numpy/scipy preprocessing (all {F.shape[2]} channels filtered): "
              f"{base:.3f} s. sss filtering all {F.shape[2]} channels (prefilter_components=None), "
              f"all cores: {tfull:.3f} s; it agrees with the baseline to {agree:.1e} (max abs)."]
    table = "\n".join(lines)
    print(table)
    if args.update_readme:
        write_section("features", "## Stage 1: feature network and preprocessing\n\n" + table)


if __name__ == "__main__":
    main()
