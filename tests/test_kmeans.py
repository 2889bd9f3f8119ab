"""The k-means kernels of the core (Lloyd, distances) and the kmeans module's
input checks. The splitting k-means and the grouping are also covered in
test_constrained.py."""

from __future__ import annotations

import numpy as np
import pytest

from sss import _core
from sss import kmeans as km
from sss.kmeans import kmeans, splitting_kmeans

from kmeans_numpy import NUMPY_BACKEND, lloyd_numpy


# ---------------------------------------------------------------- numpy reference
def reference_lloyd(X, C, max_iter):
    """Straightforward numpy Lloyd with the semantics documented in
    cpp/include/sss/kmeans.hpp. Returns a dict with the labels, centres,
    iterations, convergence flag, number of empty-cluster actions taken and
    the squared distances to the own and to the nearest final centre."""
    n, k = X.shape[0], C.shape[0]
    C = C.astype(np.float64).copy()

    def sqdist(C):
        D = np.zeros((n, k))
        for t in range(X.shape[1]):  # sum_t (x_t - c_t)^2 in coordinate order
            D += (X[:, t, None] - C[None, :, t]) ** 2
        return D

    labels, empties, iters, converged = None, 0, 0, False
    for _ in range(max_iter):
        iters += 1
        D = sqdist(C)
        new = np.argmin(D, axis=1)  # first minimum: ties to the lowest index
        dist = D[np.arange(n), new]
        counts = np.bincount(new, minlength=k)
        for j in np.flatnonzero(counts == 0):
            far = int(np.argmax(dist))
            src = new[far]
            if counts[src] < 2:
                src = int(np.flatnonzero(counts > 1)[0])
                far = int(np.flatnonzero(new == src)[0])
            new[far] = j
            dist[far] = -1.0
            counts[src] -= 1
            counts[j] += 1
            C[j] = X[far]
            empties += 1
        if labels is not None and np.array_equal(new, labels):
            converged = True
            break
        labels = new
        for t in range(X.shape[1]):
            C[:, t] = np.bincount(labels, weights=X[:, t], minlength=k) / np.maximum(counts, 1)
    D = sqdist(C)
    return dict(labels=labels, centers=C, iterations=iters, converged=converged,
                empties=empties, own=D[np.arange(n), labels], near=D.min(axis=1))


def core_lloyd(X, C, max_iter=100, num_threads=0):
    return _core.lloyd_kmeans(np.ascontiguousarray(X, dtype=np.float64),
                              np.ascontiguousarray(C, dtype=np.float64), max_iter, num_threads)


def assert_matches_reference(X, C0, max_iter=100):
    ref = reference_lloyd(X, C0, max_iter)
    labels, C, own, near, iters, converged = core_lloyd(X, C0, max_iter)
    np.testing.assert_array_equal(labels, ref["labels"])
    np.testing.assert_allclose(C, ref["centers"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(own, ref["own"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(near, ref["near"], rtol=0, atol=1e-12)
    assert (iters, converged) == (ref["iterations"], ref["converged"])
    return ref


# ---------------------------------------------------------------- Lloyd == reference
@pytest.mark.parametrize("n, d, k", [(500, 3, 5), (5000, 3, 12), (20000, 3, 40), (3001, 1, 4),
                                     (2000, 2, 7), (1500, 5, 6), (9000, 3, 2)])
def test_lloyd_equals_numpy_reference(rng, n, d, k):
    # clustered data (several blobs) so that the runs take several iterations
    centres = rng.random((max(k // 2, 1), d))
    X = centres[rng.integers(len(centres), size=n)] + 0.15 * rng.standard_normal((n, d))
    C0 = X[rng.choice(n, k, replace=False)]
    ref = assert_matches_reference(X, C0)
    assert ref["iterations"] > 3
    assert not assert_matches_reference(X, C0, max_iter=3)["converged"]  # stopped by max_iter


def test_lloyd_empty_cluster_takes_farthest_point(rng):
    X = rng.random((2000, 3))
    # centre 2 is far from every point and centre 4 duplicates centre 1 (ties
    # go to 1): both clusters are empty after the first assignment
    C0 = np.array([[0.2, 0.2, 0.2], [0.8, 0.8, 0.8], [50.0, 50.0, 50.0], [0.2, 0.8, 0.5],
                   [0.8, 0.8, 0.8]])
    assert assert_matches_reference(X, C0)["empties"] >= 2
    labels, C, *_ = core_lloyd(X, C0, max_iter=1)
    # after one iteration: each of the two empty clusters holds exactly the
    # point farthest from its assigned centre, taken in index order
    D = ((X[:, None, :] - C0[None]) ** 2).sum(axis=2)
    first = D.argmin(axis=1)
    dist = D[np.arange(len(X)), first]
    order = np.argsort(-dist, kind="stable")
    assert labels[order[0]] == 2 and labels[order[1]] == 4
    assert np.bincount(labels, minlength=5)[[2, 4]].tolist() == [1, 1]
    np.testing.assert_array_equal(C[2], X[order[0]])
    np.testing.assert_array_equal(C[4], X[order[1]])


def test_lloyd_empty_cluster_never_empties_a_singleton():
    # point 10 is the farthest from its centre but alone in cluster 1: cluster
    # 2 takes the first point of the first cluster with more than one member
    X = np.array([[0.0], [1.0], [2.0], [10.0]])
    C0 = np.array([[1.0], [14.0], [50.0]])
    labels, C, *_ = core_lloyd(X, C0, max_iter=1)
    assert labels.tolist() == [2, 0, 0, 1]
    np.testing.assert_array_equal(C, [[1.5], [10.0], [0.0]])
    assert_matches_reference(X, C0)
    labels, C, *_ = core_lloyd(X, C0)
    assert sorted(np.unique(labels)) == [0, 1, 2]


def test_lloyd_ties_go_to_the_lowest_index():
    # integer data: the distances are exact, points 1 and 3 are equidistant
    X = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [1.0, 0.0], [5.0, 5.0], [7.0, 5.0]])
    C0 = np.array([[2.0, 0.0], [0.0, 0.0], [6.0, 5.0]])
    labels, *_ = core_lloyd(X, C0, max_iter=1)
    assert labels.tolist() == [1, 0, 0, 0, 2, 2]
    assert_matches_reference(X, C0)
    # many exact ties in a grid, in every lane position of the vector kernel
    g = np.arange(7.0)
    X = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    C0 = np.array([[1.0, 1, 1], [3, 3, 3], [5, 5, 5], [3, 1, 5], [1, 5, 3]])
    assert_matches_reference(X, C0)
    nl, nd = _core.nearest_sqdist(X, C0, 0)
    D = ((X[:, None, :] - C0[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(nl, D.argmin(axis=1))
    np.testing.assert_array_equal(nd, D.min(axis=1))


def test_lloyd_does_not_depend_on_the_thread_count(rng):
    # large enough to run in parallel, not a multiple of the chunk size
    X = rng.random((70001, 3)) ** 2
    C0 = X[rng.choice(len(X), 9, replace=False)]
    runs = [core_lloyd(X, C0, 100, t) for t in (1, 2, 3)]
    for r in runs[1:]:
        np.testing.assert_array_equal(r[0], runs[0][0])
        for a, b in zip(r[1:4], runs[0][1:4]):
            assert np.array_equal(a, b)  # bitwise
        assert r[4] == runs[0][4]
    d1 = _core.nearest_sqdist(X, C0, 1)
    d2 = _core.nearest_sqdist(X, C0, 2)
    assert np.array_equal(d1[0], d2[0]) and np.array_equal(d1[1], d2[1])
    assert np.array_equal(_core.pairwise_sqdist(X, C0, 1), _core.pairwise_sqdist(X, C0, 2))


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_kernels_give_identical_results(rng, d):
    """The vector kernels (SSE2-sized, AVX) do the scalar operations lane by
    lane: bitwise the same results, including the group tails (n = 16 q + 7)."""
    kernels = _core.kmeans_kernels()
    assert "scalar" in kernels
    X = rng.random((16 * 300 + 7, d)) ** 3
    C0 = X[rng.choice(len(X), 11, replace=False)]
    runs = {kern: _core.lloyd_kmeans(X, C0, 100, 1, kern) for kern in kernels}
    near = {kern: _core.nearest_sqdist(X, C0, 1, kern) for kern in kernels}
    for kern in kernels:
        np.testing.assert_array_equal(runs[kern][0], runs["scalar"][0])
        for a, b in zip(runs[kern][1:4], runs["scalar"][1:4]):
            assert np.array_equal(a, b), kern
        assert runs[kern][4] == runs["scalar"][4]
        assert np.array_equal(near[kern][0], near["scalar"][0])
        assert np.array_equal(near[kern][1], near["scalar"][1])
    with pytest.raises(ValueError, match="kernel must be one of"):
        _core.lloyd_kmeans(X, C0, 100, 1, "avx512")


def test_distances_are_direct_sums_of_squares(rng):
    X = rng.random((1003, 3)) + 1e3  # the expansion |x|^2 - 2x.c + |c|^2 would lose digits
    C = X[:4] + 1e-6
    D = _core.pairwise_sqdist(X, C, 0)
    ref = np.zeros((len(X), 4))
    for t in range(3):
        ref += (X[:, t, None] - C[None, :, t]) ** 2
    np.testing.assert_array_equal(D, ref)
    labels, near = _core.nearest_sqdist(X, C, 0)
    np.testing.assert_array_equal(labels, ref.argmin(axis=1))
    np.testing.assert_array_equal(near, ref.min(axis=1))


# ---------------------------------------------------------------- Python layer
def test_kmeans_returns_labels_centres_and_all_distances(rng):
    X = rng.random((400, 3))
    labels, C, D = kmeans(X, 6, start="sample", seed=2)
    assert labels.dtype == np.intp and labels.shape == (400,)
    assert C.shape == (6, 3) and D.shape == (400, 6)
    np.testing.assert_allclose(D, ((X[:, None] - C[None]) ** 2).sum(axis=2), atol=1e-14)
    for j in range(6):
        np.testing.assert_allclose(C[j], X[labels == j].mean(axis=0), atol=1e-14)
    a = kmeans(X, 6, start="plus", replicates=3, seed=5)
    b = kmeans(X, 6, start="plus", replicates=3, seed=5)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))


def test_core_and_previous_numpy_implementation_agree(rng):
    """The core backend reproduces the previous pure numpy k-means (the
    benchmark baseline) exactly on data without near-ties."""
    X = rng.random((3000, 3))
    fast = splitting_kmeans(X, 15, seed=7)
    slow = km._splitting_kmeans(X, 15, 5, 7, 13, 100, np.random.default_rng(7),
                                backend=NUMPY_BACKEND)
    np.testing.assert_array_equal(fast, slow)
    C0 = X[:8].copy()
    labels, C, own, near = km._lloyd(X, C0, 100)
    l2, C2, D2 = lloyd_numpy(X, C0, 100)
    np.testing.assert_array_equal(labels, l2)
    np.testing.assert_allclose(C, C2, atol=1e-12)
    np.testing.assert_allclose(near, D2.min(axis=1), atol=1e-12)


def test_inputs_are_not_modified(rng):
    X = rng.random((300, 3))
    C0 = X[:4].copy()
    X_copy, C_copy = X.copy(), C0.copy()
    kmeans(X, 4, start=C0)
    splitting_kmeans(X, 6, seed=1)
    core_lloyd(X, C0)
    assert np.array_equal(X, X_copy) and np.array_equal(C0, C_copy)


@pytest.mark.parametrize("fn", [lambda X, k: kmeans(X, k),
                                lambda X, k: splitting_kmeans(X, k)])
def test_bad_input_raises(fn, rng):
    X = rng.random((50, 3))
    bad = X.copy()
    bad[7, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fn(bad, 3)
    bad[7, 1] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        fn(bad, 3)
    with pytest.raises(ValueError, match="shape"):
        fn(X.ravel(), 3)
    with pytest.raises(ValueError, match="shape"):
        fn(X.reshape(5, 10, 3), 3)
    with pytest.raises(ValueError, match="empty"):
        fn(np.zeros((0, 3)), 1)
    with pytest.raises(ValueError, match="empty"):
        fn(np.zeros((5, 0)), 1)
    with pytest.raises(ValueError, match="k must be"):
        fn(X, 51)
    with pytest.raises(ValueError, match="k must be"):
        fn(X, 0)
    with pytest.raises(TypeError, match="dtype"):
        fn(X.astype(str), 3)


def test_bad_parameters_raise(rng, monkeypatch):
    X = rng.random((50, 3))
    with pytest.raises(ValueError, match="start centres"):
        kmeans(X, 3, start=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="start centres.*NaN"):
        kmeans(X, 3, start=np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="unknown start"):
        kmeans(X, 3, start="random")
    with pytest.raises(ValueError, match="max_iter"):
        kmeans(X, 3, max_iter=0)
    with pytest.raises(ValueError, match="replicates"):
        kmeans(X, 3, replicates=0)
    with pytest.raises(ValueError, match="replicates"):
        splitting_kmeans(X, 3, replicates=0)
    with pytest.raises(ValueError, match="start_clusters"):
        splitting_kmeans(X, 3, start_clusters=0)
    monkeypatch.setenv("SSS_MEMORY_LIMIT", "1000")  # bytes; the (50, 3) distances need 1200
    with pytest.raises(MemoryError, match="kmeans distances"):
        kmeans(X, 3)


def test_core_rejects_bad_arrays(rng):
    X = rng.random((20, 3))
    C = X[:3].copy()
    with pytest.raises(ValueError, match="NaN"):
        bad = X.copy()
        bad[3, 0] = np.nan
        _core.lloyd_kmeans(bad, C, 10, 0)
    with pytest.raises(ValueError, match="centres contain NaN"):
        _core.lloyd_kmeans(X, np.full((3, 3), np.nan), 10, 0)
    with pytest.raises(ValueError, match="k = 21 centres for only 20 points"):
        _core.lloyd_kmeans(X, np.zeros((21, 3)), 10, 0)
    with pytest.raises(ValueError, match="coordinates"):
        _core.lloyd_kmeans(X, np.zeros((3, 2)), 10, 0)
    with pytest.raises(ValueError, match="max_iter"):
        _core.lloyd_kmeans(X, C, 0, 0)
    with pytest.raises(ValueError, match="empty"):
        _core.lloyd_kmeans(np.zeros((0, 3)), C, 10, 0)
    with pytest.raises(ValueError, match="no centres"):
        _core.nearest_sqdist(X, np.zeros((0, 3)), 0)
    with pytest.raises(TypeError, match="dtype"):
        _core.lloyd_kmeans(X.astype(np.float32), C, 10, 0)
    with pytest.raises(ValueError, match="C-contiguous"):
        _core.pairwise_sqdist(np.asfortranarray(X), C, 0)
    with pytest.raises(ValueError, match="dimensions"):
        _core.nearest_sqdist(X.ravel(), C, 0)
