"""Stages 8-9: constrained sparsification of the eigenvectors, and grouping.

``constrained_sparsify`` turns the smallest eigenvectors of the Laplacian into
many sparse soft layers (spectral matting's IRLS, initialised by a splitting
k-means on the semantic features); ``group_layers`` sums them into a few
layers by k-means on their mean features.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from . import _defaults as D
from . import _core
from ._validation import as_csr, as_float, as_image, as_int, as_threads, check_memory, \
    check_finite_result, check_symmetric
from .kmeans import kmeans, splitting_kmeans

__all__ = ["constrained_sparsify", "initial_labels", "group_layers", "structured_block_solve",
           "auto_sample_stride"]

#: Fewest pixels the sampled energy of constrained sparsification keeps with
#: ``sample_stride="auto"`` (256^2; the reference's own test image has 320^2).
AUTO_MIN_SAMPLES = 65536


#: Kernel of the weighted Gram matrices: "auto" lets the core take the fastest
#: available (AVX2, BLAS dsyrk or Eigen; they agree to rounding). Not a user
#: parameter; tests set it to run the stage with each kernel.
_GRAM_KERNEL = "auto"

def auto_sample_stride(shape, min_samples: int = AUTO_MIN_SAMPLES) -> int:
    """The largest stride s whose s x s sampling keeps >= `min_samples` pixels.

    1 (every pixel, as the reference) below 512 x 512 pixels, 2 at 640 x 480,
    4 at 1280 x 960.

    Parameters
    ----------
    shape : tuple (H, W)
        Image size in pixels.
    min_samples : int, optional
        Fewest sampled pixels (65536).

    Returns
    -------
    int
    """
    h, w = (int(v) for v in shape[:2])
    s = 1
    while _sample_count(h, w, s + 1) >= min_samples:
        s += 1
    return s


def _sample_count(h: int, w: int, s: int) -> int:
    """Pixels sampled with stride s: rows and columns s//2, s//2 + s, ..."""
    return len(range(min(s // 2, h - 1), h, s)) * len(range(min(s // 2, w - 1), w, s))


def structured_block_solve(B: np.ndarray, C: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve (blockdiag(B_1..B_{K-1}) + (1 1^T) kron C) y = b by its structure.

    With s = sum_k y_k, y_k = B_k^-1 (b_k - C s) and (I + S C) s =
    sum_k B_k^-1 b_k, S = sum_k B_k^-1: K-1 Cholesky factorisations of m x m
    blocks and one m x m LU instead of one dense (K-1) m solve.

    Parameters
    ----------
    B : (K-1, m, m) ndarray
        Symmetric positive definite diagonal blocks.
    C : (m, m) ndarray
        The block shared by every (i, j) pair.
    b : (K-1, m) ndarray
        Right-hand side, block k in row k.

    Returns
    -------
    y : (K-1, m) ndarray
    """
    B = np.asarray(B, dtype=np.float64)
    C = np.asarray(C, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if B.ndim != 3 or B.shape[1] != B.shape[2] or C.shape != B.shape[1:] or \
            b.shape != B.shape[:2]:
        raise ValueError(f"shapes must be B (K-1, m, m), C (m, m), b (K-1, m); got "
                         f"{B.shape}, {C.shape}, {b.shape}")
    Bh = np.ascontiguousarray(np.concatenate(list(B), axis=1)) if B.shape[0] else \
        np.zeros((C.shape[0], 0))
    y = _core.structured_block_solve(Bh, C, np.ascontiguousarray(b.T))
    return np.asarray(y).T


def initial_labels(features: np.ndarray, num_layers: int = D.INITIAL.num_layers, *,
                   start_clusters: int = D.KMEANS.start_clusters,
                   replicates: int = D.KMEANS.replicates,
                   rerun_below: int = D.KMEANS.rerun_below, seed=0) -> np.ndarray:
    """The k-means initialisation of constrained sparsification.

    Parameters
    ----------
    features : (H, W, D) ndarray
        Per-pixel semantic features (3-D after preprocessing).
    num_layers : int, optional
        Number of clusters (reference 40).
    start_clusters, replicates, rerun_below : int, optional
        Splitting k-means: initial clusters (5) and their replicates (7);
        full k-means re-runs while fewer than `rerun_below` (13) clusters.
    seed : int or numpy Generator, optional
        Random source of the k-means.

    Returns
    -------
    labels : (H, W) ndarray of int32, values 0..num_layers-1

    References
    ----------
    .. [1] A. Levin, A. Rav-Acha, D. Lischinski, "Spectral Matting",
           IEEE TPAMI 30(10), 2008.
    """
    feat = as_image(features, name="features", channels=None)
    h, w, d = feat.shape
    return splitting_kmeans(feat.reshape(-1, d), num_layers, start_clusters=start_clusters,
                            replicates=replicates, rerun_below=rerun_below,
                            seed=seed).reshape(h, w)


def constrained_sparsify(eigenvectors: np.ndarray, eigenvalues: np.ndarray, L, shape, *,
                         features: np.ndarray | None = None,
                         labels: np.ndarray | None = None,
                         num_layers: int = D.INITIAL.num_layers,
                         max_iter: int = D.CONSTRAINED.max_iter,
                         gamma: float = D.CONSTRAINED.gamma,
                         sparsity_weight: float = D.CONSTRAINED.sparsity_weight,
                         clamp: float = D.CONSTRAINED.clamp,
                         prune_threshold: float = D.CONSTRAINED.prune_threshold,
                         prune_every: int | None = None,
                         kmeans_start_clusters: int = D.KMEANS.start_clusters,
                         kmeans_replicates: int = D.KMEANS.replicates,
                         kmeans_rerun_below: int = D.KMEANS.rerun_below, seed=0,
                         num_threads: int | None = None,
                         sample_stride: int | str = 1,
                         return_info: bool = False):
    """Constrained sparsification: many sparse soft layers from the eigenvectors.

    Each layer is alpha_k = E y_k (E: the eigenvectors) for k < K and the last
    is 1 - sum of the others, so layers sum to 1. Starting from one-hot layers
    (k-means labels on the features), `max_iter` IRLS steps minimise

        sum_k y_k^T Lambda y_k + sum_{k,p} |alpha_kp|^gamma + |1 - alpha_kp|^gamma

    (Levin et al.'s spectral matting energy with the eigenvalue matrix as the
    smoothness term), with the weights
    e1 = w^gamma max(|alpha - 1|, clamp)^(gamma - 2) and
    e0 = w^gamma max(|alpha|, clamp)^(gamma - 2). Each step's coupled
    (K-1) m system is solved by its block structure
    (:func:`structured_block_solve`). After every ceil(max_iter/4) steps,
    layers whose max |alpha| is below `prune_threshold` are dropped.

    Parameters
    ----------
    eigenvectors : (N, m) ndarray
        Eigenvectors of L (columns), e.g. from :func:`sss.smallest_eigenvectors`.
    eigenvalues : (m,) ndarray
        Their eigenvalues.
    L : (N, N) sparse matrix
        The Laplacian (enters through E^T L 1, ~0 for a Laplacian).
    shape : tuple (H, W)
        Image size, H * W = N (pixel index row * W + col).
    features : (H, W, D) ndarray, optional
        Semantic features for the k-means initialisation (:func:`initial_labels`).
    labels : (H, W) integer ndarray, optional
        Initial labels 0..num_layers-1, used instead of the k-means.
    num_layers : int, optional
        Initial number of layers (40).
    max_iter : int, optional
        IRLS iterations (40).
    gamma : float, optional
        Sparsity exponent (0.8).
    sparsity_weight : float, optional
        w0 = w1 of the sparsity penalty (0.3).
    clamp : float, optional
        Lower clamp of |alpha| and |1 - alpha| in the weights (1e-10).
    prune_threshold : float, optional
        Layers with max |alpha| below it are dropped (0.1).
    prune_every : int, optional
        Pruning period (default ceil(max_iter / 4)).
    kmeans_start_clusters, kmeans_replicates, kmeans_rerun_below : int, optional
        Parameters of the splitting k-means initialisation (5, 7, 13), see
        :func:`initial_labels`.
    seed : int or numpy Generator, optional
        Random source of the k-means initialisation.
    num_threads : int, optional
        Threads (default all cores).
    sample_stride : int or "auto", optional
        1 (default): every pixel's sparsity term enters the energy, as in the
        reference. s > 1: only the centre pixel of every s x s block does,
        weighted by N / (number of samples): a quadrature of the same energy
        that costs ~s^2 times less (the Gram matrices below are the bulk of
        the work). The layers are still E y_k (+ constant) at every pixel and
        sum to 1. "auto" picks :func:`auto_sample_stride`: 1 for images below
        512 x 512 (so the reference's results are reproduced), 2 at
        640 x 480. On the reference's docia image at 320 x 320, s = 2 gives the
        same final layers as s = 1 (99.96% of pixels keep their strongest
        layer, mean |difference| 1.5e-4, in a run from the reference's
        eigenvectors), while s = 3 (11k samples) lost a layer; bench/README.md
        compares s = 2 with s = 1 at 640 x 480.
    return_info : bool, optional
        Also return a dict with ``labels`` (the initialisation), ``kept``
        (original index of each surviving layer), ``layer_counts`` (layers
        after each iteration), ``gram_kernel`` (the kernel used) and the wall
        time spent in its parts: ``seconds_gram``, ``seconds_solve`` and
        ``seconds_weights``.

    Returns
    -------
    layers : (H, W, K) ndarray, float64
        The surviving soft layers (K is typically 15-25 of 40).

    Notes
    -----
    The result is numerically chaotic in the first iterations (weights up to
    ~1e11 from the 1e-10 clamp): rounding differences change details and the
    number of surviving layers. See the oracle README.

    References
    ----------
    .. [1] A. Levin, A. Rav-Acha, D. Lischinski, "Spectral Matting", IEEE
           TPAMI 30(10), 2008, Eq. 9.
    .. [2] Aksoy et al., "Semantic Soft Segmentation", SIGGRAPH 2018, Sec. 3.4.
    """
    try:
        h, w = (as_int(s, "shape entries", minimum=1) for s in tuple(shape)[:2])
    except TypeError:
        raise TypeError(f"shape must be (H, W), got {shape!r}") from None
    n = h * w
    E = np.asarray(eigenvectors)
    for arr, what in ((E, "eigenvectors"), (np.asarray(eigenvalues), "eigenvalues")):
        if arr.dtype.kind not in "fiu":
            raise TypeError(f"{what} must be real numbers (float), got dtype {arr.dtype}; the "
                            "eigenvectors of a symmetric L are real")
    if not isinstance(eigenvectors, np.ndarray) or E.ndim != 2 or E.shape[0] != n:
        raise ValueError(f"eigenvectors must be an (N, m) array with N = {h}*{w} = {n}, got "
                         f"shape {getattr(eigenvectors, 'shape', None)}")
    E = np.ascontiguousarray(E, dtype=np.float64)
    ev = np.ascontiguousarray(np.asarray(eigenvalues, dtype=np.float64).ravel())
    if ev.shape[0] != E.shape[1]:
        raise ValueError(f"{E.shape[1]} eigenvectors but {ev.shape[0]} eigenvalues")
    if not (np.all(np.isfinite(E)) and np.all(np.isfinite(ev))):
        raise ValueError("eigenvectors/eigenvalues contain NaN or infinite values")
    Lc = as_csr(L, name="L", square=True)
    if Lc.shape[0] != n:
        raise ValueError(f"L is {Lc.shape[0]} x {Lc.shape[0]}, expected {n} x {n}")
    check_symmetric(Lc, "L")
    num_layers = as_int(num_layers, "num_layers", minimum=1)
    iterations = as_int(max_iter, "max_iter", minimum=0)
    gamma, weight, clamp = (as_float(v, name, minimum=0.0, strict_minimum=True) for name, v in
                            (("gamma", gamma), ("sparsity_weight", sparsity_weight),
                             ("clamp", clamp)))
    prune_threshold = as_float(prune_threshold, "prune_threshold", minimum=0.0)
    if prune_every is None:
        prune_every = math.ceil(int(iterations) / 4)
    if isinstance(sample_stride, str):
        if sample_stride != "auto":
            raise ValueError(f"sample_stride must be a positive integer or 'auto', got "
                             f"{sample_stride!r}")
        sample_stride = auto_sample_stride((h, w))
    elif isinstance(sample_stride, (bool, np.bool_)) or not isinstance(
            sample_stride, (int, np.integer)) or sample_stride < 1:
        raise ValueError(f"sample_stride must be a positive integer or 'auto', got "
                         f"{sample_stride!r}")
    prune_every = as_int(prune_every, "prune_every", minimum=0)
    m = E.shape[1]
    # E (row + column major), alpha, e0, e1, per-thread Gram blocks
    check_memory(8.0 * n * (2 * m + 4 * num_layers) + 8.0 * num_layers * m * m * 3,
                 "constrained_sparsify")
    if labels is None:
        if features is None:
            raise ValueError("give either features (for the k-means initialisation) or labels")
        feat = as_image(features, name="features", channels=None)
        if feat.shape[:2] != (h, w):
            raise ValueError(f"features must be {h} x {w}, got {feat.shape[:2]}")
        lab = initial_labels(feat, num_layers, start_clusters=kmeans_start_clusters,
                             replicates=kmeans_replicates, rerun_below=kmeans_rerun_below,
                             seed=seed)
    else:
        lab = np.asarray(labels)
        if lab.shape != (h, w) or lab.dtype.kind not in "iu":
            raise ValueError(f"labels must be an integer ({h}, {w}) array, got "
                             f"{lab.dtype} {lab.shape}")
        if lab.min() < 0 or lab.max() >= num_layers:
            raise ValueError(f"labels must lie in [0, {num_layers - 1}], got "
                             f"[{lab.min()}, {lab.max()}]")
    lab = np.ascontiguousarray(lab.astype(np.int32).ravel())
    nt = as_threads(num_threads)
    alphas, kept, counts, core_info = _core.constrained_sparsify(
        E, ev, Lc.data, Lc.indices, Lc.indptr, lab, num_layers, int(iterations), float(gamma),
        float(weight), float(clamp), float(prune_threshold), int(prune_every), nt, _GRAM_KERNEL,
        int(sample_stride), w)
    layers = check_finite_result(np.asarray(alphas).reshape(h, w, -1), "constrained_sparsify")
    if return_info:
        return layers, {"labels": lab.reshape(h, w), "kept": list(kept),
                        "layer_counts": list(counts), "sample_stride": int(sample_stride),
                        **dict(core_info)}
    return layers


def group_layers(layers: np.ndarray, features: np.ndarray, num_groups: int = 5, *,
                 group_ids: np.ndarray | None = None, seed=0, replicates: int = 1,
                 min_mass: float = 0.0, return_ids: bool = False):
    """Group soft layers by k-means on their alpha-weighted mean features (step 9).

    Layer i's feature is sum_p alpha_i(p) f(p) / sum_p alpha_i(p); k-means
    (k-means++ start) with `num_groups` clusters assigns each layer a group,
    and the layers of a group are summed.

    Parameters
    ----------
    layers : (H, W, K) ndarray
        Soft layers (e.g. from :func:`constrained_sparsify`).
    features : (H, W, D) ndarray
        Semantic features.
    num_groups : int, optional
        Number of output layers (5). If K <= num_groups every layer is its
        own group.
    group_ids : (K,) integer ndarray, optional
        Given assignment (0..num_groups-1) instead of the k-means.
    seed : int or numpy Generator, optional
        Random source of the k-means.
    replicates : int, optional
        k-means runs from different starts, the one with the lowest total
        distance kept (1, as the reference; the multilevel pipeline: 10).
    min_mass : float, optional
        Layers whose total alpha is below ``min_mass * H * W`` do not take
        part in the k-means (when more than `num_groups` layers remain) and
        join the group of the nearest centre: the mean feature of a
        near-empty layer is noise, and k-means would make such an outlier a
        group of its own, an empty output layer (0, as the reference; the
        multilevel pipeline: 0.005).
    return_ids : bool, optional
        Also return the group of each layer.

    Returns
    -------
    grouped : (H, W, G) ndarray, float64
        G = num_groups (or K if smaller); group g is the sum of its layers.

    References
    ----------
    .. [1] Aksoy et al., "Semantic Soft Segmentation", SIGGRAPH 2018, Sec. 3.4.
    """
    lay = as_image(layers, name="layers", channels=None)
    feat = as_image(features, name="features", channels=None)
    if feat.shape[:2] != lay.shape[:2]:
        raise ValueError("features and layers differ in size")
    k = lay.shape[2]
    num_groups = as_int(num_groups, "num_groups", minimum=1)
    if group_ids is None and k < num_groups:
        warnings.warn(f"group_layers: only {k} layers to group, fewer than num_groups="
                      f"{num_groups}; returning {k} layers", UserWarning, stacklevel=2)
    A = lay.reshape(-1, k)
    if group_ids is None:
        if k <= num_groups:
            ids = np.arange(k)
        else:
            F = feat.reshape(-1, feat.shape[2])
            sums = A.sum(axis=0)
            comp = (A.T @ F) / np.where(sums == 0, 1.0, sums)[:, None]
            min_mass = as_float(min_mass, "min_mass", minimum=0.0)
            big = np.flatnonzero(sums >= min_mass * A.shape[0]) if min_mass > 0 else np.arange(k)
            if num_groups < big.size < k:
                ids = np.empty(k, dtype=np.int64)
                ids[big], C, _ = kmeans(comp[big], num_groups, start="plus",
                                        replicates=replicates, seed=seed)
                small = np.setdiff1d(np.arange(k), big)
                ids[small] = _core.nearest_sqdist(np.ascontiguousarray(comp[small]), C)[0]
            else:
                ids, _, _ = kmeans(comp, num_groups, start="plus", replicates=replicates,
                                   seed=seed)
    else:
        ids = np.asarray(group_ids).ravel()
        if ids.shape != (k,) or ids.dtype.kind not in "iu" or ids.min() < 0 or \
                ids.max() >= num_groups:
            raise ValueError(f"group_ids must be {k} integers in [0, {num_groups - 1}]")
    g = int(ids.max()) + 1 if group_ids is None and k <= num_groups else num_groups
    grouped = np.zeros((lay.shape[0], lay.shape[1], g))
    for j in range(g):
        sel = np.flatnonzero(ids == j)
        if sel.size:
            grouped[:, :, j] = lay[:, :, sel].sum(axis=2)
    if return_ids:
        return grouped, np.asarray(ids)
    return grouped
