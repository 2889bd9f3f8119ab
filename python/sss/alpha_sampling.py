"""Alpha of a trimap's unknown pixels estimated from known colours.

Closed-form matting [1]_ propagates alpha from the trimap's known pixels
through the photo's local colour lines; across a wide unknown band, far from
any known pixel, it has little to go on. Sampling methods [2]_ [3]_ look at
the colours instead: an unknown pixel whose colour lies on the line between a
foreground colour and a background colour is that mixture of them. Stage 11
(:func:`sss.matte_subject`) adds this estimate, weighted by its confidence, to
the pull of the closed-form matte (``SubjectMattingParams.sampling_weight``).

The samples are the distinct colours of the known pixels near the edge of
their region (within ``band`` 4-neighbour steps of a pixel outside it; a
colour repeated by many pixels, as a plain backdrop's, counts once). For an unknown pixel of
colour I, its ``neighbours`` nearest foreground samples and nearest background
samples in RGB are paired; each pair (F, B) gives

    a = clamp((I - B).(F - B) / |F - B|^2, 0, 1),
    r = |I - (a F + (1 - a) B)| / |F - B|,

and the pair of smallest r is taken, with confidence exp(-(r / sigma)^2): a
colour that no pair explains, or a pair of nearly equal colours, gets little
weight.
"""

from __future__ import annotations

import numpy as np

from . import _core
from ._validation import as_float, as_image, as_int, as_threads, as_trimap

__all__ = ["sampled_alpha"]


def sampled_alpha(image: np.ndarray, trimap: np.ndarray, *, neighbours: int = 4,
                  sigma: float = 0.1, band: int = 2, num_threads: int | None = None):
    """Colour-sampled alpha and its confidence for a trimap's unknown pixels.

    Parameters
    ----------
    image : (H, W, 3) ndarray
        The photo, values in [0, 1] (uint8 / uint16 are scaled).
    trimap : (H, W) ndarray
        0 (background), 1 (foreground), anything else unknown (not modified).
    neighbours : int, optional
        Foreground and background samples tried per unknown pixel (1-64); the
        ``neighbours ** 2`` pairs are compared.
    sigma : float, optional
        Residual of the colour line, relative to the distance of the pair's
        colours, at which the confidence is 1/e (> 0).
    band : int, optional
        The colours of known pixels within this many 4-neighbour steps of a
        pixel outside their region are samples (>= 1; the image's border does
        not count).
    num_threads : int, optional
        Threads (default: all cores); the result does not depend on it.

    Returns
    -------
    alpha : (H, W) float64 ndarray
        The trimap where known, the estimate where unknown (0.5 where there are
        no foreground or no background samples).
    confidence : (H, W) float64 ndarray
        1 where known; in [0, 1] where unknown (0 without samples).

    References
    ----------
    .. [1] A. Levin, D. Lischinski, Y. Weiss, "A Closed-Form Solution to
           Natural Image Matting", IEEE TPAMI 30(2), 2008.
    .. [2] J. Wang, M. F. Cohen, "Optimized Color Sampling for Robust
           Matting", CVPR 2007.
    .. [3] K. He, C. Rhemann, C. Rother, X. Tang, J. Sun, "A Global Sampling
           Method for Alpha Matting", CVPR 2011.
    """
    img = as_image(image, name="image", channels=3)
    t = as_trimap(trimap, img.shape[:2])
    neighbours = as_int(neighbours, "neighbours", minimum=1, maximum=64)
    band = as_int(band, "band", minimum=1)
    sigma = as_float(sigma, "sigma", minimum=0, strict_minimum=True)
    return _core.sampled_alpha(np.ascontiguousarray(img, dtype=np.float64),
                               np.ascontiguousarray(t)[:, :, None], neighbours, sigma,
                               band, as_threads(num_threads))
