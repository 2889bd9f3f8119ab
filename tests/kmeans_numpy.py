"""Pure numpy batch k-means with MATLAB kmeans semantics: the reference the
core's Lloyd iterations are tested against (tests/test_kmeans.py) and the
baseline of bench/bench_kmeans.py. Plugs into sss.kmeans as a backend."""

from __future__ import annotations

import numpy as np

from sss import kmeans as km

__all__ = ["lloyd_numpy", "NUMPY_BACKEND"]


def sqdist(X, C, x2=None):
    """n x k squared distances by the |x|^2 - 2 x.c + |c|^2 expansion (numpy baseline)."""
    if x2 is None:
        x2 = np.einsum("ij,ij->i", X, X)
    d = x2[:, None] - 2.0 * (X @ C.T) + np.einsum("ij,ij->i", C, C)[None, :]
    np.maximum(d, 0.0, out=d)
    return d


def lloyd_numpy(X, C, max_iter, x2=None):
    """Pure numpy batch k-means from centres C.

    Returns labels, centres, distance matrix.
    """
    n, k = X.shape[0], C.shape[0]
    C = C.copy()
    labels = None
    for _ in range(max_iter):
        D = sqdist(X, C, x2)
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
    D = sqdist(X, C, x2)
    return labels, C, D


def _numpy_lloyd(X, C, max_iter):
    labels, C, D = lloyd_numpy(X, C, max_iter, np.einsum("ij,ij->i", X, X))
    return labels, C, D[np.arange(X.shape[0]), labels], D.min(axis=1)


#: sss.kmeans backend (lloyd, nearest) computed with numpy
NUMPY_BACKEND = km._Backend(_numpy_lloyd, lambda X, C: sqdist(X, C).min(axis=1))
