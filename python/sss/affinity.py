"""Stages 4-6: semantic and non-local colour affinities, and the Laplacian.

``semantic_affinity(labels, features)`` (docs/algorithm.md, stage 4) and
``color_affinity(labels, image)`` (step 5) are N x N sparse matrices over the
N pixels whose only entries sit at superpixel centroid pixels.
``affinity_laplacian(image, features)`` (step 6) combines them with the
matting affinity into the Laplacian whose eigenvectors the pipeline uses.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from . import _defaults as D
from . import _core
from ._validation import as_float, as_image, as_int, check_memory, from_core_csr
from .superpixels import _threads, as_labels

__all__ = ["semantic_affinity", "color_affinity", "affinity_laplacian", "pairs_within_radius"]


def semantic_affinity(labels: np.ndarray, features: np.ndarray, steepness: float = D.SEMANTIC.steepness,
                      center: float = D.SEMANTIC.center, *,
                      connectivity: int = D.SEMANTIC.connectivity) -> sp.csr_matrix:
    """Semantic affinity W_S between adjacent superpixels.

    For every pair of touching superpixels s < t with mean features f_s, f_t:

        w = erf(steepness * ((1 - ||f_s - f_t||) - center)),

    a value in [-1, 1] (negative values push the two apart). It is placed at
    (c_s, c_t), the centroid pixels of the two superpixels (entries that land
    on the same pixel pair are summed), and W_S = W + W^T. Exact zeros are
    not stored. With the reference's centroids all distinct there is nothing
    on the diagonal.

    Parameters
    ----------
    labels : (H, W) integer ndarray
        Superpixel labels 0 .. K-1, each present (e.g. from
        :func:`sss.superpixels`).
    features : (H, W, D) ndarray
        Per-pixel semantic features (the pipeline uses D = 3 features scaled
        to [0, 1]).
    steepness : float, optional
        a_s, the slope of the erf.
    center : float, optional
        Feature similarity 1 - ||f_s - f_t|| at which the affinity is 0. The
        reference uses 0.85 (the paper's text says b_s = 0.2 on the distance,
        the code's effective value is 0.15).
    connectivity : {8, 4}, optional
        Pixel neighbourhood that makes superpixels adjacent (reference: 8).

    Returns
    -------
    W_S : (N, N) scipy.sparse.csr_matrix, float64
        N = H * W, pixel (row, col) has index ``row * W + col``. Symmetric,
        sorted indices.

    Raises
    ------
    TypeError, ValueError
        For bad labels (wrong shape or dtype, negative or non-consecutive),
        features of the wrong size or with NaN / inf values.

    References
    ----------
    .. [1] Y. Aksoy, T.-H. Oh, S. Paris, M. Pollefeys, W. Matusik, "Semantic
           Soft Segmentation", ACM TOG 37(4) (SIGGRAPH), 2018, Sec. 3.3, Eq. 4.
    """
    steepness, center = _finite(steepness, "steepness"), _finite(center, "center")
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity}")
    feat = as_image(features, name="features", channels=None)
    lab = as_labels(labels, feat.shape[:2], shape_of="features")
    return from_core_csr(_core.semantic_affinity(lab, feat, steepness, center, int(connectivity)))


def color_affinity(labels: np.ndarray, image: np.ndarray, steepness: float = D.COLOR.steepness,
                   center: float = D.COLOR.center, radius: float = D.COLOR.radius, *,
                   num_threads: int | None = None) -> sp.csr_matrix:
    """Non-local colour affinity W_C between nearby superpixels.

    For every superpixel pair s < t whose centroids are within `radius` of
    each other, distances measured on (row / H, col / W) (1-based rows and
    columns, as the reference), with mean colours c_s, c_t:

        w = (erf(steepness * ((1 - ||c_s - c_t||) - center)) + 1) / 2,

    a value in [0, 1]. It is placed at the centroid pixels (c_s, c_t),
    W_C = W + W^T, exact zeros are not stored. The pairs are found with a
    uniform grid of cell size `radius`, not by looping over all pairs.

    Parameters
    ----------
    labels : (H, W) integer ndarray
        Superpixel labels 0 .. K-1, each present.
    image : (H, W, 3) ndarray
        RGB image, nominally in [0, 1] (uint8 / uint16 are scaled).
    steepness : float, optional
        a_c, the slope of the erf.
    center : float, optional
        Colour similarity 1 - ||c_s - c_t|| at which the affinity is 1/2
        (b_c = 1 - center = 0.05 in the paper's terms).
    radius : float, optional
        Largest normalised centroid distance of a pair (fraction of the image
        height / width).
    num_threads : int, optional
        Threads to use; default all available. The result does not depend on it.

    Returns
    -------
    W_C : (N, N) scipy.sparse.csr_matrix, float64
        Symmetric, sorted indices, pixel index ``row * W + col``.

    Raises
    ------
    TypeError, ValueError
        For bad labels or images (see :func:`semantic_affinity`).
    MemoryError
        If the pairs would not fit in the available memory (about 64 bytes
        per pair; the number of pairs grows as K^2 radius^2).

    References
    ----------
    .. [1] Y. Aksoy et al., "Semantic Soft Segmentation", SIGGRAPH 2018,
           Sec. 3.3, Eq. 5.
    """
    steepness, center = _finite(steepness, "steepness"), _finite(center, "center")
    radius = as_float(radius, "radius", minimum=0.0)
    img = as_image(image, name="image", channels=3)
    lab = as_labels(labels, img.shape[:2], shape_of="image")
    k = int(lab.max()) + 1
    # expected pairs: K^2 / 2 times the share of the unit square within the radius
    pairs = 0.5 * k * k * min(1.0, np.pi * radius * radius)
    check_memory(64 * pairs + 16 * lab.size, "color_affinity")
    return from_core_csr(_core.color_affinity(lab, img, steepness, center, radius,
                                              _threads(num_threads)))


def pairs_within_radius(points: np.ndarray, radius: float, *,
                        num_threads: int | None = None) -> np.ndarray:
    """All pairs of points closer than `radius`, found with a uniform grid.

    Parameters
    ----------
    points : (n, 2) array_like
        Point coordinates (e.g. normalised centroid row, col).
    radius : float
        Pairs (i, j) with ``||p_i - p_j|| <= radius`` are returned.

    Returns
    -------
    pairs : (M, 2) ndarray of int32
        (i, j) with i < j, sorted lexicographically.

    References
    ----------
    .. [1] J. L. Bentley, D. F. Stanat, E. H. Williams, "The complexity of
           finding fixed-radius near neighbors", Inf. Proc. Letters 6(6), 1977.
    """
    pts = np.array(points, dtype=np.float64, order="C", copy=True)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {pts.shape}")
    if not np.all(np.isfinite(pts)):
        raise ValueError("points contain NaN or infinite values")
    radius = as_float(radius, "radius", minimum=0.0)
    pairs = _core.pairs_within_radius(pts, radius, _threads(num_threads))
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    return pairs[order]


def affinity_laplacian(image: np.ndarray, features: np.ndarray, labels: np.ndarray | None = None,
                       *, semantic_weight: float = D.AFFINITY.semantic_weight,
                       color_weight: float = D.AFFINITY.color_weight,
                       semantic_steepness: float = D.SEMANTIC.steepness,
                       semantic_center: float = D.SEMANTIC.center,
                       color_steepness: float = D.COLOR.steepness,
                       color_center: float = D.COLOR.center, color_radius: float = D.COLOR.radius,
                       matting_radius: int = D.MATTING.radius, matting_eps: float = D.MATTING.eps,
                       n_segments: int = D.SLIC.n_segments,
                       compactness: float = D.SLIC.compactness,
                       normalized: bool = D.AFFINITY.normalized,
                       return_affinities: bool = False, num_threads: int | None = None):
    """The Laplacian of the combined affinity of semantic soft segmentation.

    Computes W = W_L + semantic_weight * W_S + color_weight * W_C from the
    matting affinity W_L (:func:`sss.matting_affinity`), the semantic
    affinity W_S (:func:`semantic_affinity`) and the non-local colour
    affinity W_C (:func:`color_affinity`), and returns the unnormalised
    Laplacian L = D - W, D = diag(W 1), as the reference implementation does
    (docs/algorithm.md, stage 6), or with ``normalized=True`` the paper's normalised form
    D^-1/2 (D - W) D^-1/2 (Eq. 3).

    Parameters
    ----------
    image : (H, W, 3) ndarray
        RGB image, nominally in [0, 1] (uint8 / uint16 are scaled).
    features : (H, W, D) ndarray
        Per-pixel semantic features (3-D, preprocessed, in the pipeline).
    labels : (H, W) integer ndarray, optional
        Superpixel labels 0 .. K-1. Computed with :func:`sss.superpixels`
        (`n_segments`, `compactness`) when not given.
    semantic_weight, color_weight : float, optional
        Weights of W_S and W_C (the reference's 0.01 each).
    semantic_steepness, semantic_center : float, optional
        erf parameters of the semantic affinity (20, 0.85).
    color_steepness, color_center, color_radius : float, optional
        erf parameters and centroid radius of the colour affinity
        (50, 0.95, 0.2).
    matting_radius : int, optional
        Matting window radius in pixels (1: 3x3 windows).
    matting_eps : float, optional
        Matting regulariser (divided by the window size, as the reference).
    n_segments, compactness : optional
        Superpixel parameters, used only when `labels` is None.
    normalized : bool, optional
        Return the normalised Laplacian instead of the reference's D - W.
    return_affinities : bool, optional
        Also return a dict with ``labels``, ``matting``, ``semantic``,
        ``color`` (the three affinities) and ``affinity`` (their weighted sum).
    num_threads : int, optional
        Threads to use; default all available cores.

    Returns
    -------
    L : (N, N) scipy.sparse.csr_matrix, float64
        Symmetric, pixel index ``row * W + col``. Rows sum to zero up to
        rounding (unnormalised form).
    parts : dict
        Only with ``return_affinities=True``.

    Raises
    ------
    TypeError, ValueError
        For bad images, features, labels or parameters.
    MemoryError
        If the matrices would not fit in the available memory.

    References
    ----------
    .. [1] Y. Aksoy, T.-H. Oh, S. Paris, M. Pollefeys, W. Matusik, "Semantic
           Soft Segmentation", ACM TOG 37(4) (SIGGRAPH), 2018, Eq. 3-6.
    .. [2] A. Levin, D. Lischinski, Y. Weiss, "A Closed-Form Solution to
           Natural Image Matting", IEEE TPAMI 30(2), 2008.
    """
    params = _core.AffinityParams(
        superpixels=_core.SlicParams(n_segments=as_int(n_segments, "n_segments", minimum=1),
                                     compactness=as_float(compactness, "compactness",
                                                          minimum=0.0)),
        matting=_core.MattingParams(radius=as_int(matting_radius, "matting_radius", minimum=1),
                                    eps=as_float(matting_eps, "matting_eps", minimum=0.0)),
        semantic=_core.SemanticParams(steepness=_finite(semantic_steepness, "semantic_steepness"),
                                      center=_finite(semantic_center, "semantic_center")),
        color=_core.ColorParams(steepness=_finite(color_steepness, "color_steepness"),
                                center=_finite(color_center, "color_center"),
                                radius=as_float(color_radius, "color_radius", minimum=0.0)),
        semantic_weight=_finite(semantic_weight, "semantic_weight"),
        color_weight=_finite(color_weight, "color_weight"), normalized=bool(normalized))
    img = as_image(image, name="image", channels=3, min_size=2 * params.matting.radius + 1)
    feat = as_image(features, name="features", channels=None)
    if feat.shape[:2] != img.shape[:2]:
        raise ValueError(f"features of {feat.shape[0]} x {feat.shape[1]} pixels do not match "
                         f"the image's {img.shape[0]} x {img.shape[1]}")
    lab = None if labels is None else as_labels(labels, img.shape[:2])
    n = img.shape[0] * img.shape[1]
    # the three affinities (~25, ~0.1 and ~1 nonzeros a row) and L
    check_memory(12.0 * n * 60 * (2 if return_affinities else 1), "affinity_laplacian")
    L, used, terms = _core.image_laplacian(img, feat, lab, params, _threads(num_threads),
                                           bool(return_affinities))
    L = from_core_csr(L)
    if return_affinities:
        W_L, W_S, W_C = (from_core_csr(t) for t in terms)
        W = _weighted_sum((W_L, W_S, W_C), (1.0, params.semantic_weight, params.color_weight))
        return L, {"labels": used, "matting": W_L, "semantic": W_S, "color": W_C,
                   "affinity": W}
    return L


def _parts(mats):
    return [(m.data, m.indices, m.indptr, m.shape[0], m.shape[1]) for m in mats]


def _weighted_sum(mats, weights) -> sp.csr_matrix:
    """sum_i weights[i] * mats[i] for the canonical CSR matrices made by the
    core (no validation copy), accumulated in list order, zeros dropped."""
    return from_core_csr(_core.weighted_sum(_parts(mats), [float(w) for w in weights]))


def _finite(value, name: str) -> float:
    return as_float(value, name)
