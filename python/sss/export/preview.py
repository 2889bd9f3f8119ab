"""Colour-coded views and the overview image."""

from __future__ import annotations

import numpy as np

from ..colors import normalize_alphas
from .compositing import _to_levels

__all__ = ["PALETTE", "color_coded", "overview"]

#: Colours of the layers in the colour-coded views (layer i gets PALETTE[i % 10]).
PALETTE = np.array([
    [0.90, 0.10, 0.10], [0.10, 0.45, 0.90], [0.95, 0.80, 0.10], [0.15, 0.70, 0.25],
    [0.60, 0.25, 0.80], [0.95, 0.50, 0.10], [0.10, 0.80, 0.80], [0.90, 0.40, 0.70],
    [0.55, 0.35, 0.15], [0.50, 0.50, 0.50]])


#: longer side of each of the overview's two top panels, in pixels
_OVERVIEW_SIDE = 640


def color_coded(alphas: np.ndarray) -> np.ndarray:
    """Each layer painted in its PALETTE colour, mixed by the alphas: (H, W, 3)."""
    return _color_coded(normalize_alphas(alphas))


def _color_coded(a: np.ndarray) -> np.ndarray:
    """:func:`color_coded` of alphas `a` that are normalised already."""
    return a @ PALETTE[np.arange(a.shape[2]) % len(PALETTE)]


def _shrink(x: np.ndarray, height: int, width: int) -> np.ndarray:
    """(H, W, C) `x` resized to a thumbnail of `height` x `width`, clipped to
    [0, 1]: first averaged over blocks of f x f pixels while that leaves at
    least twice the thumbnail's size (as Pillow's ``reducing_gap=2``; one
    pass over a large array instead of a converted copy per channel), then
    resized bilinearly (antialiased)."""
    from ..io import resize

    f = min(x.shape[0] // (2 * height), x.shape[1] // (2 * width))
    if f >= 2:
        hh, ww = x.shape[0] // f, x.shape[1] // f
        x = x[:hh * f, :ww * f].reshape(hh, f, ww, f, x.shape[2]).mean(axis=(1, 3))
    return np.clip(resize(x, height, width, method="bilinear"), 0, 1)


def _fit(img: np.ndarray, max_side: int) -> np.ndarray:
    h, w = img.shape[:2]
    s = min(1.0, max_side / max(h, w))
    if s >= 1.0:
        return img
    return _shrink(img, max(1, round(h * s)), max(1, round(w * s)))


def overview(image: np.ndarray, alphas: np.ndarray, colors: np.ndarray | None = None, *,
             max_side: int = _OVERVIEW_SIDE) -> np.ndarray:
    """The photo beside its colour-coded layers, with each layer below.

    Parameters
    ----------
    image : (H, W, 3) ndarray
    alphas : (H, W, K) ndarray
    colors : (H, W, K, 3) ndarray, optional
        Layer colours; the bottom row shows each layer (its colour over a
        checkerboard, by its alpha). Without colours the bottom row shows
        each alpha matte in grey.
    max_side : int, optional
        Longer side of each of the two top panels, in pixels (never enlarged).

    Returns
    -------
    ndarray, uint8, (rows, cols, 3)
    """
    return _overview(image, normalize_alphas(alphas), colors, max_side)


def _overview(image, a, colors, max_side=_OVERVIEW_SIDE):
    """:func:`overview` of alphas `a` that are normalised already."""
    img = np.clip(np.asarray(image, dtype=np.float64), 0, 1)
    top_l = _fit(img, max_side)
    a_top = _fit(a, max_side)  # shrunk first: colour coding is linear in the alphas
    top_r = _color_coded(a_top)
    ph, pw = top_l.shape[:2]
    gap = max(2, pw // 80)
    width = 2 * pw + gap
    k = a.shape[2]
    tw = max(1, (width - (k - 1) * gap) // k)
    th = max(1, round(tw * img.shape[0] / img.shape[1]))
    tiles = []
    yy, xx = np.mgrid[0:th, 0:tw]
    cell = max(2, tw // 16)
    checker = np.where(((yy // cell) + (xx // cell)) % 2 == 0, 0.8, 0.6)[..., None]
    small_a = _shrink(a_top, th, tw)
    if colors is not None:  # all layers at once: one pass over the colours
        small_c = _shrink(np.reshape(colors, colors.shape[:2] + (3 * k,)), th, tw)
        small_c = small_c.reshape(th, tw, k, 3)
    for i in range(k):
        al = small_a[..., i:i + 1]
        if colors is None:
            tile = np.repeat(al, 3, axis=2)
        else:
            tile = al * small_c[..., i, :] + (1 - al) * checker
        # a thin bar in the layer's colour-code colour above each tile
        bar = np.broadcast_to(PALETTE[i % len(PALETTE)], (max(2, th // 20), tw, 3))
        tiles.append(np.concatenate([bar, tile], 0))
    bh = tiles[0].shape[0]
    out = np.ones((ph + gap + bh, width, 3))
    out[:ph, :pw] = top_l
    out[:ph, pw + gap:pw + gap + pw] = top_r
    for i, t in enumerate(tiles):
        x0 = i * (tw + gap)
        out[ph + gap:, x0:x0 + tw] = t
    return _to_levels(out, 8)
