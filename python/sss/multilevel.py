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

__all__ = ["working_shape", "guided_upsample", "box_mean", "layer_colors"]


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
    x : (H, W, ...) ndarray
    radius : int
        Window radius r in pixels.

    Returns
    -------
    (H, W, ...) float64 ndarray
    """
    x = np.asarray(x, dtype=np.float64)
    r = int(radius)
    out = x
    for axis in (0, 1):
        n = out.shape[axis]
        c = np.cumsum(out, axis=axis)
        zero = np.zeros_like(np.take(c, [0], axis=axis))
        c = np.concatenate([zero, c], axis=axis)
        idx = np.arange(n)
        hi = np.minimum(idx + r + 1, n)
        lo = np.maximum(idx - r, 0)
        s = np.take(c, hi, axis=axis) - np.take(c, lo, axis=axis)
        shape = [1] * out.ndim
        shape[axis] = n
        out = s / (hi - lo).reshape(shape)
    return out


def _affine_coefficients(layers, guide, radius, eps):
    """Coefficients (a, b) of the colour guided filter, averaged over windows.

    For every window w_k: a_k = (Sigma_k + eps I)^-1 cov_k(I, p),
    b_k = mean_k(p) - a_k^T mean_k(I); then each pixel's (a, b) is the mean
    over the windows that contain it.
    """
    h, w, K = layers.shape
    mI = box_mean(guide, radius)                                   # (h, w, 3)
    II = guide[..., :, None] * guide[..., None, :]                 # (h, w, 3, 3)
    cov = box_mean(II.reshape(h, w, 9), radius).reshape(h, w, 3, 3)
    cov -= mI[..., :, None] * mI[..., None, :]
    cov += eps * np.eye(3)
    mp = box_mean(layers, radius)                                  # (h, w, K)
    Ip = guide[..., :, None] * layers[..., None, :]                # (h, w, 3, K)
    cIp = box_mean(Ip.reshape(h, w, 3 * K), radius).reshape(h, w, 3, K)
    cIp -= mI[..., :, None] * mp[..., None, :]
    a = np.linalg.solve(cov, cIp)                                  # (h, w, 3, K)
    b = mp - np.einsum("hwc,hwck->hwk", mI, a)
    a = box_mean(a.reshape(h, w, 3 * K), radius).reshape(h, w, 3, K)
    b = box_mean(b, radius)
    return a, b


def guided_upsample(layers: np.ndarray, guide_low: np.ndarray, guide: np.ndarray, *,
                    radius: int = 2, eps: float = 1e-3, clip: bool = True,
                    rows_per_block: int = 256) -> np.ndarray:
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
        Window radius at the low resolution, in pixels (2).
    eps : float, optional
        Regulariser of the local colour model (1e-3, for colours in [0, 1]):
        larger values give smoother, less colour-driven transitions.
    clip : bool, optional
        Clip to [0, 1] and renormalise so that layers sum to one (True).
    rows_per_block : int, optional
        Full-resolution rows processed at a time (bounds the memory).

    Returns
    -------
    (H, W, K) float32 ndarray

    References
    ----------
    .. [1] K. He, J. Sun, X. Tang, "Guided Image Filtering", IEEE TPAMI 35(6), 2013.
    .. [2] K. He, J. Sun, "Fast Guided Filter", arXiv:1505.00996, 2015.
    """
    layers = np.asarray(layers, dtype=np.float64)
    guide_low = np.asarray(guide_low, dtype=np.float64)
    if layers.ndim != 3 or guide_low.shape[:2] != layers.shape[:2] or guide_low.shape[2:] != (3,):
        raise ValueError(f"layers {layers.shape} and guide_low {guide_low.shape} must be "
                         "(h, w, K) and (h, w, 3)")
    guide = np.asarray(guide)
    if guide.ndim != 3 or guide.shape[2] != 3:
        raise ValueError(f"guide must be (H, W, 3), got {guide.shape}")
    if radius < 0 or not eps > 0:
        raise ValueError(f"radius must be >= 0 and eps > 0, got {radius}, {eps}")
    h, w, K = layers.shape
    H, W = guide.shape[:2]
    a, b = _affine_coefficients(layers, guide_low, radius, eps)
    coef = np.concatenate([a.reshape(h, w, 3 * K), b], axis=2).astype(np.float32)
    # bilinear interpolation at the full-resolution pixel centres
    ys = np.clip((np.arange(H) + 0.5) * (h / H) - 0.5, 0, h - 1)
    xs = np.clip((np.arange(W) + 0.5) * (w / W) - 0.5, 0, w - 1)
    y0 = np.minimum(ys.astype(np.int64), max(h - 2, 0))
    x0 = np.minimum(xs.astype(np.int64), max(w - 2, 0))
    y1 = np.minimum(y0 + 1, h - 1)
    x1 = np.minimum(x0 + 1, w - 1)
    fy = (ys - y0).astype(np.float32)[:, None, None]
    fx = (xs - x0).astype(np.float32)[None, :, None]
    out = np.empty((H, W, K), dtype=np.float32)
    for r0 in range(0, H, rows_per_block):
        r1 = min(H, r0 + rows_per_block)
        sl = slice(r0, r1)
        top = coef[y0[sl]][:, x0] * (1 - fx) + coef[y0[sl]][:, x1] * fx
        bot = coef[y1[sl]][:, x0] * (1 - fx) + coef[y1[sl]][:, x1] * fx
        c = top * (1 - fy[sl]) + bot * fy[sl]                      # (rows, W, 4K)
        g = guide[sl].astype(np.float32)
        q = c[..., 3 * K:].copy()
        ca = c[..., :3 * K].reshape(r1 - r0, W, 3, K)
        for ch in range(3):
            q += ca[:, :, ch, :] * g[..., ch:ch + 1]
        if clip:
            np.clip(q, 0.0, 1.0, out=q)
            s = q.sum(axis=2, keepdims=True)
            np.maximum(s, 1e-12, out=s)
            q /= s
        out[sl] = q
    return out


def layer_colors(image: np.ndarray, alphas: np.ndarray, *, max_pixels: int = 19200,
                 **kwargs) -> np.ndarray:
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
    **kwargs
        Passed to :func:`sss.estimate_layer_colors`.

    Returns
    -------
    (H, W, K, 3) float64 ndarray
    """
    from ._validation import as_image
    from .colors import estimate_layer_colors, normalize_alphas, project_layer_colors
    from .io import resize

    img = as_image(image, name="image", channels=3)
    a = normalize_alphas(alphas)
    H, W = img.shape[:2]
    if a.shape[:2] != (H, W):
        raise ValueError(f"alphas of {a.shape[0]} x {a.shape[1]} pixels do not match the "
                         f"image's {H} x {W}")
    h, w = working_shape((H, W), max_pixels)
    if (h, w) == (H, W):
        return estimate_layer_colors(img, a, **kwargs)
    small = estimate_layer_colors(np.clip(resize(img, h, w), 0, 1),
                                  normalize_alphas(resize(a, h, w, method="bilinear")), **kwargs)
    K = a.shape[2]
    up = np.empty((H, W, K, 3))
    for k in range(K):
        up[:, :, k] = np.clip(resize(small[:, :, k], H, W, method="bilinear"), 0, 1)
    return project_layer_colors(img, a, up)
