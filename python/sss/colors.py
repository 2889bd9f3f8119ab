"""Layer colours: what each soft layer looks like on its own.

A soft segmentation gives K alpha mattes that sum to 1 at every pixel. To
recolour, move or composite a layer in an editor, each layer also needs a
colour image c_k such that the layers, stacked, reproduce the photo:

    sum_k alpha_k(p) c_k(p) = I(p)        at every pixel p.

The paper (Sec. 4.3-4.4) estimates these colours with Levin et al.'s
closed-form foreground/background colour estimation; here it is generalised
from 2 to K layers (:func:`estimate_layer_colors`), solved in C++.

Alphas outside [0, 1]
---------------------
The relaxed sparsification returns alphas slightly outside [0, 1] (the
reference's range is about [-0.1, 1.09]). Layer images cannot hold such
values, so before colour estimation and export the alphas are clipped to
[0, 1] and each pixel is renormalised to sum 1 (:func:`normalize_alphas`);
a pixel whose alphas are all <= 0 goes wholly to its largest one. The
colours then make the photo exactly with these normalised alphas; the raw
alphas are kept unchanged elsewhere (e.g. in the ``.npz`` export).
"""

from __future__ import annotations

import warnings

import numpy as np

from . import _core
from ._validation import as_threads as _threads, as_float, as_image, as_int, \
    check_finite_result, check_memory

__all__ = ["normalize_alphas", "estimate_layer_colors", "project_layer_colors", "composite"]


# Below about 1e-13 the CG residual cannot be reached in double precision
# (it stagnates, then rounding makes it diverge).
_MIN_TOLERANCE = 1e-13
# A final residual above this (and above the tolerance) is warned about: the
# default 100 iterations per level often end at ~3e-5, which is harmless.
_WARN_RESIDUAL = 1e-2


def _as_alphas(alphas, name: str = "alphas") -> np.ndarray:
    a = as_image(alphas, name=name, channels=None, copy=False)  # read only by the core
    if a.shape[2] < 1:
        raise ValueError(f"{name} must have at least one layer")
    return a


def _check_sizes(img: np.ndarray, a: np.ndarray) -> None:
    if img.shape[:2] != a.shape[:2]:
        raise ValueError(f"alphas of {a.shape[0]} x {a.shape[1]} pixels do not match the "
                         f"image of {img.shape[0]} x {img.shape[1]} pixels")


def normalize_alphas(alphas: np.ndarray) -> np.ndarray:
    """Alphas clipped to [0, 1] and renormalised to sum 1 at every pixel.

    Parameters
    ----------
    alphas : (H, W, K) ndarray
        Soft layers (float; uint8/uint16 are scaled to [0, 1]). Not modified.

    Returns
    -------
    (H, W, K) ndarray, float64
        ``clip(alphas, 0, 1)`` divided by its per-pixel sum. Where every
        clipped alpha is 0 (all raw alphas <= 0), the pixel is given wholly
        to the layer with the largest raw alpha (the first on ties).

    Raises
    ------
    TypeError, ValueError
        For a non-array, an unsupported dtype, a wrong shape or NaN/inf.
    """
    if _bandable(alphas):
        # float32 layers of a large photo (what segment returns): a band of rows
        # at a time, without a float64 copy of the whole input (pixel by pixel,
        # so the result is the same); other inputs, and their errors, below
        return np.asarray(NormalizedLayers(alphas))
    a = _as_alphas(alphas)
    return _core.normalize_alphas(a)


def _bandable(alphas) -> bool:
    """Whether `alphas` are large finite float32 layers, normalised band by band."""
    return (isinstance(alphas, np.ndarray) and alphas.dtype == np.float32
            and alphas.ndim == 3 and alphas.shape[2] >= 1 and alphas.size > _BAND_VALUES
            and bool(np.isfinite(alphas).all()))


def normalized_layers(alphas):
    """:func:`normalize_alphas` of `alphas`, deferred for large float32 layers.

    Returns the normalised float64 array, or for large finite float32 layers
    (what :func:`sss.segment` returns for a camera photo) a
    :class:`NormalizedLayers` that normalises a band of rows at a time when
    they are read, so that the float64 copy (twice the size of the layers)
    is never made whole. Either gives the same values."""
    return NormalizedLayers(alphas) if _bandable(alphas) else normalize_alphas(alphas)


class NormalizedLayers:
    """:func:`normalize_alphas` of (H, W, K) float32 layers, computed when read.

    The layers must be finite (:func:`normalized_layers` checks; a NaN is
    reported by the band that reads it).

    Rows are read by slicing (``layers[y0:y1]``, a float64 array, the
    same values as the rows of ``normalize_alphas(alphas)``); the few
    whole-photo quantities the files need are computed a band of rows at a
    time: :meth:`layer_sums`, :meth:`float32` (the normalised layers as
    float32), :meth:`resized`. ``np.asarray(layers)`` makes the whole float64
    array. The raw layers are referenced, not copied, and never modified.
    """

    def __init__(self, alphas: np.ndarray):
        if not (isinstance(alphas, np.ndarray) and alphas.dtype == np.float32
                and alphas.ndim == 3 and alphas.shape[2] >= 1):
            raise TypeError("NormalizedLayers takes (H, W, K) float32 layers")
        self._raw = alphas
        self.shape = tuple(alphas.shape)
        self.ndim = 3
        self.dtype = np.dtype(np.float64)
        self._rows = max(1, _BAND_VALUES // (self.shape[1] * self.shape[2]))

    def __getitem__(self, rows) -> np.ndarray:
        if not isinstance(rows, slice) or rows.step not in (None, 1):
            raise TypeError("NormalizedLayers are read by row slices (layers[y0:y1])")
        return _core.normalize_alphas(np.ascontiguousarray(self._raw[rows], dtype=np.float64))

    def bands(self):
        """(y0, rows) for consecutive bands of rows covering the photo."""
        for y in range(0, self.shape[0], self._rows):
            yield y, self[y:y + self._rows]

    def _gathered(self, dtype) -> np.ndarray:
        out = np.empty(self.shape, dtype=dtype)
        for y, band in self.bands():
            out[y:y + band.shape[0]] = band
        return out

    def __array__(self, dtype=None, copy=None):
        out = self._gathered(np.float64)
        return out if dtype is None else out.astype(dtype, copy=False)

    def float32(self) -> np.ndarray:
        """The normalised layers rounded to float32, (H, W, K)."""
        return self._gathered(np.float32)

    def layer_sums(self) -> np.ndarray:
        """(K,) float64: each layer's alpha summed over the photo (band sums added
        in order)."""
        total = np.zeros(self.shape[2])
        for _, band in self.bands():
            total += band.reshape(-1, self.shape[2]).sum(0)
        return total

    def resized(self, height: int, width: int, method: str = "bilinear") -> np.ndarray:
        """:func:`sss.io.resize` of the normalised layers (the same values: it
        resizes float32 planes), with one float32 plane per layer made band by
        band instead of a float64 copy."""
        from .io import _resize_planes

        if (int(height), int(width)) == self.shape[:2]:
            return self.float32().astype(np.float64)
        planes = np.empty((self.shape[2],) + self.shape[:2], dtype=np.float32)
        for y, band in self.bands():
            planes[:, y:y + band.shape[0]] = np.moveaxis(band, -1, 0)
        return _resize_planes(planes, height, width, method)


def _resized_layers(a, height: int, width: int, method: str = "bilinear") -> np.ndarray:
    """:func:`sss.io.resize` of normalised layers: an array or :class:`NormalizedLayers`."""
    if isinstance(a, NormalizedLayers):
        return a.resized(height, width, method)
    from .io import resize

    return resize(a, height, width, method=method)


#: values of float32 layers normalised at once (see normalize_alphas)
_BAND_VALUES = 1 << 22


def estimate_layer_colors(image: np.ndarray, alphas: np.ndarray, *, eps: float = 1e-5,
                          max_iter: int = 100, tol: float = 1e-5,
                          num_threads: int | None = None, return_info: bool = False):
    """Colour of every soft layer, such that the layers recompose the photo.

    Minimises, over the K colour images c_k (Levin et al.'s closed-form
    colour estimation generalised to K layers),

        sum_p || sum_k a_k(p) c_k(p) - I(p) ||^2
          + sum_k sum_{p~q} (eps + |a_k(p) - a_k(q)|) || c_k(p) - c_k(q) ||^2

    over 4-neighbour pairs p~q: a layer's colour is smooth across its alpha
    edges and smoothly extrapolated where the layer is absent (alpha ~ 0),
    where only the smoothness term sees it. The system is solved
    matrix-free with block-Jacobi preconditioned conjugate gradients,
    cascadically: first on 2x, 4x, ... smaller copies of the problem (the
    coarsest started from a push-pull fill of each layer's colours), each
    solution enlarged to start the next finer level. The
    result is finally projected, per pixel and channel, onto the constraint
    ``sum_k a_k c_k = I`` with colours kept in [0, 1] (least change), so the
    layers recompose the photo exactly (to rounding) whatever the number of
    CG iterations.

    Parameters
    ----------
    image : (H, W, 3) ndarray
        The photo (uint8/uint16 scaled to [0, 1]; floats used as they are).
    alphas : (H, W, K) ndarray
        The soft layers. They are normalised with :func:`normalize_alphas`
        first (clip to [0, 1], renormalise to sum 1); the sum constraint
        holds for these normalised alphas.
    eps : float, optional
        Smoothness added to every neighbour pair (> 0). It only matters where
        the alpha gradient is ~0: larger values give smoother colours there.
    max_iter : int, optional
        Maximum CG iterations on each level of the cascade.
    tol : float, optional
        CG stops when the relative residual ||b - A x|| / ||b|| of every
        channel is below it (>= 1e-13). A final residual above both it and
        1e-2 gives a RuntimeWarning with its size; a residual above 1
        (divergence) raises FloatingPointError.
    num_threads : int, optional
        Threads; default all cores.
    return_info : bool, optional
        Also return ``{"iterations": int, "relative_residual": float,
        "coarse_iterations": int}`` (full-size iterations, final relative
        residual, iterations on the smaller levels).

    Returns
    -------
    colors : (H, W, K, 3) ndarray, float64
        ``colors[..., k, :]`` is layer k's colour image, in [0, 1] (or within
        the image's own range where the image is outside [0, 1]).
    info : dict
        Only with ``return_info=True``.

    Raises
    ------
    TypeError, ValueError
        For bad arrays (dtype, shape, NaN/inf, mismatched sizes) or parameters.
    MemoryError
        If the solver's vectors would not fit in the available memory.

    References
    ----------
    .. [1] A. Levin, D. Lischinski, Y. Weiss, "A Closed-Form Solution to
           Natural Image Matting", IEEE TPAMI 30(2), 2008, Sec. 7
           (foreground and background reconstruction).
    .. [2] Y. Aksoy, T.-H. Oh, S. Paris, M. Pollefeys, W. Matusik, "Semantic
           Soft Segmentation", ACM TOG 37(4) (SIGGRAPH), 2018, Sec. 4.3-4.4.
    """
    eps = as_float(eps, "eps", minimum=0.0, strict_minimum=True)
    max_iter = as_int(max_iter, "max_iter", minimum=0)
    tol = as_float(tol, "tol", minimum=_MIN_TOLERANCE)
    nt = _threads(num_threads)
    img = as_image(image, name="image", channels=3, copy=False)
    a = _as_alphas(alphas)
    _check_sizes(img, a)
    n, k = img.shape[0] * img.shape[1], a.shape[2]
    # 6 solver vectors of N*K*3 doubles, edge weights, pyramid
    check_memory(n * k * 8 * (6 * 3 + 4 + 8), "estimate_layer_colors")
    colors, iterations, residual, coarse = _core.estimate_layer_colors(
        img, a, eps, max_iter, tol, nt)
    check_finite_result(colors, "estimate_layer_colors")
    if not residual <= 1.0:  # worse than the zero start: CG diverged
        raise FloatingPointError(
            f"estimate_layer_colors diverged: relative residual {residual:.3g} after "
            f"{iterations} iterations (tol={tol}, max_iter={max_iter})")
    if max_iter > 0 and residual > max(tol, _WARN_RESIDUAL):
        warnings.warn(f"estimate_layer_colors did not converge: relative residual {residual:.3g} "
                      f"> tol={tol} after max_iter={max_iter}; the "
                      "colours are approximate", RuntimeWarning, stacklevel=2)
    if return_info:
        return colors, {"iterations": int(iterations), "relative_residual": float(residual),
                        "coarse_iterations": int(coarse)}
    return colors


def project_layer_colors(image: np.ndarray, alphas: np.ndarray,
                         colors: np.ndarray) -> np.ndarray:
    """Smallest change to `colors` that makes the layers recompose `image` exactly.

    Per pixel and channel, solves min sum_k (c_k - c0_k)^2 subject to
    sum_k a_k c_k = I and c_k in [0, 1] (widened to include I / sum_k a_k
    where the image itself is outside [0, 1]). Layers with alpha 0 are only
    clipped to the box. Useful after quantising alphas (see
    :mod:`sss.export`).

    Parameters
    ----------
    image : (H, W, 3) ndarray
    alphas : (H, W, K) ndarray
        Non-negative, with a positive sum at every pixel (e.g. normalised).
    colors : (H, W, K, 3) ndarray
        Starting colours (not modified).

    Returns
    -------
    (H, W, K, 3) ndarray, float64

    Raises
    ------
    ValueError
        For negative alphas, a pixel whose alphas sum to 0, mismatched shapes
        or NaN/inf.

    References
    ----------
    .. [1] Aksoy et al., "Semantic Soft Segmentation", SIGGRAPH 2018, Sec. 4.4.
    """
    img = as_image(image, name="image", channels=3, copy=False)
    a = _as_alphas(alphas)
    _check_sizes(img, a)
    c = _as_colors(colors, a.shape)
    return _core.project_layer_colors(img, a, c, 0)


def _as_colors(colors, alpha_shape, *, keep_float32: bool = False) -> np.ndarray:
    """`colors` checked as (H, W, K, 3) finite floats, C-contiguous float64, or
    float32 kept as it is with `keep_float32` (for readers that take either)."""
    if not isinstance(colors, np.ndarray):
        raise TypeError(f"colors must be a numpy array, got {type(colors).__name__}")
    want = tuple(alpha_shape) + (3,)
    if colors.shape != want:
        raise ValueError(f"colors must have shape (H, W, K, 3) = {want}, got {colors.shape}")
    if colors.dtype.kind != "f":
        raise TypeError(f"colors must be float32 or float64, got {colors.dtype}")
    # read only by the callers (the core copies before projecting): no copy
    # of a (H, W, K, 3) array that is often gigabytes
    dtype = np.float32 if keep_float32 and colors.dtype == np.float32 else np.float64
    c = np.ascontiguousarray(colors, dtype=dtype)
    if not np.isfinite(c).all():
        raise ValueError("colors contains NaN or infinite values")
    return c


def composite(alphas: np.ndarray, colors: np.ndarray, layers=None, background=None):
    """Stack selected layers, optionally over a new background.

    Parameters
    ----------
    alphas : (H, W, K) ndarray
        Soft layers; normalised with :func:`normalize_alphas` first (the same
        alphas the colours were estimated for).
    colors : (H, W, K, 3) ndarray
        Layer colours from :func:`estimate_layer_colors`.
    layers : sequence of int, optional
        Layers to keep (default all). Negative indices count from the end.
    background : None, float, (3,) or (H, W, 3) array-like, optional
        What shows where the kept layers do not cover the pixel, values in
        [0, 1]; uint8 and uint16 arrays (e.g. another photo as read) are
        scaled to [0, 1] as photos are. With None the result is an RGBA
        image whose alpha is the kept layers' total alpha (straight, not
        premultiplied, colour).

    Returns
    -------
    (H, W, 3) or, with ``background=None``, (H, W, 4) ndarray, float64
        ``sum_{k in layers} a_k c_k + (1 - sum_{k in layers} a_k) * background``.
        With every layer kept this is the photo.

    References
    ----------
    .. [1] Aksoy et al., "Semantic Soft Segmentation", SIGGRAPH 2018, Sec. 4.4
           (compositing with estimated layer colours).
    """
    a = normalize_alphas(alphas)
    c = _as_colors(colors, a.shape, keep_float32=True)
    k = a.shape[2]
    if layers is None:
        idx = np.arange(k)
    else:
        idx = np.asarray(list(layers) if not np.isscalar(layers) else [layers])
        if idx.size and idx.dtype.kind not in "iu":
            raise TypeError(f"layers must be integers, got {idx.dtype}")
        idx = idx.astype(int)
        if np.any(idx >= k) or np.any(idx < -k):
            raise ValueError(f"layers {idx.tolist()} out of range for {k} layers")
        idx = np.unique(np.where(idx < 0, idx + k, idx))
    sel = a[..., idx]
    cover = sel.sum(-1)
    premult = np.einsum("hwk,hwkc->hwc", sel, c[..., idx, :])
    if background is None:
        out = np.zeros(a.shape[:2] + (4,))
        nz = cover > 0
        out[nz, :3] = premult[nz] / cover[nz, None]
        out[..., 3] = cover
        return out
    bg = np.asarray(background)
    if bg.dtype.kind == "u" and bg.dtype.itemsize in (1, 2):  # as photos are read
        bg = bg.astype(np.float64) / (255.0 if bg.dtype.itemsize == 1 else 65535.0)
    elif bg.dtype.kind not in "biuf":
        raise TypeError(f"background must be numbers, got dtype {bg.dtype}")
    bg = bg.astype(np.float64)
    if bg.ndim == 0:
        bg = np.full(3, float(bg))
    if bg.shape not in ((3,), a.shape[:2] + (3,)):
        raise ValueError(f"background must be a number, an RGB triple or an (H, W, 3) image "
                         f"of {a.shape[0]} x {a.shape[1]} pixels, got shape {bg.shape}")
    if not np.all(np.isfinite(bg)):
        raise ValueError("background contains NaN or infinite values")
    if bg.size and (bg.min() < -1e-6 or bg.max() > 1 + 1e-6):
        raise ValueError(f"background values must be in [0, 1], got {bg.min():g} to "
                         f"{bg.max():g} (a uint8 or uint16 array is scaled: pass the photo "
                         "as it was read, or divide 8-bit values by 255)")
    return premult + (1.0 - cover)[..., None] * bg

