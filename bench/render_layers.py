"""Render sets of soft layers of one photo side by side, colours matched.

Used by the quality benchmark (``bench_quality.py``) to look at the
multilevel result beside the reference's: every set after the first gets
its colours from the first by an optimal one-to-one matching of layers, so
the same region has the same colour in every panel.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

COLOURS = np.array([[0.90, 0.30, 0.25], [0.25, 0.65, 0.30], [0.25, 0.40, 0.90],
                    [0.95, 0.80, 0.20], [0.70, 0.35, 0.80], [0.30, 0.80, 0.85],
                    [0.95, 0.55, 0.15], [0.55, 0.55, 0.55], [0.60, 0.85, 0.35],
                    [0.85, 0.45, 0.65], [0.40, 0.25, 0.15], [0.10, 0.10, 0.40]])


def _matched_order(ours, ref):
    """For each of our layers, the reference layer it is matched to (or a spare colour)."""
    from scipy.optimize import linear_sum_assignment
    A = ours.reshape(-1, ours.shape[2]).astype(np.float64)
    B = ref.reshape(-1, ref.shape[2]).astype(np.float64)
    cost = np.abs(A[:, :, None] - B[:, None, :]).mean(axis=0)
    rows, cols = linear_sum_assignment(cost)
    colour = np.full(A.shape[1], -1)
    colour[rows] = cols
    spare = iter(range(B.shape[1], len(COLOURS)))
    for i in range(A.shape[1]):
        if colour[i] < 0:
            colour[i] = next(spare)
    return colour


def color_coded(layers, colour_index=None):
    k = layers.shape[2]
    idx = np.arange(k) if colour_index is None else colour_index
    return np.clip(np.einsum("hwk,kc->hwc", layers.astype(np.float64), COLOURS[idx]), 0, 1)


def side_by_side(photo, layer_sets, titles, path):
    """Write photo | set 0 | set 1 | ... as one PNG with a title over each panel."""
    panels = [np.asarray(photo, dtype=np.float64) / (255.0 if photo.dtype == np.uint8 else 1.0)]
    first = layer_sets[0]
    for i, s in enumerate(layer_sets):
        panels.append(color_coded(s, None if i == 0 else _matched_order(s, first)))
    h, w = panels[0].shape[:2]
    gap, top = 6, 18
    canvas = Image.new("RGB", (len(panels) * (w + gap) - gap, h + top), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (p, t) in enumerate(zip(panels, ["photo"] + list(titles))):
        im = Image.fromarray((np.clip(p, 0, 1) * 255 + 0.5).astype(np.uint8))
        canvas.paste(im, (i * (w + gap), top))
        draw.text((i * (w + gap) + 4, 3), t, fill="black")
    canvas.save(path)
