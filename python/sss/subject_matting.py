"""Stage 11: the salient subject's boundary matted at a finer level.

The multilevel method computes the layers at a working level of about
160 x 120 pixels. Where the subject's edge is hair, fur or twigs in front of a
background of similar colour, whole strands end up in the background's
layers, or the gaps between them in the subject's. A salient-object map
(:func:`sss.saliency_map`) often has those regions right while the layers do
not, and the other way round. This stage trusts the two where they agree and
lets closed-form matting of the photo decide where they disagree:

1. The *matting level*: the photo resized to at most ``max_pixels`` pixels
   (640 x 480 by default, the size the feature network sees), the layers and
   the map carried there.
2. Nothing is done when the map is vague (:func:`sss.cues.cue_confidence`
   below ``min_confidence``). Otherwise the map's edges are moved onto the
   photo's (the map and the photo resized to ``map_guide_pixels`` pixels and
   the map carried back by :func:`sss.multilevel.guided_upsample`), and the
   subject is the layers the map mostly covers (mean map under the layer
   above ``layer_threshold``, as :func:`sss.subject.layer_saliency`); nothing
   is done when no layer, or every layer, is the subject's.
3. A trimap (:func:`subject_trimap`): subject where the map is above
   ``map_certain`` *and* the subject's layers above ``layers_certain``;
   background where the map is below ``1 - map_certain`` and the layers are
   not certain of the subject (below ``layers_certain``); each region shrunk by
   ``erosion`` pixels; unknown elsewhere. Nothing is done when the known
   subject holds less than ``min_known_subject`` of the subject's alpha (a
   thin object the erosion removes would be matted away).
4. The closed-form matte of Levin et al. (:func:`closed_form_matte`) of the
   unknown pixels, with a weak pull (``prior``) towards the layers' value so
   that every unknown region has a unique solution, and a pull of weight
   ``sampling_weight`` times its confidence towards the alpha the known
   colours explain (:func:`sss.alpha_sampling.sampled_alpha`: the nearest
   known subject and background colours whose mixture gives the pixel's).
5. The matte carried to the photo's size by :func:`sss.multilevel.guided_upsample`;
   at every pixel the subject's layers are scaled to sum to it and the other
   layers to its complement, each group in its own proportions.

Measured on matting_dev (docs/cues.md): mean SAD of the best union of layers
2.82 -> 2.27 at half size and 15.7 -> 12.8 at full size, after stage 10b
(:mod:`sss.layer_matting`; 3.40 -> 2.59 and 18.4 -> 14.3 without it); on the bench photos
(several objects, no single subject) the layers stay within the reference's
seed-to-seed variability.
"""

from __future__ import annotations

import numpy as np

from . import _core
from ._core import SubjectMattingParams
from ._validation import as_image, as_trimap, check_unit_map

__all__ = ["matte_subject", "subject_trimap", "closed_form_matte", "SubjectMattingParams"]


def _params(params, overrides):
    from .pipeline import _stage_params
    return _stage_params(SubjectMattingParams, params, overrides, "subject")


def _map(saliency, name="saliency"):
    m = np.asarray(saliency)
    if m.ndim == 3 and m.shape[2] == 1:
        m = m[:, :, 0]
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"{name} must be an (H, W) map, got shape {m.shape}")
    m = np.ascontiguousarray(m, dtype=np.float64)
    check_unit_map(m, name)
    return m[:, :, None]


def matte_subject(alphas: np.ndarray, image: np.ndarray, saliency: np.ndarray, *,
                  params: SubjectMattingParams | None = None, return_info: bool = False,
                  **overrides):
    """Layers whose salient subject's boundary is matted at a finer level.

    Parameters
    ----------
    alphas : (H, W, K) ndarray
        Soft layers of the photo, summing to one per pixel (not modified).
    image : (H, W, 3) ndarray
        The photo, values in [0, 1] (uint8 / uint16 are scaled).
    saliency : (h, w) ndarray
        A salient-object map of the photo in [0, 1], any size (resized
        bilinearly), e.g. :func:`sss.saliency_map`.
    params : sss.SubjectMattingParams, optional
        The stage's parameters (defaults: those of ``sss.segment``).
    return_info : bool, optional
        Also return a dict: ``applied``, ``confidence`` (the map's),
        ``subject`` (the subject's layers), ``unknown_fraction`` (of the
        matting level's pixels) and ``matting_shape``.
    **overrides
        Fields of `params` to change, e.g. ``max_pixels=200_000``,
        ``erosion=5``; ``print(sss.SubjectMattingParams())`` lists them.

    Returns
    -------
    (H, W, K) float32 ndarray
        The layers, unchanged where the stage does not apply (see the
        module's description), still summing to one.

    References
    ----------
    .. [1] A. Levin, D. Lischinski, Y. Weiss, "A Closed-Form Solution to
           Natural Image Matting", IEEE TPAMI 30(2), 2008.
    .. [2] Y. Aksoy, T.-H. Oh, S. Paris, M. Pollefeys, W. Matusik, "Semantic
           Soft Segmentation", ACM TOG 37(4), 2018.
    """
    p = _params(params, overrides)
    img = as_image(image, name="image", channels=3)
    a = as_image(alphas, name="alphas", channels=None)
    if a.shape[:2] != img.shape[:2]:
        raise ValueError(f"alphas of {a.shape[0]} x {a.shape[1]} pixels do not match the "
                         f"image's {img.shape[0]} x {img.shape[1]}")
    out, info = _core.matte_subject(np.ascontiguousarray(a, dtype=np.float64),
                                    np.ascontiguousarray(img, dtype=np.float64),
                                    _map(saliency), p)
    info = dict(info, subject=list(info["subject"]))
    return (out, info) if return_info else out


def subject_trimap(subject: np.ndarray, saliency: np.ndarray, *,
                   params: SubjectMattingParams | None = None, **overrides) -> np.ndarray:
    """The trimap of step 3: 1 (subject), 0 (background), 0.5 (unknown).

    Parameters
    ----------
    subject : (H, W) ndarray
        The subject's layers summed, in [0, 1].
    saliency : (H, W) ndarray
        The salient-object map, in [0, 1].
    params, **overrides
        As :func:`matte_subject` (``map_certain``, ``layers_certain``,
        ``erosion`` are used).

    Returns
    -------
    (H, W) float64 ndarray
    """
    p = _params(params, overrides)
    u, m = _map(subject, "subject"), _map(saliency)
    if u.shape != m.shape:
        raise ValueError(f"subject {u.shape[:2]} and saliency {m.shape[:2]} differ in size")
    return _core.subject_trimap(u, m, p)


def closed_form_matte(image: np.ndarray, trimap: np.ndarray, prior_alpha: np.ndarray, *,
                      prior_weight: np.ndarray | None = None,
                      params: SubjectMattingParams | None = None, **overrides) -> np.ndarray:
    """Closed-form matte of the trimap's unknown pixels (step 4).

    The unknown pixels (trimap values other than 0 and 1) minimise
    ``a^T L a + sum_p (prior + prior_weight_p) (a_p - prior_alpha_p)^2``
    with the known pixels fixed, where L is the matting Laplacian of
    :func:`sss.matting_affinity` (3 x 3 windows, regulariser ``eps``); a
    sparse Cholesky factorisation solves it exactly. The result is clipped to
    [0, 1].

    Parameters
    ----------
    image : (H, W, 3) ndarray
        The photo, values in [0, 1].
    trimap : (H, W) ndarray
        0 (background), 1 (foreground), anything else unknown.
    prior_alpha : (H, W) ndarray
        Values in [0, 1] the unknown pixels are weakly pulled to.
    prior_weight : (H, W) ndarray, optional
        Per-pixel weight (finite, >= 0) added to ``prior`` in that pull, e.g.
        ``sampling_weight`` times the confidence of
        :func:`sss.alpha_sampling.sampled_alpha` (stage 11 blends the layers'
        value and the sampled alpha into `prior_alpha` by the two weights).
    params, **overrides
        As :func:`matte_subject` (``eps``, ``prior``, ``num_threads`` are used).

    Returns
    -------
    (H, W) float64 ndarray

    References
    ----------
    .. [1] A. Levin, D. Lischinski, Y. Weiss, "A Closed-Form Solution to
           Natural Image Matting", IEEE TPAMI 30(2), 2008.
    """
    p = _params(params, overrides)
    img = as_image(image, name="image", channels=3)
    t = as_trimap(trimap, img.shape[:2])
    w = None
    if prior_weight is not None:
        w = np.asarray(prior_weight, dtype=np.float64)
        if w.shape != img.shape[:2] or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError(f"prior_weight must be a finite, non-negative (H, W) array of the "
                             f"image's size {img.shape[:2]}, got shape {w.shape}")
        w = np.ascontiguousarray(w)[:, :, None]
    return _core.closed_form_matte(np.ascontiguousarray(img, dtype=np.float64),
                                   np.ascontiguousarray(t)[:, :, None],
                                   _map(prior_alpha, "prior_alpha"), p, w)
