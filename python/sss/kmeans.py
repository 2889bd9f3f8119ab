"""K-means as the reference uses it (docs/algorithm.md, stages 8-9).

``kmeans`` is Lloyd's algorithm with MATLAB ``kmeans`` semantics (squared
Euclidean distance, batch updates until no point moves, singleton empty
action, 'plus' / 'sample' / 'cluster' starts, replicates); ``splitting_kmeans``
is the cluster-splitting initialisation of constrained sparsification.
Deterministic for a given ``numpy.random.Generator`` state.

The Lloyd iterations and point-to-centre distances run in the C++ core
(``sss._core.lloyd_kmeans``, ``nearest_sqdist``, ``pairwise_sqdist``:
distances computed directly as sum_j (x_j - c_j)^2, no n x k matrix, results
independent of the thread count).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from . import _defaults as D
from . import _core
from ._validation import as_int, as_points, check_memory

__all__ = ["kmeans", "splitting_kmeans"]


# ---------------------------------------------------------------- kernels
def _lloyd(X, C, max_iter, num_threads=None):
    """Batch k-means from centres C in the core (X validated, C-contiguous float64).

    Returns labels (int32), centres, the squared distance of every point to
    the final centre of its cluster and to the nearest final centre.
    """
    threads = 0 if num_threads is None else int(num_threads)
    labels, C, own, near, _, _ = _core.lloyd_kmeans(
        X, np.ascontiguousarray(C, dtype=np.float64), int(max_iter), threads)
    return labels, C, own, near


def _nearest_sqdist(X, C):
    """Squared distance of every point to the nearest row of C (core)."""
    return _core.nearest_sqdist(X, np.ascontiguousarray(C, dtype=np.float64), 0)[1]


class _Backend(NamedTuple):
    # lloyd(X, C, max_iter) -> labels, centres, own sqdist, nearest sqdist
    lloyd: Callable
    # nearest(X, C) -> squared distance of every point to its nearest row of C
    nearest: Callable


_CORE = _Backend(_lloyd, _nearest_sqdist)


# ---------------------------------------------------------------- k-means
def _plus_start(X, k, rng, nearest):
    n = X.shape[0]
    C = np.empty((k, X.shape[1]))
    C[0] = X[rng.integers(n)]
    dmin = nearest(X, C[:1])
    for j in range(1, k):
        s = dmin.sum()
        idx = int(rng.choice(n, p=dmin / s)) if s > 0 else int(rng.integers(n))
        C[j] = X[idx]
        dmin = np.minimum(dmin, nearest(X, C[j:j + 1]))
    return C


def _kmeans(X, k, start, replicates, max_iter, rng, backend=_CORE):
    """k-means on validated X: labels, centres, own and nearest squared distances."""
    n = X.shape[0]
    best = None
    for _ in range(replicates):
        if isinstance(start, np.ndarray):
            C0 = start
        elif start == "plus":
            C0 = _plus_start(X, k, rng, backend.nearest)
        elif start == "sample":
            C0 = X[rng.choice(n, k, replace=False)]
        elif start == "cluster":
            m = int(np.floor(0.1 * n))
            if m < k:
                C0 = X[rng.choice(n, k, replace=False)]
            else:
                sub = X[rng.choice(n, m, replace=False)]
                C0 = backend.lloyd(sub, sub[rng.choice(m, k, replace=False)], max_iter)[1]
        else:
            raise ValueError(f"unknown start {start!r}")
        labels, C, own, near = backend.lloyd(X, C0, max_iter)
        total = own.sum()
        if best is None or total < best[0]:
            best = (total, labels, C, own, near)
    return best[1:]


def _check_k(k, n):
    k = as_int(k, "k")
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, n] = [1, {n}], got {k}")
    return k


def _check_positive(value, name):
    return as_int(value, name, minimum=1)


def kmeans(X: np.ndarray, k: int, *, start="plus", replicates: int = 1, max_iter: int = 100,
           seed: np.random.Generator | int | None = 0):
    """Lloyd's k-means with MATLAB ``kmeans`` semantics.

    Parameters
    ----------
    X : (n, d) ndarray
        Points.
    k : int
        Number of clusters (<= n).
    start : {'plus', 'sample', 'cluster'} or (k, d) ndarray, optional
        Initial centres: k-means++ ('plus'), k random points ('sample'),
        a preliminary 'sample'-started run on a random 10% subsample
        ('cluster'), or given centres.
    replicates : int, optional
        Runs from different starts; the one with the lowest total distance
        is returned.
    max_iter : int, optional
        Maximum Lloyd iterations per run (MATLAB's default 100).
    seed : int or numpy Generator, optional
        Random source; fixed seed gives a deterministic result.

    Returns
    -------
    labels : (n,) ndarray of int
        Cluster index 0..k-1 of each point.
    centers : (k, d) ndarray
    distances : (n, k) ndarray
        Squared distance of every point to every final centre.

    References
    ----------
    .. [1] S. Lloyd, "Least squares quantization in PCM", IEEE TIT 28(2), 1982.
    .. [2] D. Arthur, S. Vassilvitskii, "k-means++: the advantages of careful
           seeding", SODA 2007.
    """
    X = as_points(X, name="X")
    n = X.shape[0]
    k = _check_k(k, n)
    max_iter = _check_positive(max_iter, "max_iter")
    replicates = _check_positive(replicates, "replicates")
    if isinstance(start, np.ndarray):
        start = as_points(start, name="start centres")
        if start.shape != (k, X.shape[1]):
            raise ValueError(f"start centres must have shape {(k, X.shape[1])}, "
                             f"got {start.shape}")
    elif not isinstance(start, str) or start not in ("plus", "sample", "cluster"):
        raise ValueError(f"unknown start {start!r}")
    check_memory(8.0 * n * k, "kmeans distances")
    rng = np.random.default_rng(seed)
    labels, C, _, _ = _kmeans(X, k, start, replicates, max_iter, rng)
    return labels.astype(np.intp), C, _core.pairwise_sqdist(X, C, 0)


def splitting_kmeans(X: np.ndarray, k: int, *, start_clusters: int = D.KMEANS.start_clusters,
                     replicates: int = D.KMEANS.replicates,
                     rerun_below: int = D.KMEANS.rerun_below,
                     max_iter: int = D.KMEANS.max_iter,
                     seed: np.random.Generator | int | None = 0) -> np.ndarray:
    """Cluster-splitting k-means: the initialisation of constrained sparsification.

    Starts with `start_clusters` clusters (k-means, 'cluster' start,
    `replicates` replicates), then adds one cluster at a time: every cluster
    with more than 2d points is tentatively split by 2-means and the split
    that lowers the total squared distance most is kept; while the number of
    clusters is below `rerun_below`, a full k-means restarted from the current
    centres follows. As in the reference, the gain of a split is measured
    against the point distances of the last full k-means run.

    Parameters
    ----------
    X : (n, d) ndarray
        Points (the per-pixel 3-D semantic features).
    k : int
        Final number of clusters (reference: 40).
    start_clusters, replicates, rerun_below, max_iter : int, optional
        Reference values 5, 7, 13 and 100.
    seed : int or numpy Generator, optional

    Returns
    -------
    labels : (n,) ndarray of int32
        Cluster index 0..k-1 per point.

    References
    ----------
    .. [1] A. Levin, A. Rav-Acha, D. Lischinski, "Spectral Matting",
           IEEE TPAMI 30(10), 2008 (the splitting initialisation).
    .. [2] Aksoy et al., "Semantic Soft Segmentation", SIGGRAPH 2018, Sec. 3.4.
    """
    X = as_points(X, name="X")
    k = _check_k(k, X.shape[0])
    start_clusters = _check_positive(start_clusters, "start_clusters")
    replicates = _check_positive(replicates, "replicates")
    max_iter = _check_positive(max_iter, "max_iter")
    return _splitting_kmeans(X, k, start_clusters, replicates, int(rerun_below), max_iter,
                             np.random.default_rng(seed))


def _splitting_kmeans(X, k, start_clusters, replicates, rerun_below, max_iter, rng,
                      backend=_CORE):
    """splitting_kmeans on validated arguments, with the given Lloyd backend."""
    d = X.shape[1]
    k0 = min(k, start_clusters)
    idx, C, _, dmin = _kmeans(X, k0, "cluster", replicates, max_iter, rng, backend)
    # dmin: distances of the last full run
    cache = {}  # cluster -> (score, members, sub labels, sub centres)
    for cnt in range(k0 + 1, k + 1):
        best = None
        for cl in range(cnt - 1):
            if cl not in cache:
                members = np.flatnonzero(idx == cl)
                if members.size > 2 * d:
                    sl, sc, _, snear = _kmeans(X[members], 2, "cluster", 1, max_iter, rng,
                                               backend)
                    score = dmin[members].sum() - snear.sum()
                    cache[cl] = (score, members, sl, sc)
                else:
                    cache[cl] = (-2.0, members, None, None)
            score = cache[cl][0]
            if best is None or score > best[0]:
                best = (score, cl)
        if best is None or cache[best[1]][2] is None:
            raise ValueError(
                f"cannot split the {X.shape[0]} feature points into k={k} clusters (k is "
                f"initial.num_layers in sss.segment, num_layers in sss.constrained_sparsify): after "
                f"{cnt - 1} clusters none can be split further (a cluster needs more than "
                f"{2 * d} points); use k <= {cnt - 1} or a larger image")
        _, cl = best
        _, members, sl, sc = cache.pop(cl)
        C = np.vstack([C, sc[1:2]])
        C[cl] = sc[0]
        idx = idx.copy()
        idx[members[sl == 1]] = cnt - 1
        if cnt < rerun_below:
            idx, C, _, dmin = _kmeans(X, cnt, C, 1, max_iter, rng, backend)
            cache.clear()
    return idx.astype(np.int32)
