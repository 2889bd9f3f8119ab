"""Stage 7 (smallest eigenvectors) against the authors' eigs and on small
matrices with known spectra."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import sss
from sss import _core
from sss.eigensolver import grid_nested_dissection
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
@pytest.mark.parametrize("image_shape", [None, (320, 320)])
@pytest.mark.parametrize("method", ["lanczos", "block"])
def test_docia_eigenpairs_match_reference(docia_laplacian, method, image_shape):
    """Eigenvalues within 1e-8 abs, subspace principal-angle cosines >= 1 - 1e-6,
    residuals |Lv - lambda v| <= 1e-8 (the oracle's eigenvectors are float32, so
    the subspace comparison is limited by their rounding, ~1e-7); both methods,
    with CHOLMOD's default ordering and with the grid nested dissection
    (image_shape), which changes only rounding."""
    ref = load_reference("eigs.npz")
    L = oracle_csr(docia_laplacian, "L", 320, 320)
    vals, vecs, info = sss.smallest_eigenvectors(L, 100, method=method, shape=image_shape,
                                                 return_info=True)
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


def test_docia_ordering_is_a_nested_dissection(docia_laplacian):
    """On the authors' Laplacian (reach 2, ~2600 long-range centroid pixels):
    a permutation whose top-level split (columns 0-158 | 159-160 | 161-319)
    has no entry of L between its two halves, and whose separator is the band
    plus far fewer centroid pixels than there are."""
    L = oracle_csr(docia_laplacian, "L", 320, 320)
    perm = grid_nested_dissection(L, (320, 320))
    _check_permutation(perm, 320 * 320)
    sep = _check_split(L, perm, 320, cut=159, reach=2, split_cols=True)
    n_long = int(_long_pixels(L, 320, 2).sum())
    assert n_long > 1000
    assert 2 * 320 < sep < 2 * 320 + n_long / 2


# ---------------------------------------------------------------- ordering
def _stencil_laplacian(h, w, reach=2):
    """Laplacian of the grid graph joining pixels within +-reach rows and
    columns (the pattern of the matting Laplacian for reach 2)."""
    r, c = np.divmod(np.arange(h * w), w)
    rows, cols = [], []
    for dr in range(-reach, reach + 1):
        for dc in range(-reach, reach + 1):
            if dr == dc == 0:
                continue
            ok = (r + dr >= 0) & (r + dr < h) & (c + dc >= 0) & (c + dc < w)
            p = np.flatnonzero(ok)
            rows.append(p)
            cols.append(p + dr * w + dc)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    Wm = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(h * w, h * w))
    return sp.csr_matrix(sp.diags(np.asarray(Wm.sum(axis=1)).ravel()) - Wm)


def _add_edges(L, pairs, weight=0.5):
    i, j = np.array(pairs).T
    Wm = sp.csr_matrix((np.full(i.size, weight), (i, j)), shape=L.shape)
    Wm = Wm + Wm.T
    return sp.csr_matrix(L + sp.diags(np.asarray(Wm.sum(axis=1)).ravel()) - Wm)


def _long_pixels(L, w, reach):
    C = sp.coo_matrix(L)
    d = np.maximum(abs(C.row // w - C.col // w), abs(C.row % w - C.col % w))
    long = np.zeros(L.shape[0], bool)
    long[C.row[d > reach]] = True
    return long


def _check_permutation(perm, n):
    assert perm.dtype == np.int32 and perm.shape == (n,)
    assert np.array_equal(np.sort(perm), np.arange(n))


def _check_split(L, seg, w, cut, reach, split_cols):
    """`seg` (a segment of a permutation) orders a rectangle split at line
    `cut` (columns if split_cols, else rows): local pixels before the band,
    then after it, then the band; no entry of L joins the two halves. Returns
    the separator size."""
    line = seg % w if split_cols else seg // w
    local = ~_long_pixels(L, w, reach)[seg]
    first, band, second = line < cut, (line >= cut) & (line < cut + reach), line >= cut + reach
    pos = np.arange(seg.size)
    m1 = pos[local & second].min()
    m2 = pos[local & band].min()
    assert pos[local & first].max() < m1 and pos[local & second].max() < m2
    half1, half2 = seg[:m1], seg[m1:m2]
    assert sp.csr_matrix(L)[half1][:, half2].nnz == 0
    return seg.size - m2


def test_grid_nested_dissection_separators():
    """A 20 x 31 reach-2 grid with long-range edges: a permutation; the top
    split (columns 0-13 | 14-15 | 16-30) and the first half's split (rows 0-8 |
    9-10 | 11-19) have no edge between their halves; the long-range edges
    across the top split are covered by 2 pixels (a minimum vertex cover)."""
    h, w = 20, 31
    L = _stencil_laplacian(h, w)
    a1, a2, b1, b2, b3 = 5 * w + 3, 15 * w + 6, 4 * w + 25, 12 * w + 28, 17 * w + 20
    c1, c2 = 2 * w + 1, 18 * w + 11  # both in the first half: split at its rows 9-10
    L = _add_edges(L, [(a1, b1), (a1, b2), (a1, b3), (a2, b1), (c1, c2)])
    perm = grid_nested_dissection(L, (h, w))
    _check_permutation(perm, h * w)
    assert _check_split(L, perm, w, cut=14, reach=2, split_cols=True) == 2 * h + 2
    # the first half is the prefix up to the first local pixel of the second
    assert _check_split(L, perm[:np.flatnonzero(perm % w >= 16)[0]], w, cut=9, reach=2,
                        split_cols=False) == 2 * 14 + 1
    # without long-range edges every separator is exactly a band
    L0 = _stencil_laplacian(h, w)
    perm0 = grid_nested_dissection(L0, (h, w))
    _check_permutation(perm0, h * w)
    assert _check_split(L0, perm0, w, cut=14, reach=2, split_cols=True) == 2 * h
    # reach 1 (4- or 8-neighbour grids): one-line bands; leaves of any size
    L1 = _grid_laplacian(13, 8)
    for leaf in (1, 16, 200):
        perm1 = grid_nested_dissection(L1, (13, 8, 3), leaf_size=leaf)
        _check_permutation(perm1, 13 * 8)
    assert np.array_equal(perm1, np.arange(13 * 8))  # one leaf: row by row
    perm1 = grid_nested_dissection(L1, (13, 8), leaf_size=1)
    assert _check_split(L1, perm1, 8, cut=6, reach=1, split_cols=False) == 8
    assert np.array_equal(grid_nested_dissection(L, (h, w)), perm)  # deterministic


def test_grid_nested_dissection_bad_input():
    L = _grid_laplacian(5, 6)
    with pytest.raises(ValueError, match="30 pixels but L is 30 x 30|has 36 pixels"):
        grid_nested_dissection(L, (6, 6))
    with pytest.raises(ValueError, match="square"):
        grid_nested_dissection(sp.csr_matrix((6, 5)), (2, 3))
    with pytest.raises(ValueError, match="leaf_size"):
        grid_nested_dissection(L, (5, 6), leaf_size=0)
    with pytest.raises(ValueError, match="shape"):
        grid_nested_dissection(L, (30,))


@pytest.mark.parametrize("threads", [1, 2])
def test_shift_solve_op_block_solves(threads):
    """Block solves shared between threads (the elimination tree's halves,
    odd column counts included) agree with column-by-column solves to
    rounding and solve the system, with and without the grid ordering;
    repeated solves are bitwise equal."""
    h, w = 30, 41
    L = _add_edges(_stencil_laplacian(h, w), [(3 * w + 2, 25 * w + 37), (10 * w + 5, 12 * w + 30)])
    L.sort_indices()
    X = np.asfortranarray(np.random.default_rng(7).standard_normal((h * w, 17)))
    for shape in ((0, 0), (h, w)):
        op = _core.ShiftSolveOp(L.data, L.indices.astype(np.int32), L.indptr.astype(np.int32),
                                h * w, *shape)
        assert (op.stats["ordering"] == "grid-nd") == (shape[0] > 0 and
                                                       op.stats["backend"] == "cholmod")
        assert op.try_set_shift(-0.01)
        op.set_solve_threads(1)
        ref = np.column_stack([op.solve(X[:, [j]])[:, 0] for j in range(X.shape[1])])
        np.testing.assert_allclose(L @ ref + 0.01 * ref, X, atol=1e-10)
        op.set_solve_threads(threads)
        for cols in (1, 2, 4, 7, 9, 16, 17):
            Y = op.solve(X[:, :cols])
            assert np.abs(Y - ref[:, :cols]).max() <= 1e-12 * np.abs(ref).max()
            np.testing.assert_allclose(L @ Y + 0.01 * Y, X[:, :cols], atol=1e-10)
            assert np.array_equal(Y, op.solve(X[:, :cols]))
        # a new shift refactorises: the solves follow it
        assert op.try_set_shift(-0.02)
        Y = op.solve(X[:, :9])
        np.testing.assert_allclose(L @ Y + 0.02 * Y, X[:, :9], atol=1e-10)


def test_split_tree_solve_does_not_depend_on_threads():
    """The split-tree solve does the same arithmetic on 1 and 2 threads, and
    its sequential top (the first separator) is a small part of the factor."""
    h, w = 48, 40
    L = _stencil_laplacian(h, w)
    L.sort_indices()
    op = _core.ShiftSolveOp(L.data, L.indices.astype(np.int32), L.indptr.astype(np.int32),
                            h * w, h, w)
    if op.stats["backend"] != "cholmod":
        pytest.skip("the split-tree solve needs the CHOLMOD backend")
    assert op.stats["split_tree_top"] == -1.0  # not factorised yet
    assert op.try_set_shift(-0.01)
    assert 0.0 < op.stats["split_tree_top"] < 0.5
    X = np.asfortranarray(np.random.default_rng(3).standard_normal((h * w, 16)))
    op.set_solve_threads(1)
    Y1 = op.solve(X)
    op.set_solve_threads(2)
    assert np.array_equal(Y1, op.solve(X))


@pytest.mark.parametrize("case", ["forest", "tiny", "diagonal"])
def test_block_solves_on_unusual_elimination_trees(case):
    """Block solves are right whatever the factor's elimination tree looks
    like: several trees (a block-diagonal matrix), a matrix smaller than a
    supernode, a diagonal matrix (every column its own root)."""
    def chain(n):
        return sp.diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1])
    L = {"forest": sp.block_diag([chain(50), chain(70), chain(3)]), "tiny": chain(3),
         "diagonal": 2.0 * sp.identity(10)}[case]
    L = sp.csr_matrix(L)
    L.sort_indices()
    n = L.shape[0]
    X = np.asfortranarray(np.random.default_rng(1).standard_normal((n, 5)))
    op = _core.ShiftSolveOp(L.data, L.indices.astype(np.int32), L.indptr.astype(np.int32), n)
    assert op.try_set_shift(-0.01)
    for threads in (1, 2):
        op.set_solve_threads(threads)
        Y = op.solve(X)
        np.testing.assert_allclose(L @ Y + 0.01 * Y, X, atol=1e-12)


# ---------------------------------------------------------------- properties
METHODS = pytest.mark.parametrize("method", ["lanczos", "block"])


@METHODS
@pytest.mark.parametrize("with_shape", [False, True])
def test_grid_laplacian_known_spectrum(method, with_shape):
    """Includes repeated eigenvalues (the 12 x 12 grid is symmetric); with and
    without the grid ordering."""
    for h, w in ((12, 9), (12, 12)):
        L = _grid_laplacian(h, w)
        vals, vecs = sss.smallest_eigenvectors(L, 10, method=method,
                                               shape=(h, w) if with_shape else None)
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


def test_bad_image_shape():
    L = _grid_laplacian(5, 6)
    for bad in ((6, 6), (5, 5), (30, 2), (-5, -6), (0, 30), (30,), (5, 6, 3, 1)):
        with pytest.raises(ValueError, match="shape"):
            sss.smallest_eigenvectors(L, 3, shape=bad)
    for bad in ((5.0, 6), ("5", "6"), 30, (True, 30)):
        with pytest.raises(TypeError, match="shape"):
            sss.smallest_eigenvectors(L, 3, shape=bad)
    vals, _ = sss.smallest_eigenvectors(L, 3, shape=np.array([5, 6, 3]))  # (H, W, C)
    np.testing.assert_allclose(vals, _grid_eigs(5, 6)[:3], atol=1e-10)


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
