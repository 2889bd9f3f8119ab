"""Stage 3 (matting affinity, Laplacian) against the authors' numbers and
against properties that must hold on any image."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import sss
from conftest import oracle_csr


def _dense_reference(img, eps=1e-7, r=1):
    """Straightforward O(windows * |w|^2) dense affinity, for small images."""
    h, w, _ = img.shape
    n = h * w
    wsz = (2 * r + 1) ** 2
    W = np.zeros((n, n))
    for cy in range(r, h - r):
        for cx in range(r, w - r):
            ys, xs = np.mgrid[cy - r:cy + r + 1, cx - r:cx + r + 1]
            idx = (ys * w + xs).ravel()
            X = img[ys, xs].reshape(-1, 3)
            mu = X.mean(0)
            cov = X.T @ X / wsz - np.outer(mu, mu) + eps / wsz * np.eye(3)
            D = X - mu
            W[np.ix_(idx, idx)] += (1 + D @ np.linalg.inv(cov) @ D.T) / wsz
    return (W + W.T) / 2


# ---------------------------------------------------------------- oracle
def test_matting_affinity_equals_reference(docia_inputs, docia_laplacian):
    """W equals the authors' W_matting: same pattern, max abs diff <= 1e-6.

    The oracle's README explains that 3x3 covariances with condition numbers
    up to 2e6 make any two implementations differ by ~1e-7 (entries reach 8.75).
    """
    img = docia_inputs["image"]
    h, w, _ = img.shape
    W = sss.matting_affinity(img)
    ref = oracle_csr(docia_laplacian, "W_matting", h, w)
    assert W.shape == ref.shape == (h * w, h * w)
    assert W.nnz == ref.nnz
    np.testing.assert_array_equal(W.indptr, ref.indptr)
    np.testing.assert_array_equal(W.indices, ref.indices)
    diff = np.abs(W.data - ref.data).max()
    assert diff <= 1e-6, diff


def test_laplacian_of_reference_affinity_matches_reference_L(docia_inputs, docia_laplacian):
    """laplacian_from_affinity on the oracle's total affinity gives its L."""
    h, w, _ = docia_inputs["image"].shape
    Wt = (oracle_csr(docia_laplacian, "W_matting", h, w)
          + 0.01 * oracle_csr(docia_laplacian, "W_semantic", h, w)
          + 0.01 * oracle_csr(docia_laplacian, "W_color", h, w))
    L = sss.laplacian_from_affinity(Wt)
    Lref = oracle_csr(docia_laplacian, "L", h, w)
    assert abs(L - Lref).max() <= 1e-12


# ---------------------------------------------------------------- properties
def test_matches_dense_reference_on_random_image(rng):
    img = rng.random((7, 9, 3))
    W = sss.matting_affinity(img, eps=1e-3)
    np.testing.assert_allclose(W.toarray(), _dense_reference(img, eps=1e-3), atol=1e-10)


def test_radius_two_matches_dense_reference(rng):
    img = rng.random((8, 7, 3))
    W = sss.matting_affinity(img, radius=2, eps=1e-2)
    np.testing.assert_allclose(W.toarray(), _dense_reference(img, eps=1e-2, r=2), atol=1e-10)


def test_constant_image():
    """On a constant image every window has zero covariance, so each pixel
    pair gets 1/9 per shared window: W_ij = (#shared windows) / 9."""
    img = np.full((6, 5, 3), 0.4)
    W = sss.matting_affinity(img).toarray()
    h, w = 6, 5
    expect = np.zeros((h * w, h * w))
    for cy in range(1, h - 1):
        for cx in range(1, w - 1):
            idx = [(cy + dy) * w + cx + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
            expect[np.ix_(idx, idx)] += 1 / 9
    np.testing.assert_allclose(W, expect, atol=1e-12)


def test_two_colour_image_separates_the_colours():
    """Across a sharp edge between two colours the affinity is ~0 (or
    negative); inside each side it is positive."""
    img = np.zeros((8, 8, 3))
    img[:, :4] = [0.9, 0.1, 0.1]
    img[:, 4:] = [0.1, 0.2, 0.9]
    W = sss.matting_affinity(img)
    w = 8
    same = W[3 * w + 2, 3 * w + 3]
    across = W[3 * w + 3, 3 * w + 4]
    assert same > 0.1
    assert across < 1e-3 * same


def test_symmetric_and_laplacian_rows_sum_to_zero(rng):
    img = rng.random((12, 10, 3)).astype(np.float32)
    W = sss.matting_affinity(img)
    assert (W != W.T).nnz == 0
    L = sss.laplacian_from_affinity(W)
    assert np.abs(np.asarray(L.sum(axis=1))).max() < 1e-10
    assert (L != L.T).nnz == 0
    # Laplacian of a symmetric W is positive semidefinite up to the small
    # negative contributions the matting kernel can have: check x^T L x = sum w (xi-xj)^2 / 2
    x = rng.standard_normal(L.shape[0])
    Wc = W.tocoo()
    quad = 0.5 * np.sum(Wc.data * (x[Wc.row] - x[Wc.col]) ** 2)
    assert np.isclose(x @ (L @ x), quad, rtol=1e-9)


def test_uint8_is_scaled_and_float_dtypes_agree(rng):
    img8 = rng.integers(0, 256, size=(9, 11, 3), dtype=np.uint8)
    W8 = sss.matting_affinity(img8)
    W64 = sss.matting_affinity(img8 / 255.0)
    W32 = sss.matting_affinity((img8 / 255.0).astype(np.float32))
    assert abs(W8 - W64).max() == 0
    assert abs(W32 - W64).max() < 1e-3 * abs(W64).max()


def test_non_contiguous_input_is_accepted_and_not_modified(rng):
    big = rng.random((10, 16, 3))
    view = big[:, ::2]
    before = view.copy()
    W = sss.matting_affinity(view)
    np.testing.assert_array_equal(view, before)
    assert abs(W - sss.matting_affinity(np.ascontiguousarray(view))).max() == 0


def test_laplacian_inserts_missing_diagonal_and_keeps_input():
    W = sp.csr_matrix(np.array([[0, 2.0, 0], [2.0, 0, 1.0], [0, 1.0, 0]]))
    before = W.copy()
    L = sss.laplacian_from_affinity(W)
    np.testing.assert_array_equal(L.toarray(), [[2, -2, 0], [-2, 3, -1], [0, -1, 1]])
    assert (W != before).nnz == 0 and W.nnz == before.nnz


def test_threads_give_identical_results(rng):
    img = rng.random((20, 17, 3))
    W1 = sss.matting_affinity(img, num_threads=1)
    W2 = sss.matting_affinity(img, num_threads=2)
    assert abs(W1 - W2).max() == 0


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad, exc, match", [
    (np.zeros((8, 8)), ValueError, "shape"),
    (np.zeros((8, 8, 4)), ValueError, "channels"),
    (np.zeros((8, 8, 1)), ValueError, "channels"),
    (np.zeros((2, 8, 3)), ValueError, "smaller"),
    (np.zeros((0, 8, 3)), ValueError, "empty"),
    (np.zeros((8, 8, 3), dtype=np.int64), TypeError, "dtype"),
    (np.zeros((8, 8, 3), dtype=bool), TypeError, "dtype"),
    (np.zeros((8, 8, 3), dtype=complex), TypeError, "dtype"),
    ([[[0.0, 0.0, 0.0]]], TypeError, "numpy array"),
])
def test_bad_images_raise_clear_errors(bad, exc, match):
    with pytest.raises(exc, match=match):
        sss.matting_affinity(bad)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_rejected(value):
    img = np.zeros((6, 6, 3))
    img[2, 3, 1] = value
    with pytest.raises(ValueError, match=r"NaN or infinite.*\(2, 3, 1\)"):
        sss.matting_affinity(img)


def test_bad_parameters():
    img = np.zeros((6, 6, 3))
    with pytest.raises(ValueError, match="radius"):
        sss.matting_affinity(img, radius=0)
    with pytest.raises(ValueError, match="eps"):
        sss.matting_affinity(img, eps=np.nan)
    with pytest.raises(ValueError, match="num_threads"):
        sss.matting_affinity(img, num_threads=0)


def test_too_large_for_memory_raises_memory_error(monkeypatch):
    monkeypatch.setenv("SSS_MEMORY_LIMIT", "1000000")
    with pytest.raises(MemoryError, match="matting_affinity needs about"):
        sss.matting_affinity(np.zeros((200, 200, 3)))


def test_core_rejects_wrong_arrays_instead_of_crashing():
    """The C++ layer itself raises (never crashes) on arrays the Python layer
    would have converted: C++ exceptions become Python exceptions."""
    from sss import _core
    with pytest.raises(TypeError, match="dtype"):
        _core.matting_affinity(np.zeros((5, 5, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        _core.matting_affinity(np.zeros((5, 10, 3))[:, ::2])
    with pytest.raises(ValueError, match="smaller than one"):
        _core.matting_affinity(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match="channels"):
        _core.matting_affinity(np.zeros((5, 5, 2)))
    with pytest.raises(ValueError, match="indptr"):
        _core.laplacian_from_affinity(np.zeros(1), np.zeros(1, np.int32),
                                      np.zeros(5, np.int32), 3, 3)


def test_laplacian_bad_input():
    with pytest.raises(ValueError, match="square"):
        sss.laplacian_from_affinity(sp.csr_matrix((3, 4)))
    with pytest.raises(TypeError, match="scipy.sparse"):
        sss.laplacian_from_affinity([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="NaN"):
        sss.laplacian_from_affinity(sp.csr_matrix(np.array([[0, np.nan], [np.nan, 0]])))


def test_core_rejects_malformed_csr():
    from sss import _core
    data = np.ones(2)
    with pytest.raises(ValueError, match="out of range"):
        _core.laplacian_from_affinity(data, np.array([0, 7], np.int32),
                                      np.array([0, 1, 2], np.int32), 2, 2)
    with pytest.raises(ValueError, match="sorted"):
        _core.laplacian_from_affinity(data, np.array([1, 0], np.int32),
                                      np.array([0, 2, 2], np.int32), 2, 2)
