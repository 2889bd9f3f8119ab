"""The photo's subject as a union of soft layers, for one-step cut-outs.

Soft segmentation splits a photo into regions; cutting out "the person" or
"the toy" means choosing which layers make it up, which the viewer and
:func:`sss.colors.composite` leave to the user. This module makes that choice
from the salient-object map (:func:`sss.saliency_map`, the same network as the
``"saliency"`` cue): a layer belongs to the subject when most of its alpha
lies where the map says "salient",

    score_k = sum_p a_k(p) m(p) / sum_p a_k(p),   subject = {k : score_k > threshold}.

For layers that are each all inside or all outside the subject this is the
union closest to the map in the L1 sense (a layer is worth adding exactly when
more than half of its alpha is salient). When the map is vague (its
:func:`sss.cues.cue_confidence` is below `min_confidence`: no single clear
subject, e.g. a landscape, a texture, a cat's face filling the frame) no layer
is chosen rather than a guess.

The cut-out itself is :func:`sss.colors.composite` of those layers: alpha is
their summed soft segment and colour their own estimated colour, so the
background's colour does not bleed into hair and other soft edges.

Measured on matting_dev (bench/README.md, "The subject chosen automatically",
``bench/bench_subject.py``): where the saliency network finds the whole
subject (5 of the 8 photos) the chosen layers are, in 14 of 15 runs, exactly
the union of layers closest to the true alpha; where it misses part of the
subject (the second troll's hair, a teddy bear's sweater) the cut-out misses
that part too, and on a photo where the map is vague nothing is chosen.

References
----------
.. [1] X. Qin et al., "U2-Net: Going deeper with nested U-structure for salient
       object detection", Pattern Recognition 106, 2020.
.. [2] Aksoy et al., "Semantic Soft Segmentation", SIGGRAPH 2018, Sec. 4.4.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float, as_image, check_unit_map
from .colors import normalize_alphas
from .cues import cue_confidence, saliency_map

__all__ = ["layer_saliency", "subject_layers", "SCORE_PIXELS"]

#: pixel budget of the scores: alphas and photo are shrunk (antialiased) to at
#: most this many pixels first; a mean over a whole layer does not need more
SCORE_PIXELS = 307_200


def _shrunk(image, alphas):
    from .colors import _resized_layers
    from .io import resize
    from .multilevel import working_shape

    h, w = working_shape(alphas.shape[:2], SCORE_PIXELS)
    if (h, w) == alphas.shape[:2]:
        return image, np.asarray(alphas)
    small_a = _resized_layers(alphas, h, w)  # normalised by layer_saliency
    small_i = None if image is None else np.clip(resize(image, h, w, method="bilinear"), 0, 1)
    return small_i, small_a


def layer_saliency(alphas: np.ndarray, saliency: np.ndarray) -> np.ndarray:
    """Mean of the salient-object map under each layer.

    Parameters
    ----------
    alphas : (H, W, K) ndarray
        Soft layers (normalised here: clipped to be non-negative, summing to one).
    saliency : (H, W) ndarray
        Values in [0, 1], e.g. :func:`sss.saliency_map` of the photo.

    Returns
    -------
    (K,) float64 ndarray
        ``sum_p a_k(p) m(p) / sum_p a_k(p)``; 0 for a layer with no alpha.
    """
    a = normalize_alphas(alphas)
    m = np.asarray(saliency, dtype=np.float64)
    if m.shape != a.shape[:2]:
        raise ValueError(f"saliency of shape {m.shape} does not match the alphas' "
                         f"{a.shape[0]} x {a.shape[1]} pixels")
    check_unit_map(m, "saliency")
    mass = a.sum(axis=(0, 1))
    weighted = np.tensordot(m, a, axes=([0, 1], [0, 1]))
    return np.where(mass > 0, weighted / np.maximum(mass, 1e-300), 0.0)


def subject_layers(alphas: np.ndarray, image: np.ndarray | None = None, *,
                   saliency: np.ndarray | None = None, threshold: float = 0.5,
                   min_confidence: float = 0.5, num_threads: int | None = None) -> list[int]:
    """The layers that make up the photo's salient subject.

    Parameters
    ----------
    alphas : (H, W, K) ndarray
        Soft layers of the photo.
    image : (H, W, 3) ndarray, optional
        The photo (values in [0, 1]); its salient-object map is computed
        (:func:`sss.saliency_map`, on a copy of at most :data:`SCORE_PIXELS`
        pixels). Give either `image` or `saliency`.
    saliency : (H, W) ndarray, optional
        A salient-object map in [0, 1] of the alphas' size, instead of the image.
    threshold : float, optional
        A layer is part of the subject when the mean of the map under it
        (:func:`layer_saliency`) exceeds this (0.5: more than half of its
        alpha is salient).
    min_confidence : float, optional
        No layer is chosen when the map's :func:`sss.cues.cue_confidence` is
        below this (0.5): the map then picks no single clear subject.
    num_threads : int, optional
        Threads of the saliency network (default all cores).

    Returns
    -------
    list of int
        Layer indices in increasing order; empty when the map has no clear
        subject or no layer is mostly salient.
    """
    threshold = as_float(threshold, "threshold", minimum=0.0, maximum=1.0)
    min_confidence = as_float(min_confidence, "min_confidence", minimum=0.0, maximum=1.0)
    a = np.asarray(alphas)
    if a.ndim != 3 or a.shape[2] < 1:
        raise ValueError(f"alphas must be an (H, W, K) array, got shape {a.shape}")
    if (image is None) == (saliency is None):
        raise ValueError("give either the photo (image=) or its salient-object map (saliency=)")
    img = None
    if saliency is None:
        img = as_image(image, name="image", channels=3, copy=False)
        if img.shape[:2] != a.shape[:2]:
            raise ValueError(f"image of {img.shape[0]} x {img.shape[1]} pixels does not match "
                             f"the alphas' {a.shape[0]} x {a.shape[1]}")
    return _subject_layers(a, img, saliency, threshold, min_confidence, num_threads)


def _subject_layers(a, img, saliency, threshold=0.5, min_confidence=0.5, num_threads=None):
    """:func:`subject_layers` of checked inputs; `a` may be a
    :class:`sss.colors.NormalizedLayers` (of the layers as given, the same choice)."""
    if saliency is None:
        img, a = _shrunk(img, a)
        saliency = saliency_map(img, num_threads=num_threads)
    if cue_confidence(saliency) < min_confidence:
        return []
    scores = layer_saliency(np.asarray(a), saliency)
    return [int(k) for k in np.flatnonzero(scores > threshold)]
