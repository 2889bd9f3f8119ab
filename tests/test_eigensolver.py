"""Stage 7 (smallest eigenvectors) against the authors' eigs and on small
matrices with known spectra."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import sss
from conftest import load_reference, oracle_csr


def _grid_laplacian(h, w):
    """4-connected grid graph Laplacian (eigenvalues known in closed form)."""
    def path(n):
        return sp.diags([-np.ones(n - 1), np.r_[1, 2 * np.ones(n - 2), 1], -np.ones(n - 1)],
                        [-1, 0, 1])
    return sp.csr_matrix(sp.kron(path(h), sp.eye(w)) + sp.kron(sp.eye(h), path(w)))


def _grid_eigs(h, w):
    a = 2 - 2 * np.cos(np.pi * np.arange(h) / h)
    b = 2 - 2 * np.cos(np.pi * np.arange(w) / w)
    return np.sort((a[:, None] + b[None, :]).ravel())


# ---------------------------------------------------------------- oracle
@pytest.mark.parametrize("method", ["lanczos", "block"])
def test_docia_eigenpairs_match_reference(docia_laplacian, method):
    """Eigenvalues within 1e-8 abs, subspace principal-angle cosines >= 1 - 1e-6,
    residuals |Lv - lambda v| <= 1e-8 (the oracle's eigenvectors are float32, so
    the subspace comparison is limited by their rounding, ~1e-7); both methods."""
    ref = load_reference("eigs.npz")
    L = oracle_csr(docia_laplacian, "L", 320, 320)
    vals, vecs, info = sss.smallest_eigenvectors(L, 100, method=method, return_info=True)
    assert info["method"] == method
    assert vals.shape == (100,) and vecs.shape == (102400, 100)
    assert np.all(np.diff(vals) >= 0)
    assert np.abs(vals - ref["eigenvalues"]).max() <= 1e-8
    V = ref["eigenvectors"].astype(np.float64).reshape(320, 320, 100, order="F").reshape(-1, 100)
    q1, _ = np.linalg.qr(vecs)
    q2, _ = np.linalg.qr(V)
    cosines = np.linalg.svd(q1.T @ q2, compute_uv=False)
    assert cosines.min() >= 1 - 1e-6
    assert np.abs(L @ vecs - vecs * vals).max() <= 1e-8
    assert np.abs(vecs.T @ vecs - np.eye(100)).max() <= 1e-10
    assert info["shift"] < ref["eigenvalues"].min()
    assert info["backend"] in ("cholmod", "eigen-ldlt")


# ---------------------------------------------------------------- properties
METHODS = pytest.mark.parametrize("method", ["lanczos", "block"])


@METHODS
def test_grid_laplacian_known_spectrum(method):
    """Includes repeated eigenvalues (the 12 x 12 grid is symmetric)."""
    for h, w in ((12, 9), (12, 12)):
        L = _grid_laplacian(h, w)
        vals, vecs = sss.smallest_eigenvectors(L, 10, method=method)
        np.testing.assert_allclose(vals, _grid_eigs(h, w)[:10], atol=1e-10)
        assert np.abs(L @ vecs - vecs * vals).max() < 1e-9
        assert np.abs(vecs.T @ vecs - np.eye(10)).max() < 1e-10


def test_block_method_options_and_restarts():
    """Small bases force thick restarts; every block size gives the spectrum."""
    L = _grid_laplacian(15, 14)
    ref = _grid_eigs(15, 14)[:12]
    for ncv, bs in ((16, 2), (20, 3), (40, 1), (60, 7)):
        vals, vecs, info = sss.smallest_eigenvectors(L, 12, method="block", ncv=ncv,
                                                     block_size=bs, return_info=True)
        np.testing.assert_allclose(vals, ref, atol=1e-10)
        # guarantee: ||L v - lambda v|| <= tol ||L - sigma I|| (<= tol (||L||_inf + |sigma|))
        assert info["residual"] <= 1e-10 * (abs(L).sum(axis=1).max() + abs(info["shift"]))
        assert info["residual"] == pytest.approx(
            np.linalg.norm(L @ vecs - vecs * vals, axis=0).max(), rel=1e-3, abs=1e-14)
        if ncv == 16:
            assert info["restarts"] >= 1
    with pytest.raises(ValueError, match="method"):
        sss.smallest_eigenvectors(L, 3, method="arpack")
    with pytest.raises(ValueError, match="block_size"):
        sss.smallest_eigenvectors(L, 3, method="block", block_size=0)
    with pytest.raises(ValueError, match="ncv"):
        sss.smallest_eigenvectors(L, 12, method="block", ncv=13)
    with pytest.raises(RuntimeError, match="did not converge"):
        sss.smallest_eigenvectors(L, 12, method="block", ncv=16, block_size=2,
                                  max_restarts=1, tol=1e-15)


@pytest.mark.parametrize("bs, ncv", [(4, 20), (8, 40), (3, 30), (2, 20)])
def test_block_method_breakdown_with_multiple_eigenvalues(bs, ncv):
    """Three distinct eigenvalues: the block Krylov space becomes invariant after
    three steps (a breakdown) while holding fewer than the 5 eigenvectors of the
    smallest eigenvalue; random directions must extend it to find all of them."""
    L = sp.diags(np.r_[np.ones(5), 2 * np.ones(20), 3 * np.ones(35)]).tocsr()
    vals, vecs = sss.smallest_eigenvectors(L, 8, method="block", block_size=bs, ncv=ncv)
    np.testing.assert_allclose(vals, [1, 1, 1, 1, 1, 2, 2, 2], atol=1e-12)
    assert np.abs(L @ vecs - vecs * vals).max() < 1e-12
    assert np.abs(vecs.T @ vecs - np.eye(8)).max() < 1e-12


@METHODS
def test_indefinite_matrix_shift_moves_below_spectrum(method):
    """A Laplacian minus 0.05 I has eigenvalues down to -0.05: the automatic
    shift must move below them (more than one factorisation) and still return
    the algebraically smallest eigenpairs."""
    L = _grid_laplacian(10, 10) - 0.05 * sp.eye(100)
    vals, vecs, info = sss.smallest_eigenvectors(L, 6, method=method, return_info=True)
    np.testing.assert_allclose(vals, _grid_eigs(10, 10)[:6] - 0.05, atol=1e-10)
    assert info["shift"] < -0.05
    assert info["factorizations"] > 1


@METHODS
def test_matches_dense_eigh_on_random_symmetric_matrix(rng, method):
    A = sp.random(60, 60, density=0.1, random_state=1)
    A = sp.csr_matrix(A + A.T + 5 * sp.eye(60))
    vals, vecs = sss.smallest_eigenvectors(A, 5, method=method)
    ref = np.linalg.eigvalsh(A.toarray())[:5]
    np.testing.assert_allclose(vals, ref, atol=1e-10)


@METHODS
def test_deterministic_and_input_not_modified(method):
    L = _grid_laplacian(8, 11)
    before = L.copy()
    v1, x1 = sss.smallest_eigenvectors(L, 5, method=method)
    v2, x2 = sss.smallest_eigenvectors(L, 5, method=method)
    assert np.array_equal(v1, v2) and np.array_equal(x1, x2)
    assert (L != before).nnz == 0


def test_explicit_shift():
    L = _grid_laplacian(9, 9)
    vals, _, info = sss.smallest_eigenvectors(L, 4, shift=-0.5, return_info=True)
    np.testing.assert_allclose(vals, _grid_eigs(9, 9)[:4], atol=1e-10)
    assert info["shift"] == -0.5


# ---------------------------------------------------------------- bad input
def test_bad_input():
    L = _grid_laplacian(5, 5)
    with pytest.raises(ValueError, match="square"):
        sss.smallest_eigenvectors(sp.csr_matrix((4, 5)), 2)
    with pytest.raises(ValueError, match="k must be"):
        sss.smallest_eigenvectors(L, 0)
    with pytest.raises(ValueError, match="k must be"):
        sss.smallest_eigenvectors(L, 25)
    with pytest.raises(ValueError, match="ncv"):
        sss.smallest_eigenvectors(L, 5, ncv=5)
    with pytest.raises(ValueError, match="tol"):
        sss.smallest_eigenvectors(L, 5, tol=0)
    with pytest.raises(ValueError, match="shift"):
        sss.smallest_eigenvectors(L, 5, shift=np.nan)
    with pytest.raises(ValueError, match="NaN"):
        bad = L.copy().astype(float)
        bad.data[0] = np.nan
        sss.smallest_eigenvectors(bad, 3)
    with pytest.raises(TypeError, match="scipy.sparse"):
        sss.smallest_eigenvectors([[1.0, 0.0], [0.0, 1.0]], 1)


def test_singular_explicit_shift_raises_runtime_error():
    """A shift exactly at an eigenvalue of a diagonal matrix makes the
    factorisation fail: a RuntimeError, not a crash."""
    D = sp.csr_matrix(sp.diags(np.arange(1.0, 21.0)))
    with pytest.raises(RuntimeError, match="factorisation"):
        sss.smallest_eigenvectors(D, 3, shift=1.0)


def test_memory_error(monkeypatch):
    monkeypatch.setenv("SSS_MEMORY_LIMIT", "1000")
    with pytest.raises(MemoryError, match="smallest_eigenvectors"):
        sss.smallest_eigenvectors(_grid_laplacian(10, 10), 5)
