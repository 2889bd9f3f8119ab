"""docs/subject_examples.jpg: four bench photos beside their subject cut-outs.

    PYTHONPATH=python python bench/render_subjects.py [--out docs/subject_examples.jpg]

Each photo (bench/photos.py, 320x240) is segmented with the defaults and its
subject (:meth:`sss.SoftSegments.subject`, the layers chosen from the
salient-object map) is drawn over a grey checkerboard beside it; two pairs
per row.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

import sss
from photos import photo

PHOTOS = ("docia", "astronaut", "coffee", "motorcycle")


def _over_checker(rgba: np.ndarray, cell: int = 16) -> np.ndarray:
    h, w = rgba.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    checker = np.where(((yy // cell) + (xx // cell)) % 2 == 0, 0.8, 0.6)[..., None]
    a = rgba[..., 3:]
    return a * rgba[..., :3] + (1 - a) * checker


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "docs"
                                         / "subject_examples.jpg"))
    a = ap.parse_args(argv)
    pairs = []
    for name in PHOTOS:
        img = photo(name, (240, 320)) / 255.0
        seg = sss.segment(img, progress=False)
        cut = seg.subject()
        print(name, "subject layers", sss.subject_layers(seg.alphas, img), flush=True)
        pairs.append(np.concatenate([img, np.clip(_over_checker(cut), 0, 1)], axis=1))
    rows = [np.concatenate(pairs[i:i + 2], axis=1) for i in range(0, len(pairs), 2)]
    out = np.round(np.concatenate(rows, axis=0) * 255).astype(np.uint8)
    Image.fromarray(out).save(a.out, quality=90)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
