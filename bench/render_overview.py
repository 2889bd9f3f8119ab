"""Render our docia 320x320 layers beside the reference's final softSegments.

    PYTHONPATH=python python bench/render_overview.py [out.png]

Runs sss.segment on the oracle's inputs (image, features, superpixel labels),
matches our layers to the reference's one-to-one, and writes a PNG with the
colour overviews (each layer tinted with one colour, summed) and every layer
pair as grey images. Prints the agreement numbers.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

import sss

import _common  # noqa: F401  (puts tests/ on sys.path)
from layer_match import match_layers

REF = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "docia_320"
COLOURS = np.array([[0.90, 0.30, 0.25], [0.25, 0.65, 0.30], [0.25, 0.40, 0.90],
                    [0.95, 0.80, 0.20], [0.70, 0.35, 0.80], [0.30, 0.80, 0.85]])


def overview(layers):
    k = layers.shape[2]
    return np.clip(np.einsum("hwk,kc->hwc", layers, COLOURS[:k]), 0, 1)


def main(out="bench/out/docia_overview.png"):
    inp = np.load(REF / "inputs.npz")
    st = np.load(REF / "stages.npz")
    res = sss.segment(inp["image"], inp["features"], superpixels=inp["superpixel_labels"] - 1,
                      method="reference")
    ref = st["softSegments"]
    m = match_layers(res.alphas, ref)
    ours = res.alphas[:, :, m["order"]]
    print(f"strongest-layer agreement {m['strongest_agreement']:.4f}, mean abs alpha diff "
          f"{m['mean_abs_diff']:.4f}, per-pixel sum mean dev "
          f"{abs(res.alphas.sum(axis=2).mean() - 1):.2e}, initial layers "
          f"{res.initial_alphas.shape[2]}, timings {res.timings}")
    h, w = ref.shape[:2]
    gap = 6
    rows = [np.concatenate([inp["image"].clip(0, 1), np.ones((h, gap, 3)), overview(ours),
                            np.ones((h, gap, 3)), overview(ref)], axis=1)]
    lay = [np.concatenate([np.repeat(ours[:, :, j:j + 1].clip(0, 1), 3, 2),
                           np.ones((h, gap, 3)),
                           np.repeat(ref[:, :, j:j + 1].clip(0, 1), 3, 2)], axis=1)
           for j in range(ref.shape[2])]
    width = rows[0].shape[1]
    for im in lay:
        pad = np.ones((h, width - im.shape[1], 3))
        rows.append(np.concatenate([im, pad], axis=1))
    canvas = np.concatenate([np.concatenate([r, np.ones((gap, width, 3))]) for r in rows])
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((canvas * 255).round().astype(np.uint8)).save(out)
    print("wrote", out)


if __name__ == "__main__":
    main(*sys.argv[1:])
