#!/usr/bin/env python3
"""Render our 3-D features for docia beside the authors' (development aid).

    PYTHONPATH=python python tools/render_docia_features.py [--model M] [--guide G] [-o out/docia_features.png]

Reads ../shared/data/docia_image_and_features.png, halves photo and features to
320x320 (2x2 means), runs sss.compute_features + sss.preprocess_features, and
writes one PNG: photo | our features as RGB | the authors' features | k-means
(k = 4) on ours | k-means on theirs. Prints the adjusted Rand index of the two
labelings (the measure of tests/test_features.py).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import sss  # noqa: E402
from test_features import adjusted_rand_index, kmeans_labels  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=str(REPO.parent / "shared"))
    ap.add_argument("--model", default=None)
    ap.add_argument("--guide", default="reference", choices=["reference", "color"])
    ap.add_argument("-o", "--out", default=str(REPO / "out" / "docia_features.png"))
    a = ap.parse_args(argv)
    src = Path(a.shared) / "data" / "docia_image_and_features.png"
    arr = np.asarray(Image.open(src).convert("RGB")).astype(np.float64) / 255.0
    half = lambda x: x.reshape(320, 2, 320, 2, 3).mean(axis=(1, 3))  # noqa: E731
    img, theirs = half(arr[:, :640]), half(arr[:, 640:])
    ours = sss.preprocess_features(sss.compute_features(img, model=a.model), img, guide=a.guide)
    lo, lt = kmeans_labels(ours), kmeans_labels(theirs)
    print(f"ARI (k-means k=4, ours vs the authors'): {adjusted_rand_index(lo, lt):.3f}")
    pal = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200]], np.uint8)
    u8 = lambda x: (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)  # noqa: E731
    row = [u8(img), u8(ours), u8(theirs), pal[lo.reshape(320, 320)], pal[lt.reshape(320, 320)]]
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(row, axis=1)).save(a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
