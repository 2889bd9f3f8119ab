"""The multilevel pipeline: segment at a working resolution, refine at full size.

The reference computation (:func:`sss.segment` with ``method="reference"``)
solves every stage on every pixel. Its cost grows faster than the pixel count
(the eigensolver's factor, ~N^1.5; k^2 N per sparsification step) and its
result depends on the pixel count: the feature network, the matting windows
and the superpixels all measure the scene in pixels.

The multilevel pipeline (the default) splits the work in two levels:

1. **Working level.** The photo is resized (antialiased) so that it has at
   most ``working_pixels`` pixels, keeping its aspect ratio. The semantic
   features are computed on a copy of at most ``feature_pixels`` pixels and
   resized to the working level. Stages 2-10 (superpixels, affinities,
   eigenvectors, constrained sparsification, grouping, relaxed
   sparsification) run there, with a smaller spectral basis and a sampled
   sparsity energy. Because the working level has (about) the same number of
   pixels whatever the photo's size, every size-dependent parameter now
   measures the scene, not the pixels, and the layers of one photo do not
   depend on its resolution.
2. **Full level.** The soft layers are carried to full resolution by a
   guided upsampling (:func:`guided_upsample`): in every small window of the
   working level each layer is fitted as an affine function of the colour,
   alpha ~ a^T I + b -- the colour-line model from which the matting
   Laplacian is derived -- and the fitted coefficients, smoothly
   interpolated, are applied to the full-resolution colours. Edges, hair and
   other soft transitions thus follow the full-resolution photo. The fit is
   linear in the layer, so the upsampled layers still sum to one.

Cost: the working level is a fixed amount of work; the full level is a few
operations per pixel and layer, linear in the pixel count.

References
----------
.. [1] Y. Aksoy, T.-H. Oh, S. Paris, M. Pollefeys, W. Matusik, "Semantic Soft
       Segmentation", ACM TOG 37(4) (SIGGRAPH), 2018.
.. [2] K. He, J. Sun, X. Tang, "Guided Image Filtering", IEEE TPAMI 35(6),
       2013 (the colour guided filter and its relation to the matting
       Laplacian).
.. [3] K. He, J. Sun, "Fast Guided Filter", arXiv:1505.00996, 2015
       (coefficients computed at low resolution, applied at full resolution).
.. [4] A. Levin, D. Lischinski, Y. Weiss, "A Closed-Form Solution to Natural
       Image Matting", IEEE TPAMI 30(2), 2008 (the colour-line model).
"""

from __future__ import annotations

import math

import numpy as np

from . import _defaults as D
from . import _core

__all__ = ["working_shape", "guided_upsample", "clean_alphas", "box_mean", "layer_colors",
           "upsample_layer_colors", "UpsampledLayerColors"]


def working_shape(shape, max_pixels: int) -> tuple[int, int]:
    """(h, w) with h * w <= `max_pixels` and the aspect ratio of `shape`.

    Images that already have at most `max_pixels` pixels keep their size
    (the working level never upsamples).

    Parameters
    ----------
    shape : tuple
        (H, W, ...) of the photo.
    max_pixels : int
        Pixel budget of the working level.

    Returns
    -------
    (h, w) : tuple of int
    """
    h, w = int(shape[0]), int(shape[1])
    max_pixels = int(max_pixels)
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be >= 1, got {max_pixels}")
    if h * w <= max_pixels:
        return h, w
    s = math.sqrt(max_pixels / (h * w))
    hh = max(1, int(math.floor(h * s)))
    ww = max(1, int(math.floor(w * s)))
    return hh, ww


def box_mean(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over the (2r+1) x (2r+1) window of every pixel, for each channel.

    Windows are clipped at the border (the mean is over the pixels inside
    the image), as in He et al.'s guided filter.

    Parameters
    ----------
    x : (H, W) or (H, W, C) ndarray
    radius : int
        Window radius r in pixels, >= 0.

    Returns
    -------
    float64 ndarray of the shape of `x`
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim not in (2, 3) or a.size == 0:
        raise ValueError(f"x must be a non-empty (H, W) or (H, W, C) array, got shape {a.shape}")
    radius = _int_param(radius, "radius", 0)
    out = _core.box_mean(np.ascontiguousarray(a.reshape(a.shape[0], a.shape[1], -1)), radius)
    return out.reshape(a.shape)


def _int_param(value, name, minimum):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def guided_upsample(layers: np.ndarray, guide_low: np.ndarray, guide: np.ndarray, *,
                    radius: int = D.UPSAMPLE.radius, eps: float = D.UPSAMPLE.eps,
                    clip: bool = D.UPSAMPLE.clip,
                    num_threads: int | None = None) -> np.ndarray:
    """Soft layers at the resolution of `guide`, following its edges.

    The colour guided filter of each layer is computed at the low resolution
    (window radius `radius`, regulariser `eps`); its per-pixel affine
    coefficients are interpolated bilinearly to the full resolution and
    applied to the full-resolution colours (the fast guided filter). The
    map from a layer to its upsampled version is linear and sends the
    constant 1 to 1, so layers that sum to one still do. With `clip`, the
    result is clipped to [0, 1] and renormalised to sum to one.

    Parameters
    ----------
    layers : (h, w, K) ndarray
        Soft layers at the low resolution.
    guide_low : (h, w, 3) ndarray
        The photo at the low resolution, values in [0, 1].
    guide : (H, W, 3) ndarray
        The photo at full resolution, values in [0, 1] (H >= h, W >= w).
    radius : int, optional
        Window radius at the low resolution, in pixels (1: 3 x 3 windows).
    eps : float, optional
        Regulariser of the local colour model (1e-4, for colours in [0, 1]):
        larger values give smoother, less colour-driven transitions.
        Measured on the bench photos: reference layers resized to 160 x 120
        and carried back to 640 x 480 differ from the originals by a mean
        union error of 0.002-0.005 with (1, 1e-4), 0.004-0.010 with
        (2, 1e-3) and 0.004-0.010 for bilinear upsampling.
    clip : bool, optional
        Clip to [0, 1] and renormalise so that layers sum to one (True).
    num_threads : int, optional
        Threads (default all cores); the result does not depend on it.

    Returns
    -------
    (H, W, K) float32 ndarray

    References
    ----------
    .. [1] K. He, J. Sun, X. Tang, "Guided Image Filtering", IEEE TPAMI 35(6), 2013.
    .. [2] K. He, J. Sun, "Fast Guided Filter", arXiv:1505.00996, 2015.
    """
    from ._validation import as_image, as_threads
    lay = as_image(layers, name="layers", channels=None)
    low = as_image(guide_low, name="guide_low", channels=3)
    if low.shape[:2] != lay.shape[:2]:
        raise ValueError(f"layers {lay.shape} and guide_low {low.shape} must be (h, w, K) "
                         "and (h, w, 3)")
    full = as_image(guide, name="guide", channels=3, copy=False)  # only read: no copy
    radius = _int_param(radius, "radius", 0)
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be positive and finite, got {eps}")
    return _core.guided_upsample(lay, low, full, radius, float(eps), bool(clip),
                                 as_threads(num_threads))


def clean_alphas(alphas: np.ndarray, cutoff: float = D.LEVELS.alpha_cutoff) -> np.ndarray:
    """Snap near-0 and near-1 alpha to exactly 0 and 1, keeping the layers a partition.

    Soft segmentation leaves a faint haze of small alpha values over the
    whole photo in every layer (a few thousandths from the iterative solves
    and the upsampling). Invisible in one layer, it adds up when layers are
    combined and is mistaken for content by editors (a cut-out that is not
    quite transparent). Each alpha becomes ``clip((alpha - t) / (1 - 2 t), 0,
    1)`` with ``t = cutoff``, which is the identity's stretch on [t, 1 - t],
    and the layers are divided by their sum so that they still add up to one
    at every pixel (where all are 0, which needs alpha < t in every layer and
    so cannot happen for cutoff < 1 / num_layers, they stay 0). The multilevel
    pipeline ends with it (``levels.alpha_cutoff``, C++ ``sss::clean_alphas``).

    Parameters
    ----------
    alphas : (H, W, K) ndarray
        Soft layers summing to one per pixel. Not modified.
    cutoff : float
        t, in [0, 0.25] (alpha units; 0.01 is 2.5 levels of 8 bits). 0 only
        clips to [0, 1] and renormalises.

    Returns
    -------
    alphas : (H, W, K) float32 ndarray

    References
    ----------
    .. [1] Aksoy et al., "Semantic Soft Segmentation", SIGGRAPH 2018,
           Sec. 3.3 (the sparsity prior that favours 0 and 1).
    """
    from ._validation import as_float, as_image

    a = as_image(alphas, name="alphas", channels=None)
    t = as_float(cutoff, "cutoff", minimum=0.0, maximum=0.25)
    return _core.clean_alphas(np.ascontiguousarray(a, dtype=np.float64), t)


def layer_colors(image: np.ndarray, alphas: np.ndarray, *,
                 max_pixels: int = D.LEVELS.working_pixels, dtype=np.float64,
                 bands: bool = False, **kwargs):
    """Layer colours at full resolution, estimated at a working resolution.

    :func:`sss.estimate_layer_colors` solves a sparse system per layer over
    every pixel; on a large photo that dominates the whole run. Here it runs
    on a copy of at most `max_pixels` pixels (photo and layers resized); the
    colours are upsampled bilinearly and then projected
    (:func:`sss.project_layer_colors`) so that, at every full-resolution
    pixel, the layers recompose the photo exactly.

    Parameters
    ----------
    image : (H, W, 3) ndarray
        The photo, values in [0, 1] (uint8/uint16 are scaled).
    alphas : (H, W, K) ndarray
        Soft layers (non-negative, summing to one).
    max_pixels : int, optional
        Pixel budget of the estimation (19200, the multilevel working level).
    dtype : float64 or float32, optional
        Type of the result; float32 (computed in float64, rounded once) halves
        the memory of an array that is gigabytes for a camera photo (the
        layer files are rendered from either; ``sss segment`` uses float32).
    bands : bool, optional
        Return an :class:`UpsampledLayerColors` that computes the full-size
        colours a band of rows at a time (for :func:`sss.export.save_layers`,
        which then never holds them whole) instead of the array.
    **kwargs
        Passed to :func:`sss.estimate_layer_colors`.

    Returns
    -------
    (H, W, K, 3) ndarray of `dtype`, or with `bands` an
    :class:`UpsampledLayerColors` (whose ``rows`` give `dtype`) when the photo
    is larger than `max_pixels` (else the array).
    """
    from ._validation import as_image
    from .colors import _resized_layers, estimate_layer_colors, normalize_alphas, \
        normalized_layers
    from .io import resize

    img = as_image(image, name="image", channels=3, copy=False)  # only read
    a = normalized_layers(alphas)  # large float32 layers: normalised band by band
    H, W = img.shape[:2]
    if a.shape[:2] != (H, W):
        raise ValueError(f"alphas of {a.shape[0]} x {a.shape[1]} pixels do not match the "
                         f"image's {H} x {W}")
    dtype = _colour_dtype(dtype)
    h, w = working_shape((H, W), max_pixels)
    if (h, w) == (H, W):
        return estimate_layer_colors(img, np.asarray(a), **kwargs).astype(dtype, copy=False)
    small = estimate_layer_colors(np.clip(resize(img, h, w), 0, 1),
                                  normalize_alphas(_resized_layers(a, h, w)), **kwargs)
    if bands:
        return UpsampledLayerColors(small, H, W, dtype=dtype)
    return upsample_layer_colors(small, img, np.asarray(a), dtype=dtype)


class UpsampledLayerColors:
    """:func:`upsample_layer_colors` a band of rows at a time.

    Holds the small colours (resampled horizontally to the photo's width
    once, on construction) and makes any rows of the full-size colours on
    demand, from those rows of the photo and of the normalised layers:
    bitwise the rows of :func:`upsample_layer_colors`' result, whatever the
    bands. :func:`sss.export.save_layers` takes it as `colors` and renders
    the files band by band, so that the (H, W, K, 3) colours of a camera
    photo (gigabytes) are never held.

    Parameters
    ----------
    colors : (h, w, K, 3) ndarray
        Layer colours at the small size.
    height, width : int
        The photo's size in pixels.
    dtype : float32 or float64, optional
        Type of the rows (computed in float64 either way).

    Attributes
    ----------
    shape : tuple
        (height, width, K, 3), the shape of the colours it stands for.
    """

    def __init__(self, colors: np.ndarray, height: int, width: int, *, dtype=np.float64):
        from ._validation import as_int
        from .colors import _as_colors

        if not isinstance(colors, np.ndarray) or colors.ndim != 4 or colors.shape[3] != 3:
            raise ValueError(f"colors must have shape (h, w, K, 3), got "
                             f"{getattr(colors, 'shape', type(colors).__name__)}")
        height = as_int(height, "height", minimum=1)
        width = as_int(width, "width", minimum=1)
        c = _as_colors(colors, colors.shape[:3])
        self._single = _colour_dtype(dtype) == np.float32
        self._up = _core.LayerColorUpsampler(c, height, width)
        self.shape = (height, width, colors.shape[2], 3)
        self.dtype = np.dtype(np.float32 if self._single else np.float64)

    def rows(self, y0: int, image_rows: np.ndarray, alpha_rows: np.ndarray) -> np.ndarray:
        """Rows ``y0 : y0 + n`` of the colours, from those rows of the photo
        ((n, W, 3)) and of the normalised layers ((n, W, K)): (n, W, K, 3)."""
        from ._validation import as_image
        from .colors import _as_alphas, _check_sizes

        img = as_image(image_rows, name="image_rows", channels=3, copy=False)
        a = _as_alphas(alpha_rows, "alpha_rows")
        _check_sizes(img, a)
        return self._up.rows(int(y0), img, a, self._single)

    def __array__(self, dtype=None, copy=None):
        raise TypeError("UpsampledLayerColors makes its rows on demand: call rows(y0, "
                        "image_rows, alpha_rows), or use upsample_layer_colors for the "
                        "whole array")


def _colour_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def upsample_layer_colors(colors: np.ndarray, image: np.ndarray,
                          alphas: np.ndarray, *, dtype=np.float64) -> np.ndarray:
    """Layer colours of a smaller copy carried to the size of `image`.

    Each layer's colours are resized bilinearly, then projected
    (:func:`sss.project_layer_colors`) so that at every pixel the layers
    recompose `image` exactly.

    Parameters
    ----------
    colors : (h, w, K, 3) ndarray
        Layer colours at the small size.
    image : (H, W, 3) ndarray
        The photo at full size.
    alphas : (H, W, K) ndarray
        The layers at full size, normalised (non-negative, summing to one).
    dtype : float64 or float32, optional
        Type of the result (computed in float64 either way).

    Returns
    -------
    (H, W, K, 3) ndarray of `dtype`
    """
    from ._validation import as_image
    from .colors import _as_alphas, _as_colors, _check_sizes

    img = as_image(image, name="image", channels=3, copy=False)
    a = _as_alphas(alphas)
    _check_sizes(img, a)
    if not isinstance(colors, np.ndarray) or colors.ndim != 4:
        raise ValueError(f"colors must have shape (h, w, K, 3), got "
                         f"{getattr(colors, 'shape', type(colors).__name__)}")
    c = _as_colors(colors, colors.shape[:2] + (a.shape[2],))
    # the core resamples every layer's colours one output row at a time (each
    # layer as sss.io.resize does, bitwise) and projects the row in place: the
    # rows of UpsampledLayerColors, all at once
    single = _colour_dtype(dtype) == np.float32
    return _core.LayerColorUpsampler(c, img.shape[0], img.shape[1]).rows(0, img, a, single)
