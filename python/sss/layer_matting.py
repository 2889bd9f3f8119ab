"""Stage 10b: every layer's boundary matted at a finer level.

The multilevel method computes the layers at a working level of about
160 x 120 pixels and carries them to the photo by guided upsampling, which
fits each layer as a local linear function of the colour: it follows edges
the working level saw, but a leaf, a twig or the gap between two strands of
hair that is smaller than a working pixel is shared out by the window's
colour statistics, not by its own colour. This stage looks again at every
layer at the *matting level* (the photo at up to ``max_pixels`` pixels,
640 x 480 by default, the size the feature network sees):

1. The layers carried to the matting level by guided upsampling.
2. For each layer a trimap (:func:`layer_trimap`): inside where the layer is
   above ``certain``, outside where it is below ``1 - certain``, each region
   shrunk by ``erosion`` pixels; unknown in between.
3. The closed-form matte of Levin et al.
   (:func:`sss.subject_matting.closed_form_matte`) of the unknown band, with
   a weak pull (``prior``) towards the layer's value and a pull of weight
   ``sampling_weight`` times its confidence towards the alpha the colours
   explain (:func:`sss.alpha_sampling.sampled_alpha`: the nearest colours of
   the layer's inside and of its outside whose mixture gives the pixel's).
   A layer with no certain inside or outside is kept as it is.
4. The K mattes scaled to sum to one at every pixel, and carried to the
   photo's size by :func:`sss.multilevel.guided_upsample`.

Stage 11 (:mod:`sss.subject_matting`) then works on these layers. The
reference method computes every pixel at once and has no such stage.

Measured on matting_dev (bench/README.md, docs/cues.md): mean SAD of the
best union of layers, without stage 11, 3.40 -> 2.82 at half size and
18.4 -> 15.7 at full size; with stage 11 (the default) 2.59 -> 2.27 and
14.3 -> 12.8. Against the reference's layers on the bench photos the
median excess over its seed-to-seed variability stays at +0.000.
"""

from __future__ import annotations

import numpy as np

from . import _core
from ._core import LayerMattingParams
from ._validation import as_float, as_image, as_int

__all__ = ["matte_layers", "layer_trimap", "LayerMattingParams"]


def _params(params, overrides):
    from .pipeline import _stage_params
    return _stage_params(LayerMattingParams, params, overrides, "layer_matting")


def matte_layers(alphas: np.ndarray, image: np.ndarray, *,
                 params: LayerMattingParams | None = None, **overrides) -> np.ndarray:
    """Every layer's unknown band matted on the photo's colours (steps 2-3).

    Works at the size it is given: resize the photo and the layers to the
    matting level first (``sss.segment`` does, and carries the result back).

    Parameters
    ----------
    alphas : (H, W, K) ndarray
        Soft layers of the photo, summing to one per pixel (not modified).
    image : (H, W, 3) ndarray
        The photo, values in [0, 1] (uint8 / uint16 are scaled).
    params : sss.LayerMattingParams, optional
        The stage's parameters (defaults: those of ``sss.segment``);
        ``max_pixels`` is not used here.
    **overrides
        Fields of `params` to change, e.g. ``sampling_weight=0``,
        ``certain=0.9``; ``print(sss.LayerMattingParams())`` lists them.

    Returns
    -------
    (H, W, K) float64 ndarray
        The layers, each replaced by its matte where it has a certain inside,
        a certain outside and a band between them, scaled to sum to one.

    References
    ----------
    .. [1] A. Levin, D. Lischinski, Y. Weiss, "A Closed-Form Solution to
           Natural Image Matting", IEEE TPAMI 30(2), 2008.
    .. [2] J. Wang, M. F. Cohen, "Optimized Color Sampling for Robust
           Matting", CVPR 2007.
    """
    p = _params(params, overrides)
    img = as_image(image, name="image", channels=3)
    a = as_image(alphas, name="alphas", channels=None)
    if a.shape[:2] != img.shape[:2]:
        raise ValueError(f"alphas of {a.shape[0]} x {a.shape[1]} pixels do not match the "
                         f"image's {img.shape[0]} x {img.shape[1]}")
    return _core.matte_layers(np.ascontiguousarray(a, dtype=np.float64),
                              np.ascontiguousarray(img, dtype=np.float64), p)


def layer_trimap(layer: np.ndarray, *, certain: float = 0.95, erosion: int = 1) -> np.ndarray:
    """Trimap of one layer: 1 (inside) where it is above `certain`, 0
    (outside) where it is below ``1 - certain``, each region shrunk by
    `erosion` 4-neighbour erosions (the image's border counts as inside the
    region), 0.5 (unknown) elsewhere.

    Parameters
    ----------
    layer : (H, W) ndarray
        One layer's alpha.
    certain : float, optional
        In [0.5, 1].
    erosion : int, optional
        Pixels each known region is shrunk by (>= 0).

    Returns
    -------
    (H, W) float64 ndarray of 0, 0.5 and 1.
    """
    m = np.asarray(layer)
    if m.ndim == 3 and m.shape[2] == 1:
        m = m[:, :, 0]
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"layer must be an (H, W) array, got shape {m.shape}")
    m = as_image(m[:, :, None], name="layer", channels=1)
    certain = as_float(certain, "certain", minimum=0.5, maximum=1.0)
    erosion = as_int(erosion, "erosion", minimum=0)
    return _core.layer_trimap(np.ascontiguousarray(m, dtype=np.float64), certain, erosion)
