"""Stage 2 (SLIC-0 superpixels, superpixel graph) against the authors' numbers,
against scikit-image's SLIC-zero on real photographs, and on bad input."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

import sss
spmod = importlib.import_module("sss.superpixels")  # the module (sss.superpixels is the function)
from conftest import fortran_to_c_index


def _n_components_4(labels):
    """Number of 4-connected components of equal-label pixels."""
    h, w = labels.shape
    idx = np.arange(h * w).reshape(h, w)
    rows, cols = [], []
    same = labels[:, 1:] == labels[:, :-1]
    rows.append(idx[:, 1:][same]); cols.append(idx[:, :-1][same])
    same = labels[1:, :] == labels[:-1, :]
    rows.append(idx[1:, :][same]); cols.append(idx[:-1, :][same])
    r, c = np.concatenate(rows), np.concatenate(cols)
    g = sp.coo_matrix((np.ones(r.size), (r, c)), shape=(h * w, h * w))
    return connected_components(g, directed=False)[0]


def _check_valid_labels(labels, shape):
    assert labels.dtype == np.int32 and labels.shape == shape
    k = int(labels.max()) + 1
    assert labels.min() == 0
    assert np.all(np.bincount(labels.ravel()) > 0), "labels are not consecutive"
    assert _n_components_4(labels) == k, "a superpixel is not 4-connected"
    return k


# ---------------------------------------------------------------- oracle graph
def test_graph_equals_reference_pairs_and_centroids(docia_inputs):
    lab = docia_inputs["superpixel_labels"] - 1
    h, w = lab.shape
    g = sss.superpixel_graph(lab)
    assert g.count == int(docia_inputs["spcount"]) == 2654
    np.testing.assert_array_equal(g.pairs, docia_inputs["neighbor_pairs"] - 1)
    cen = docia_inputs["centroids"]
    np.testing.assert_array_equal(g.centroids, cen[:, :2] - 1)
    np.testing.assert_array_equal(g.centroid_index, fortran_to_c_index(cen[:, 2] - 1, h, w))
    # README: 4-connectivity would give 7573 pairs
    assert sss.superpixel_graph(lab, connectivity=4).pairs.shape == (7573, 2)


def test_centroids_round_half_away_from_zero_exactly(docia_inputs):
    """The oracle's unrounded centroids (1-based x, y) have 79 exact x.5
    coordinates; ours must round each of them up (away from zero)."""
    lab = docia_inputs["superpixel_labels"] - 1
    raw = docia_inputs["centroids_raw_xy"]
    g = sss.superpixel_graph(lab)
    half = np.isclose(raw % 1, 0.5, rtol=0, atol=1e-9)
    assert half.sum() == 79
    np.testing.assert_array_equal(g.centroids[:, 1], np.floor(raw[:, 0] + 0.5) - 1)
    np.testing.assert_array_equal(g.centroids[:, 0], np.floor(raw[:, 1] + 0.5) - 1)
    np.testing.assert_array_equal(g.sizes, np.bincount(lab.ravel()))


def test_graph_means_and_small_example():
    # label 1 touches 2 only diagonally
    lab = np.array([[0, 0, 1],
                    [0, 2, 0],
                    [0, 0, 0]])
    g8 = sss.superpixel_graph(lab)
    g4 = sss.superpixel_graph(lab, connectivity=4)
    np.testing.assert_array_equal(g8.pairs, [[0, 1], [0, 2], [1, 2]])
    np.testing.assert_array_equal(g4.pairs, [[0, 1], [0, 2]])
    # label 0: rows 0,0,1,1,2,2,2 -> mean 8/7 -> 1; cols 0,1,0,2,0,1,2 -> 6/7 -> 1
    np.testing.assert_array_equal(g8.centroids, [[1, 1], [0, 2], [1, 1]])
    np.testing.assert_array_equal(g8.centroid_index, [4, 2, 4])
    # x.5 rounds away from zero: rows {0, 1} -> 0.5 -> 1
    g = sss.superpixel_graph(np.array([[0, 1], [0, 1]]))
    np.testing.assert_array_equal(g.centroids, [[1, 0], [1, 1]])

    rng = np.random.default_rng(3)
    img = rng.random((3, 3, 3))
    feat = rng.random((3, 3, 5))
    g = sss.superpixel_graph(lab, img, feat)
    for k in range(3):
        np.testing.assert_allclose(g.mean_color[k], img[lab == k].mean(0), rtol=1e-14)
        np.testing.assert_allclose(g.mean_feature[k], feat[lab == k].mean(0), rtol=1e-14)
    assert g8.mean_color is None and g8.mean_feature is None


# ---------------------------------------------------------------- SLIC-0
def test_rgb_to_lab_matches_skimage_without_clipping(docia_inputs):
    color = pytest.importorskip("skimage.color")
    img = docia_inputs["image"]            # range [-2.65e-4, 1.0239]: not clipped
    assert img.min() < 0 and img.max() > 1
    np.testing.assert_allclose(spmod.rgb_to_lab(img), color.rgb2lab(img), rtol=0, atol=1e-9)


def test_superpixels_valid_connected_and_deterministic(rng):
    img = rng.random((40, 50, 3)) * 0.2
    img[:, 25:] += 0.7                      # a strong vertical edge
    lab = sss.superpixels(img, n_segments=60)
    k = _check_valid_labels(lab, (40, 50))
    assert 0.85 * 60 <= k <= 1.15 * 60
    # no superpixel straddles the edge at column 25
    left = np.unique(lab[:, :25])
    right = np.unique(lab[:, 25:])
    assert np.intersect1d(left, right).size == 0
    np.testing.assert_array_equal(lab, sss.superpixels(img, n_segments=60))
    np.testing.assert_array_equal(sss.superpixels(img, n_segments=60, num_threads=1),
                                  sss.superpixels(img, n_segments=60, num_threads=2))


def test_superpixels_uint8_constant_tiny_and_not_modified(rng):
    img8 = rng.integers(0, 256, (30, 20, 3), dtype=np.uint8)
    before = img8.copy()
    a = sss.superpixels(img8, n_segments=20)
    np.testing.assert_array_equal(img8, before)
    np.testing.assert_array_equal(a, sss.superpixels(img8 / 255.0, n_segments=20))
    const = sss.superpixels(np.full((32, 32, 3), 0.5), n_segments=16)
    assert _check_valid_labels(const, (32, 32)) == 16    # a regular 4x4 grid
    one = sss.superpixels(np.zeros((1, 1, 3)), n_segments=5)
    np.testing.assert_array_equal(one, [[0]])
    small = sss.superpixels(rng.random((2, 3, 3)), n_segments=100)
    _check_valid_labels(small, (2, 3))
    # non-contiguous view accepted
    view = rng.random((20, 40, 3))[:, ::2]
    _check_valid_labels(sss.superpixels(view, n_segments=10), (20, 20))


def _boundary_recall(labels, edges, tol=2):
    from scipy import ndimage as ndi
    from skimage.segmentation import find_boundaries
    dist = ndi.distance_transform_edt(~find_boundaries(labels, mode="thick"))
    return float((dist[edges] <= tol).mean())


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "rocket",
                                  "immunohistochemistry"])
def test_quality_against_skimage_slic_zero(name):
    """Boundary recall of the photo's strong (Canny, sigma 2) edges within
    2 px is not worse than scikit-image's SLIC-zero (called as the oracle
    README does) by more than 0.02, and the count is within 15% of 2500."""
    data = pytest.importorskip("skimage.data")
    from skimage.color import rgb2gray, rgb2lab
    from skimage.feature import canny
    from skimage.segmentation import slic
    img = getattr(data, name)()[..., :3] / 255.0
    edges = canny(rgb2gray(img), sigma=2)
    ours = sss.superpixels(img, n_segments=2500)
    k = _check_valid_labels(ours, img.shape[:2])
    assert abs(k - 2500) <= 0.15 * 2500, k
    ref = slic(rgb2lab(img), n_segments=2500, compactness=1e-20, max_num_iter=10, sigma=0,
               slic_zero=True, convert2lab=False, enforce_connectivity=True, start_label=0)
    r_ours, r_ref = _boundary_recall(ours, edges), _boundary_recall(ref, edges)
    assert r_ours >= r_ref - 0.02, (r_ours, r_ref)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad, exc, match", [
    (np.zeros((8, 8)), ValueError, "shape"),
    (np.zeros((8, 8, 4)), ValueError, "channels"),
    (np.zeros((0, 8, 3)), ValueError, "empty"),
    (np.zeros((8, 8, 3), dtype=np.int64), TypeError, "dtype"),
    ([[[0.0, 0.0, 0.0]]], TypeError, "numpy array"),
])
def test_superpixels_bad_images(bad, exc, match):
    with pytest.raises(exc, match=match):
        sss.superpixels(bad)


def test_superpixels_nan_and_bad_parameters():
    img = np.zeros((8, 8, 3))
    img[3, 4, 0] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinite.*\(3, 4, 0\)"):
        sss.superpixels(img)
    img = np.zeros((8, 8, 3))
    for kw, match in [({"n_segments": 0}, "n_segments"), ({"n_segments": 2.5}, "n_segments"),
                      ({"compactness": 0}, "compactness"), ({"compactness": np.inf}, "compactness"),
                      ({"max_iter": 0}, "max_iter"),
                      ({"min_size_factor": 1.5}, "min_size_factor"),
                      ({"search_factor": 0.5}, "search_factor"),
                      ({"num_threads": 0}, "num_threads")]:
        with pytest.raises((ValueError, TypeError), match=match):
            sss.superpixels(img, **kw)


def _blocks(a):
    """4 x 4 label map from a 2 x 2 one (2 x 2 blocks)."""
    return np.kron(np.array(a), np.ones((2, 2), dtype=int))


@pytest.mark.parametrize("labels, exc, match", [
    (np.zeros((4, 4, 1), dtype=int), ValueError, "shape"),
    (np.zeros((4, 5), dtype=int), ValueError, "does not match"),
    (np.zeros((4, 4)), TypeError, "integer"),
    (_blocks([[0, 1], [-1, 2]]), ValueError, ">= 0.*subtract 1"),
    (_blocks([[0, 1], [3, 3]]), ValueError, "consecutive.*missing.*first is 2"),
    (_blocks([[0, 1], [1, 99]]), ValueError, "consecutive.*exceeds"),
    (_blocks([[1, 2], [2, 1]]), ValueError, "consecutive.*missing.*first is 0"),
    ([[0, 0], [0, 0]], TypeError, "numpy array"),
])
def test_bad_labels_raise_clear_errors(labels, exc, match):
    with pytest.raises(exc, match=match):
        sss.superpixel_graph(labels, np.zeros((4, 4, 3)))


def test_graph_bad_image_features_and_connectivity():
    lab = np.zeros((4, 4), dtype=np.int32)
    with pytest.raises(ValueError, match="does not match"):
        sss.superpixel_graph(lab, features=np.zeros((4, 3, 3)))
    feat = np.zeros((4, 4, 3))
    feat[1, 1, 2] = np.nan
    with pytest.raises(ValueError, match="features contains NaN"):
        sss.superpixel_graph(lab, features=feat)
    with pytest.raises(ValueError, match="connectivity"):
        sss.superpixel_graph(lab, connectivity=6)


def test_core_rejects_bad_labels_instead_of_crashing():
    from sss import _core
    with pytest.raises(TypeError, match="dtype"):
        _core.superpixel_graph(np.zeros((3, 3), dtype=np.int64))
    with pytest.raises(ValueError, match=">= 0"):
        _core.superpixel_graph(np.full((3, 3), -2, dtype=np.int32))
    with pytest.raises(ValueError, match="missing"):
        _core.superpixel_graph(np.array([[0, 2, 2]], dtype=np.int32))
    with pytest.raises(ValueError, match="exceeds"):
        _core.superpixel_graph(np.array([[0, 2**30]], dtype=np.int32))
    with pytest.raises(ValueError, match="search_factor"):
        _core.superpixels(np.zeros((4, 4, 3)), 4, 1.0, 10, 0.25, 0.0)
