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
        x = _block_mean(x, f)
    return np.clip(resize(x, height, width, method="bilinear"), 0, 1)


def _block_mean(x: np.ndarray, f: int) -> np.ndarray:
    """Means of the whole f x f blocks of (H, W, C) `x`, in float64, summed in
    a fixed order (so that any band of whole block rows gives the rows of the
    whole array's result, bitwise)."""
    hh, ww = x.shape[0] // f, x.shape[1] // f
    blocks = x[:hh * f, :ww * f].reshape(hh, f, ww, f, x.shape[2])
    out = np.zeros((hh, ww, x.shape[2]))
    for i in range(f):
        for j in range(f):
            out += blocks[:, i, :, j]
    out /= f * f
    return out


def _fit_shape(h: int, w: int, max_side: int) -> tuple[int, int] | None:
    """The size :func:`_fit` shrinks an h x w image to; None if it fits already."""
    s = min(1.0, max_side / max(h, w))
    return None if s >= 1.0 else (max(1, round(h * s)), max(1, round(w * s)))


def _fit(img: np.ndarray, max_side: int) -> np.ndarray:
    size = _fit_shape(img.shape[0], img.shape[1], max_side)
    return img if size is None else _shrink(img, *size)


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
    k = a.shape[2]
    th, tw = _tile_shape(a.shape[0], a.shape[1], k, max_side)
    small_c = None
    if colors is not None:  # all layers at once: one pass over the colours
        small_c = _shrink(np.reshape(colors, colors.shape[:2] + (3 * k,)), th, tw)
    return _overview_from(image, a, small_c, max_side)


def _tile_shape(h: int, w: int, k: int, max_side: int = _OVERVIEW_SIDE) -> tuple[int, int]:
    """(height, width) of the overview's per-layer tiles for an h x w photo of k layers."""
    s = min(1.0, max_side / max(h, w))
    pw = w if s >= 1.0 else max(1, round(w * s))
    gap = max(2, pw // 80)
    tw = max(1, (2 * pw + gap - (k - 1) * gap) // k)
    return max(1, round(tw * h / w)), tw


def _overview_from(image, a, small_c, max_side=_OVERVIEW_SIDE, a_top=None):
    """The overview from the photo, the normalised alphas and the layer colours
    already shrunk to the tiles' size ((th, tw, 3 K), :func:`_tile_shape`; None:
    grey mattes). `a_top`: ``_fit(a, max_side)`` if already made (then `a`
    is only asked its shape)."""
    img = np.clip(np.asarray(image, dtype=np.float64), 0, 1)
    top_l = _fit(img, max_side)
    if a_top is None:
        a_top = _fit(a, max_side)  # shrunk first: colour coding is linear in the alphas
    top_r = _color_coded(a_top)
    ph, pw = top_l.shape[:2]
    gap = max(2, pw // 80)
    width = 2 * pw + gap
    k = a.shape[2]
    th, tw = _tile_shape(img.shape[0], img.shape[1], k, max_side)
    tiles = []
    yy, xx = np.mgrid[0:th, 0:tw]
    cell = max(2, tw // 16)
    checker = np.where(((yy // cell) + (xx // cell)) % 2 == 0, 0.8, 0.6)[..., None]
    small_a = _shrink(a_top, th, tw)
    if small_c is not None:
        small_c = small_c.reshape(th, tw, k, 3)
    for i in range(k):
        al = small_a[..., i:i + 1]
        if small_c is None:
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


class _BandShrink:
    """:func:`_shrink` of an (H, W, C) array given in consecutive bands of
    rows: the f x f block means are taken band by band (the rows of a block
    cut by a band's end wait for the next band; bands that start at
    multiples of :attr:`factor` never wait), the small resize at the end; the
    result is :func:`_shrink`'s. Without block means (f < 2, photos up to
    about twice the thumbnail's size) the rows are kept until the end, as the
    float32 planes that :func:`sss.io.resize` makes of them anyway."""

    def __init__(self, height: int, width: int, channels: int, out_height: int,
                 out_width: int):
        self.out = (out_height, out_width)
        self.factor = min(height // (2 * out_height), width // (2 * out_width))
        f = self.factor
        self._blocks = (height // f, width // f) if f >= 2 else None
        self._parts: list[np.ndarray] = []
        self._carry = None  # (first row, rows) of a block not yet whole
        self._planes = (np.empty((channels, height, width), dtype=np.float32)
                        if self._blocks is None else None)

    def add(self, y0: int, rows: np.ndarray) -> None:
        f = self.factor
        if self._blocks is None:
            self._planes[:, y0:y0 + rows.shape[0]] = np.moveaxis(rows, -1, 0)
            return
        hh, ww = self._blocks
        if self._carry is not None:
            y0, rows = self._carry[0], np.concatenate([self._carry[1], rows[:, :ww * f]])
            self._carry = None
        assert y0 % f == 0
        used = max(0, min(rows.shape[0], hh * f - y0))  # rows of whole block rows
        n = used // f * f
        if n > 0:
            self._parts.append(_block_mean(rows[:n, :ww * f], f))
        if used > n:
            self._carry = (y0 + n, np.array(rows[n:used, :ww * f]))

    def result(self) -> np.ndarray:
        from ..io import _resize_planes, resize

        if self._planes is not None:
            out = _resize_planes(self._planes, self.out[0], self.out[1], "bilinear")
        else:
            out = resize(np.concatenate(self._parts, axis=0), self.out[0], self.out[1],
                         method="bilinear")
        return np.clip(out, 0, 1)


class _BandFit:
    """:func:`_fit` of an (H, W, C) array given in consecutive bands of rows
    (:class:`_BandShrink`, or the rows themselves when they already fit)."""

    def __init__(self, height: int, width: int, channels: int, max_side: int = _OVERVIEW_SIDE):
        size = _fit_shape(height, width, max_side)
        self._shrink = None if size is None else _BandShrink(height, width, channels, *size)
        self._parts: list[np.ndarray] = []

    def add(self, y0: int, rows: np.ndarray) -> None:
        if self._shrink is None:
            self._parts.append(rows)
        else:
            self._shrink.add(y0, rows)

    def result(self) -> np.ndarray:
        if self._shrink is None:
            return np.concatenate(self._parts, axis=0)
        return self._shrink.result()
