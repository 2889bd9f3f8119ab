"""K-means as the reference uses it (SPEC.md steps 8-9).

``kmeans`` is Lloyd's algorithm with MATLAB ``kmeans`` semantics (squared
Euclidean distance, batch updates until no point moves, singleton empty
action, 'plus' / 'sample' / 'cluster' starts, replicates); ``splitting_kmeans``
is the cluster-splitting initialisation of constrained sparsification.
Deterministic for a given ``numpy.random.Generator`` state.
"""

from __future__ import annotations

import numpy as np

__all__ = ["kmeans", "splitting_kmeans"]


def _sqdist(X, C, x2=None):
    if x2 is None:
        x2 = np.einsum("ij,ij->i", X, X)
    d = x2[:, None] - 2.0 * (X @ C.T) + np.einsum("ij,ij->i", C, C)[None, :]
    np.maximum(d, 0.0, out=d)
    return d


def _lloyd(X, C, max_iter, x2=None):
    """Batch k-means from centres C. Returns labels, centres, distance matrix."""
    n, k = X.shape[0], C.shape[0]
    C = C.copy()
    labels = None
    for _ in range(max_iter):
        D = _sqdist(X, C, x2)
        new = np.argmin(D, axis=1)
        # singleton empty action: an empty cluster takes the point farthest
        # from its current centre
        counts = np.bincount(new, minlength=k)
        if (counts == 0).any():
            dmin = D[np.arange(n), new].copy()
            for j in np.flatnonzero(counts == 0):
                far = int(np.argmax(dmin))
                new[far] = j
                dmin[far] = -1.0
                C[j] = X[far]
            counts = np.bincount(new, minlength=k)
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        for d in range(X.shape[1]):
            C[:, d] = np.bincount(labels, weights=X[:, d], minlength=k) / np.maximum(counts, 1)
    D = _sqdist(X, C, x2)
    return labels, C, D


def _plus_start(X, k, rng, x2=None):
    n = X.shape[0]
    C = np.empty((k, X.shape[1]))
    C[0] = X[rng.integers(n)]
    dmin = _sqdist(X, C[:1], x2)[:, 0]
    for j in range(1, k):
        s = dmin.sum()
        idx = int(rng.choice(n, p=dmin / s)) if s > 0 else int(rng.integers(n))
        C[j] = X[idx]
        dmin = np.minimum(dmin, _sqdist(X, C[j:j + 1], x2)[:, 0])
    return C


def kmeans(X: np.ndarray, k: int, *, start="plus", replicates: int = 1, max_iter: int = 100,
           rng: np.random.Generator | int | None = 0):
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
    rng : numpy Generator or int seed, optional
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
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty (n, d) array, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or infinite values")
    n = X.shape[0]
    k = int(k)
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, n] = [1, {n}], got {k}")
    rng = np.random.default_rng(rng)
    x2 = np.einsum("ij,ij->i", X, X)
    best = None
    for _ in range(max(1, int(replicates))):
        if isinstance(start, np.ndarray):
            C0 = np.asarray(start, dtype=np.float64)
            if C0.shape != (k, X.shape[1]):
                raise ValueError(f"start centres must have shape {(k, X.shape[1])}")
        elif start == "plus":
            C0 = _plus_start(X, k, rng, x2)
        elif start == "sample":
            C0 = X[rng.choice(n, k, replace=False)]
        elif start == "cluster":
            m = int(np.floor(0.1 * n))
            if m < k:
                C0 = X[rng.choice(n, k, replace=False)]
            else:
                sub = X[rng.choice(n, m, replace=False)]
                _, C0, _ = _lloyd(sub, sub[rng.choice(m, k, replace=False)], max_iter)
        else:
            raise ValueError(f"unknown start {start!r}")
        labels, C, D = _lloyd(X, C0, max_iter, x2)
        total = D[np.arange(n), labels].sum()
        if best is None or total < best[0]:
            best = (total, labels, C, D)
    return best[1], best[2], best[3]


def splitting_kmeans(X: np.ndarray, k: int, *, start_clusters: int = 5, replicates: int = 7,
                     rerun_below: int = 13, max_iter: int = 100,
                     rng: np.random.Generator | int | None = 0) -> np.ndarray:
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
    rng : numpy Generator or int seed, optional

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
    X = np.asarray(X, dtype=np.float64)
    rng = np.random.default_rng(rng)
    n, d = X.shape
    k = int(k)
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, n] = [1, {n}], got {k}")
    k0 = min(k, start_clusters)
    idx, C, D = kmeans(X, k0, start="cluster", replicates=replicates, max_iter=max_iter, rng=rng)
    dmin = D.min(axis=1)  # distances of the last full run
    cache = {}  # cluster -> (score, sub labels, sub centres)
    for cnt in range(k0 + 1, k + 1):
        best = None
        for cl in range(cnt - 1):
            if cl not in cache:
                members = np.flatnonzero(idx == cl)
                if members.size > 2 * d:
                    sl, sc, sD = kmeans(X[members], 2, start="cluster", max_iter=max_iter, rng=rng)
                    score = dmin[members].sum() - sD.min(axis=1).sum()
                    cache[cl] = (score, members, sl, sc)
                else:
                    cache[cl] = (-2.0, members, None, None)
            score = cache[cl][0]
            if best is None or score > best[0]:
                best = (score, cl)
        if best is None or cache[best[1]][2] is None:
            raise ValueError(f"cannot split the features into {k} clusters (too few points)")
        _, cl = best
        _, members, sl, sc = cache.pop(cl)
        C = np.vstack([C, sc[1:2]])
        C[cl] = sc[0]
        idx = idx.copy()
        idx[members[sl == 1]] = cnt - 1
        if cnt < rerun_below:
            idx, C, D = kmeans(X, cnt, start=C, max_iter=max_iter, rng=rng)
            dmin = D.min(axis=1)
            cache.clear()
    return idx.astype(np.int32)
