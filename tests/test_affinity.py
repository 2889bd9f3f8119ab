"""Stages 4-6 (semantic and colour affinities, Laplacian) against the authors'
numbers, against a brute-force re-derivation, and on bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import erf

import sss
from sss.affinity import pairs_within_radius
from conftest import oracle_csr


def _brute_force(labels, values, kind, steepness, center, radius=0.2):
    """Straight re-derivation of the reference: loops over all label pairs,
    scipy's COO -> CSR sums duplicates, then W + W^T."""
    h, w = labels.shape
    k = labels.max() + 1
    rows, cols = np.indices(labels.shape)
    cnt = np.bincount(labels.ravel())
    cr = np.floor(np.bincount(labels.ravel(), rows.ravel()) / cnt + 0.5).astype(int)
    cc = np.floor(np.bincount(labels.ravel(), cols.ravel()) / cnt + 0.5).astype(int)
    means = np.stack([np.bincount(labels.ravel(), values[..., c].ravel()) / cnt
                      for c in range(values.shape[2])], 1)
    if kind == "semantic":
        pairs = set()
        for y in range(h):
            for x in range(w):
                for dy, dx in [(0, 1), (1, 0), (1, 1), (1, -1)]:
                    yy, xx = y + dy, x + dx
                    if yy < h and 0 <= xx < w and labels[y, x] != labels[yy, xx]:
                        a, b = labels[y, x], labels[yy, xx]
                        pairs.add((min(a, b), max(a, b)))
        pairs = sorted(pairs)
    else:
        def dist(s, t):
            dy = (cr[s] + 1) / h - (cr[t] + 1) / h
            dx = (cc[s] + 1) / w - (cc[t] + 1) / w
            return np.sqrt(dy * dy + dx * dx)
        pairs = [(s, t) for s in range(k) for t in range(s + 1, k) if dist(s, t) <= radius]
    I, J, V = [], [], []
    for s, t in pairs:
        aff = 1 - np.linalg.norm(means[s] - means[t])
        v = erf(steepness * (aff - center))
        if kind == "color":
            v = (v + 1) / 2
        I.append(cr[s] * w + cc[s]); J.append(cr[t] * w + cc[t]); V.append(v)
    W = sp.csr_matrix((V, (I, J)), shape=(h * w, h * w))
    W = (W + W.T).tocsr()
    W.eliminate_zeros()
    return W


# ---------------------------------------------------------------- oracle
def test_semantic_and_color_affinities_equal_reference(docia_inputs, docia_laplacian):
    lab = docia_inputs["superpixel_labels"] - 1
    h, w = lab.shape
    for name, W in [("W_semantic", sss.semantic_affinity(lab, docia_inputs["features"])),
                    ("W_color", sss.color_affinity(lab, docia_inputs["image"]))]:
        ref = oracle_csr(docia_laplacian, name, h, w)
        assert W.shape == ref.shape == (h * w, h * w)
        assert W.nnz == ref.nnz, name
        np.testing.assert_array_equal(W.indptr, ref.indptr)
        np.testing.assert_array_equal(W.indices, ref.indices)
        assert np.abs(W.data - ref.data).max() <= 1e-12, name
        assert W.diagonal().any() == ref.diagonal().any() == False  # noqa: E712
    assert sss.semantic_affinity(lab, docia_inputs["features"]).nnz == 2 * 7977


def test_affinity_laplacian_equals_reference(docia_inputs, docia_laplacian):
    lab = docia_inputs["superpixel_labels"] - 1
    h, w = lab.shape
    L, parts = sss.affinity_laplacian(docia_inputs["image"], docia_inputs["features"], lab,
                                      return_affinities=True)
    ref = oracle_csr(docia_laplacian, "L", h, w)
    assert L.nnz == ref.nnz == 2_833_912
    np.testing.assert_array_equal(L.indptr, ref.indptr)
    np.testing.assert_array_equal(L.indices, ref.indices)
    assert np.abs(L.data - ref.data).max() <= 1e-6
    np.testing.assert_array_equal(parts["labels"], lab)
    assert (L != L.T).nnz == 0
    assert np.abs(np.asarray(L.sum(axis=1))).max() < 1e-12


# ---------------------------------------------------------------- properties
def _small_case(rng, shape=(24, 30), n=40):
    img = rng.random(shape + (3,)) * 0.3
    img[:, shape[1] // 2:] += 0.6
    feat = rng.random(shape + (3,))
    return img, feat, sss.superpixels(img, n_segments=n)


@pytest.mark.parametrize("steepness, center", [(20.0, 0.85), (3.0, 0.2)])
def test_semantic_matches_brute_force(rng, steepness, center):
    img, feat, lab = _small_case(rng)
    W = sss.semantic_affinity(lab, feat, steepness, center)
    ref = _brute_force(lab, feat, "semantic", steepness, center)
    assert W.nnz == ref.nnz
    assert abs(W - ref).max() < 1e-14


@pytest.mark.parametrize("radius", [0.2, 0.45, 0.0, 3.0])
def test_color_matches_brute_force(rng, radius):
    img, feat, lab = _small_case(rng)
    W = sss.color_affinity(lab, img, steepness=5.0, center=0.5, radius=radius)
    ref = _brute_force(lab, img, "color", 5.0, 0.5, radius)
    assert W.nnz == ref.nnz
    assert abs(W - ref).max() < 1e-14
    if radius >= 3.0:   # every pair of superpixels
        k = lab.max() + 1
        assert W.nnz == k * (k - 1)


def test_coinciding_centroids_are_summed_on_the_diagonal():
    """A ring around a square: both centroids are pixel (2, 2). As in the
    reference (sparse() sums duplicates, then W + W^T) the pair's affinity
    goes twice onto the diagonal entry of that pixel."""
    lab = np.zeros((5, 5), dtype=np.int32)
    lab[1:4, 1:4] = 1
    feat = np.zeros((5, 5, 3))
    feat[1:4, 1:4] = 0.05
    W = sss.semantic_affinity(lab, feat)
    assert W.nnz == 1
    expect = 2 * erf(20 * ((1 - np.sqrt(3) * 0.05) - 0.85))
    assert W[12, 12] == pytest.approx(expect, rel=1e-14)
    assert abs(W - _brute_force(lab, feat, "semantic", 20, 0.85)).max() < 1e-15


def test_pairs_within_radius_equal_brute_force(rng):
    # random points, and lattice points where many distances equal the radius
    lattice = np.stack(np.meshgrid(np.arange(12) / 10, np.arange(9) / 10), -1).reshape(-1, 2)
    for pts, radius in [(rng.random((700, 2)), 0.1), (rng.random((300, 2)) * [3, 1], 0.37),
                        (lattice, 0.2), (lattice, 0.0), (lattice, 5.0),
                        (rng.random((1, 2)), 0.5)]:
        got = pairs_within_radius(pts, radius)
        d = np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1])
        i, j = np.nonzero(np.triu(d <= radius, 1))
        np.testing.assert_array_equal(got, np.stack([i, j], 1))


def test_color_affinity_with_ten_thousand_superpixels():
    """10,000 superpixels (2x2 blocks): the grid query handles it; checks
    the pair count against the exact lattice count."""
    h = w = 200
    lab = (np.arange(h)[:, None] // 2) * (w // 2) + np.arange(w)[None, :] // 2
    img = np.full((h, w, 3), 0.5)
    W = sss.color_affinity(lab, img, radius=0.0201)
    # centroids sit at 2x2 block corners (x.5 rounds up): spacing 2 px = 0.01;
    # within 0.0201: offsets (dy, dx) in block units with dy^2 + dx^2 <= 4
    cnt = 0
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            if (dy or dx) and dy * dy + dx * dx <= 4:
                cnt += (100 - abs(dy)) * (100 - abs(dx))
    assert W.nnz == cnt
    assert np.allclose(W.data, (erf(50 * 0.05) + 1) / 2)


def test_affinity_laplacian_computes_superpixels_and_options(rng):
    img, feat, _ = _small_case(rng)
    L, parts = sss.affinity_laplacian(img, feat, n_segments=40, return_affinities=True)
    np.testing.assert_array_equal(parts["labels"], sss.superpixels(img, n_segments=40))
    W = parts["matting"] + 0.01 * parts["semantic"] + 0.01 * parts["color"]
    assert abs(parts["affinity"] - W).max() < 1e-15
    Lref = sp.diags(np.asarray(W.sum(1)).ravel()) - W
    assert abs(L - Lref).max() < 1e-12
    # zero weights: just the matting Laplacian
    L0 = sss.affinity_laplacian(img, feat, parts["labels"], semantic_weight=0, color_weight=0)
    assert abs(L0 - sss.laplacian_from_affinity(sss.matting_affinity(img))).max() < 1e-14
    # normalised form D^-1/2 (D - W) D^-1/2
    Ln = sss.affinity_laplacian(img, feat, parts["labels"], normalized=True)
    d = np.asarray(W.sum(1)).ravel()
    s = sp.diags(1 / np.sqrt(d))
    assert abs(Ln - s @ Lref @ s).max() < 1e-12
    # inputs not modified
    img2, feat2 = img.copy(), feat.copy()
    sss.affinity_laplacian(img, feat, n_segments=40)
    np.testing.assert_array_equal(img, img2)
    np.testing.assert_array_equal(feat, feat2)


def test_threads_do_not_change_results(rng):
    img, feat, lab = _small_case(rng)
    a = sss.color_affinity(lab, img, num_threads=1)
    b = sss.color_affinity(lab, img, num_threads=2)
    assert (a != b).nnz == 0


# ---------------------------------------------------------------- bad input
def test_bad_labels_and_features_raise_clear_errors(rng):
    img = rng.random((8, 8, 3))
    feat = rng.random((8, 8, 3))
    lab = np.zeros((8, 8), dtype=int)
    lab[4:] = 1
    for fn, arg in [(sss.semantic_affinity, feat), (sss.color_affinity, img)]:
        with pytest.raises(ValueError, match="does not match"):
            fn(lab[:, :7], arg)
        with pytest.raises(ValueError, match="shape"):
            fn(lab[..., None], arg)
        bad = lab.copy(); bad[0, 0] = -1
        with pytest.raises(ValueError, match=">= 0"):
            fn(bad, arg)
        bad = lab.copy(); bad[4:] = 2
        with pytest.raises(ValueError, match="consecutive.*missing"):
            fn(bad, arg)
        with pytest.raises(TypeError, match="integer"):
            fn(lab.astype(float), arg)
    with pytest.raises(ValueError, match="does not match the 8 x 7 pixels of the features"):
        sss.semantic_affinity(lab, feat[:, :7])
    with pytest.raises(ValueError, match="shape"):
        sss.semantic_affinity(lab, feat[..., 0])
    nan = feat.copy(); nan[2, 3, 1] = np.nan
    with pytest.raises(ValueError, match=r"features contains NaN.*\(2, 3, 1\)"):
        sss.semantic_affinity(lab, nan)
    with pytest.raises(ValueError, match="features contains NaN"):
        sss.affinity_laplacian(img, nan, lab)
    with pytest.raises(ValueError, match="features of 8 x 7"):
        sss.affinity_laplacian(img, feat[:, :7], lab)
    with pytest.raises(ValueError, match="labels of shape"):
        sss.affinity_laplacian(img, feat, lab[:7])
    with pytest.raises(ValueError, match="channels"):
        sss.color_affinity(lab, feat[..., :2])


def test_bad_parameters():
    lab = np.zeros((6, 6), dtype=int)
    x = np.zeros((6, 6, 3))
    with pytest.raises(ValueError, match="radius"):
        sss.color_affinity(lab, x, radius=-1)
    with pytest.raises(ValueError, match="steepness"):
        sss.semantic_affinity(lab, x, steepness=np.nan)
    with pytest.raises(ValueError, match="center"):
        sss.color_affinity(lab, x, center=np.inf)
    with pytest.raises(ValueError, match="connectivity"):
        sss.semantic_affinity(lab, x, connectivity=6)
    with pytest.raises(ValueError, match="semantic_weight"):
        sss.affinity_laplacian(x, x, lab, semantic_weight=np.nan)
    with pytest.raises(ValueError, match="points"):
        pairs_within_radius(np.zeros((3, 3)), 0.1)
    with pytest.raises(ValueError, match="NaN"):
        pairs_within_radius(np.array([[0.0, np.nan]]), 0.1)
    with pytest.raises(ValueError, match="radius"):
        pairs_within_radius(np.zeros((3, 2)), np.nan)


def test_normalized_needs_positive_degrees():
    """A strongly negative semantic weight makes some degrees negative."""
    rng = np.random.default_rng(0)
    img = rng.random((10, 10, 3))
    feat = np.zeros((10, 10, 3))     # equal features: w = erf(3) ~ +1
    lab = np.repeat(np.arange(2), 50).reshape(10, 10).T.copy()
    with pytest.raises(ValueError, match="positive affinity row sums"):
        sss.affinity_laplacian(img, feat, lab, semantic_weight=-1e6, normalized=True)


def test_core_weighted_sum_and_affinity_reject_bad_arrays():
    from sss import _core
    with pytest.raises(TypeError, match="dtype"):
        _core.semantic_affinity(np.zeros((3, 3), dtype=np.int64), np.zeros((3, 3, 3)))
    with pytest.raises(ValueError, match="does not match"):
        _core.color_affinity(np.zeros((3, 3), dtype=np.int32), np.zeros((3, 4, 3)))
    z = sp.csr_matrix((3, 3))
    parts = (z.data, z.indices.astype(np.int32), z.indptr.astype(np.int32), 3, 3)
    with pytest.raises(ValueError, match="one weight per matrix"):
        _core.weighted_sum([parts], [1.0, 2.0])
    other = (z.data, z.indices.astype(np.int32), np.zeros(5, np.int32), 4, 4)
    with pytest.raises(ValueError, match="matrix 1 is 4 x 4"):
        _core.weighted_sum([parts, other], [1.0, 2.0])


def test_weighted_laplacian_equals_sum_then_laplacian(rng):
    """The one-pass D - sum_i w_i W_i equals forming the sum first, including
    rows without a diagonal, empty rows and entries that cancel exactly."""
    from sss import _core
    from sss._validation import from_core_csr
    A = sp.random(40, 40, density=0.2, random_state=1, format="csr")
    B = sp.random(40, 40, density=0.1, random_state=2, format="csr")
    C = -0.5 * A.copy()                    # 2 * C cancels A exactly
    keep = sp.diags(np.where(np.arange(40) == 5, 0.0, 1.0))
    mats = [sp.csr_matrix(keep @ m) for m in (A, B, C)]    # row 5 is empty
    for m in mats:
        m.eliminate_zeros()
        m.sort_indices()
        m.indices = m.indices.astype(np.int32)
        m.indptr = m.indptr.astype(np.int32)
    parts = [(m.data, m.indices, m.indptr, 40, 40) for m in mats]
    for weights in ([1.0, 0.01, 2.0], [1.0, 0.3, 0.7]):
        W = from_core_csr(_core.weighted_sum(parts, weights))
        ref = mats[0] * weights[0] + mats[1] * weights[1] + mats[2] * weights[2]
        ref.eliminate_zeros()
        assert W.nnz == ref.nnz and abs(W - ref).max() < 1e-15
        L = from_core_csr(_core.weighted_laplacian(parts, weights))
        Lref = sss.laplacian_from_affinity(W)
        np.testing.assert_array_equal(L.indptr, Lref.indptr)
        np.testing.assert_array_equal(L.indices, Lref.indices)
        np.testing.assert_array_equal(L.data, Lref.data)
