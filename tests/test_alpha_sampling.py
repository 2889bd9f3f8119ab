"""Stage 11's data term (sss.alpha_sampling.sampled_alpha) against an
independent numpy version, on a two-colour composite whose alpha is known,
its input checks, the weighted pull of closed_form_matte against a scipy
solution, and how matte_subject combines the two."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import sss
from sss.alpha_sampling import sampled_alpha
from sss.subject_matting import (SubjectMattingParams, closed_form_matte, matte_subject,
                                 subject_trimap)
from test_subject_matting import _band_trimap, _disc_scene, _two_colour


def _numpy_sampled_alpha(img, tri, neighbours, sigma, band):
    """Brute force: every unknown pixel against every sample."""
    fg, bg = tri == 1, tri == 0
    cross = ndi.generate_binary_structure(2, 1)

    def samples(m):
        inner = ndi.binary_erosion(m, cross, iterations=band, border_value=1)
        return np.unique(img[m & ~inner], axis=0)       # each colour once

    F, B = samples(fg), samples(bg)
    alpha, conf = tri.copy(), np.ones(tri.shape)
    unknown = ~(fg | bg)
    alpha[unknown], conf[unknown] = 0.5, 0.0
    for y, x in zip(*np.nonzero(unknown)):
        I = img[y, x]
        fi = np.argsort(((F - I) ** 2).sum(1), kind="stable")[:neighbours]
        bi = np.argsort(((B - I) ** 2).sum(1), kind="stable")[:neighbours]
        best = (np.inf, 0.5)
        for i in fi:
            for j in bi:
                d = F[i] - B[j]
                a = np.clip((I - B[j]) @ d / max(d @ d, 1e-6), 0, 1)
                r = np.linalg.norm(I - (a * F[i] + (1 - a) * B[j])) / max(np.sqrt(d @ d), 1e-3)
                if r < best[0]:
                    best = (r, a)
        alpha[y, x], conf[y, x] = best[1], np.exp(-(best[0] / sigma) ** 2)
    return alpha, conf


def _textured(h=30, w=36, seed=5):
    """Random smooth colours (no two pixels alike) and a trimap of all three classes."""
    rng = np.random.default_rng(seed)
    img = np.stack([ndi.gaussian_filter(rng.random((h, w)), 1.5) for _ in range(3)], 2)
    img = (img - img.min()) / (img.max() - img.min())
    tri = _band_trimap(h, w, half=5)
    return img, tri


@pytest.mark.parametrize("kw", [{}, {"neighbours": 1}, {"neighbours": 7, "sigma": 0.3, "band": 3}])
def test_sampled_alpha_equals_a_numpy_version(kw):
    img, tri = _textured()
    got_a, got_c = sampled_alpha(img, tri, **kw)
    full = dict(neighbours=4, sigma=0.1, band=2) | kw
    want_a, want_c = _numpy_sampled_alpha(img, tri, **full)
    assert got_a.shape == tri.shape and got_a.dtype == np.float64 and got_c.dtype == np.float64
    # tolerance: rounding only (the same arithmetic in another order)
    np.testing.assert_allclose(got_a, want_a, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got_c, want_c, rtol=0, atol=1e-12)
    # the test means something: estimates spread over (0, 1), confidences too
    unknown = (tri != 0) & (tri != 1)
    assert np.ptp(got_a[unknown]) > 0.5 and np.ptp(got_c[unknown]) > 0.5


def test_sampled_alpha_recovers_a_two_colour_composite():
    """Where the photo is a mixture of two colours, the estimate is its alpha:
    measured mean abs error 0.004 (noise 0.01 on the colours), confidence 0.9-1."""
    img, alpha = _two_colour()
    tri = _band_trimap(*alpha.shape)
    a, c = sampled_alpha(img, tri)
    unknown = (tri != 0) & (tri != 1)
    assert np.abs(a - alpha)[unknown].mean() < 0.02
    assert np.median(c[unknown]) > 0.8
    known = ~unknown
    np.testing.assert_array_equal(a[known], tri[known])
    np.testing.assert_array_equal(c[known], 1.0)


def test_sampled_alpha_counts_each_colour_once():
    """A backdrop of one grey with a single blue pixel at its edge: the unknown
    pixels are half red, half blue. With 2 neighbours the grey copies must not
    take both places: the blue sample is found and explains the pixels
    exactly (alpha 0.5, confidence 1)."""
    h, w = 20, 40
    red, blue, grey = np.array([0.9, 0.1, 0.1]), np.array([0.1, 0.1, 0.9]), np.full(3, 0.5)
    img = np.empty((h, w, 3))
    img[:, :10] = red
    img[:, 10:20] = 0.5 * red + 0.5 * blue
    img[:, 20:] = grey
    img[5, 20] = blue
    tri = np.full((h, w), 0.5)
    tri[:, :10] = 1.0
    tri[:, 20:] = 0.0
    a, c = sampled_alpha(img, tri, neighbours=2)
    np.testing.assert_allclose(a[:, 10:20], 0.5, atol=1e-12)
    np.testing.assert_allclose(c[:, 10:20], 1.0, atol=1e-12)
    # grey is the nearer background colour: with it alone the pixels are not explained
    only_grey = img.copy()
    only_grey[5, 20] = grey
    _, c_grey = sampled_alpha(only_grey, tri, neighbours=2)
    assert c_grey[:, 10:20].max() < 0.01


def test_sampled_alpha_is_bitwise_identical_for_1_and_2_threads():
    img, tri = _textured(60, 80)
    a1, c1 = sampled_alpha(img, tri, num_threads=1)
    a2, c2 = sampled_alpha(img, tri, num_threads=2)
    assert np.array_equal(a1, a2) and np.array_equal(c1, c2)


@pytest.mark.parametrize("missing", [0.0, 1.0])
def test_sampled_alpha_without_samples_of_one_side_has_no_confidence(missing):
    img, tri = _textured()
    tri = np.where(tri == missing, 0.5, tri)
    a, c = sampled_alpha(img, tri)
    unknown = (tri != 0) & (tri != 1)
    np.testing.assert_array_equal(a[unknown], 0.5)
    np.testing.assert_array_equal(c[unknown], 0.0)
    # nothing unknown: the trimap itself
    full = (tri > 0.5).astype(np.float64)
    a, c = sampled_alpha(img, full)
    np.testing.assert_array_equal(a, full)
    np.testing.assert_array_equal(c, 1.0)


def test_sampled_alpha_does_not_modify_its_inputs():
    img, tri = _textured()
    copies = img.copy(), tri.copy()
    sampled_alpha(img, tri)
    np.testing.assert_array_equal(img, copies[0])
    np.testing.assert_array_equal(tri, copies[1])


@pytest.mark.parametrize("kw, match", [
    (dict(neighbours=0), "neighbours must be >= 1"),
    (dict(neighbours=65), "neighbours must be <= 64"),
    (dict(sigma=0.0), "sigma must be > 0"),
    (dict(sigma=float("nan")), "sigma must be finite"),
    (dict(band=0), "band must be >= 1"),
])
def test_sampled_alpha_rejects_bad_parameters(kw, match):
    img, tri = _textured()
    with pytest.raises(ValueError, match=match):
        sampled_alpha(img, tri, **kw)


def test_sampled_alpha_rejects_bad_input():
    img, tri = _textured()
    with pytest.raises(ValueError, match="trimap must be a finite"):
        sampled_alpha(img, tri[:-1])
    bad = tri.copy()
    bad[3, 3] = np.nan
    with pytest.raises(ValueError, match="trimap must be a finite"):
        sampled_alpha(img, bad)
    with pytest.raises(ValueError, match="image"):
        sampled_alpha(img[..., :2], tri)


# ---------------------------------------------------------------- the weighted pull
def _scipy_weighted_matte(img, trimap, prior_alpha, weight, eps, prior):
    L = sp.csr_matrix(sss.laplacian_from_affinity(sss.matting_affinity(img, 1, eps)))
    t = trimap.ravel()
    unknown = (t != 0) & (t != 1)
    u, k = np.flatnonzero(unknown), np.flatnonzero(~unknown)
    wu = prior + weight.ravel()[u]
    rhs = -L[u][:, k] @ t[k] + wu * prior_alpha.ravel()[u]
    x = spla.spsolve((L[u][:, u] + sp.diags(wu)).tocsc(), rhs)
    out = t.copy()
    out[u] = np.clip(x, 0, 1)
    return out.reshape(trimap.shape)


def test_closed_form_matte_with_prior_weight_equals_a_scipy_solution():
    img, alpha = _two_colour()
    tri = _band_trimap(*alpha.shape)
    rng = np.random.default_rng(4)
    prior_alpha = rng.random(alpha.shape)
    weight = 1e-2 * rng.random(alpha.shape)
    p = SubjectMattingParams()
    got = closed_form_matte(img, tri, prior_alpha, prior_weight=weight)
    want = _scipy_weighted_matte(img, tri, prior_alpha, weight, p.eps, p.prior)
    # tolerance: 1e-7 absolute (two direct solvers of the same SPD system)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-7)
    # the weights matter: without them the matte differs
    assert np.abs(closed_form_matte(img, tri, prior_alpha) - got).max() > 0.01
    # zero weights are no weights, bitwise
    np.testing.assert_array_equal(
        closed_form_matte(img, tri, prior_alpha, prior_weight=np.zeros(alpha.shape)),
        closed_form_matte(img, tri, prior_alpha))


@pytest.mark.parametrize("bad", ["negative", "nan", "shape"])
def test_closed_form_matte_rejects_a_bad_prior_weight(bad):
    img, alpha = _two_colour(20, 24)
    tri = _band_trimap(20, 24, half=4)
    w = np.zeros(alpha.shape)
    if bad == "negative":
        w[2, 2] = -1.0
    elif bad == "nan":
        w[2, 2] = np.nan
    else:
        w = w[:-1]
    with pytest.raises(ValueError, match="prior_weight must be a finite, non-negative"):
        closed_form_matte(img, tri, alpha, prior_weight=w)


# ---------------------------------------------------------------- in matte_subject
def test_matte_subject_pulls_towards_the_sampled_alpha_by_its_weight():
    """At the photo's own size and with the map as it is, the subject's layers
    of matte_subject sum to the matte built from the module's own pieces:
    subject_trimap, sampled_alpha, and closed_form_matte pulled towards the
    blend (prior u + w a_s) / (prior + w), w = sampling_weight * confidence."""
    img, alpha, layers = _disc_scene()
    kw = dict(map_guide_pixels=0, sampling_weight=0.05)
    out, info = matte_subject(layers, img, alpha, return_info=True, **kw)
    assert info["applied"] and info["subject"] == [1]
    p = SubjectMattingParams()
    u = layers[..., 1]
    tri = subject_trimap(u, alpha)
    a_s, conf = sampled_alpha(img, tri, neighbours=p.sampling_neighbours,
                              sigma=p.sampling_sigma, band=p.sampling_band)
    w = np.where(tri == 0.5, 0.05 * conf, 0.0)
    blend = (p.prior * u + w * a_s) / (p.prior + w)
    want = closed_form_matte(img, tri, blend, prior_weight=w)
    # tolerance: the layers are float32
    np.testing.assert_allclose(out[..., 1], want, rtol=0, atol=1e-6)
    # and the weight matters: without sampling the matte is another
    off = matte_subject(layers, img, alpha, map_guide_pixels=0, sampling_weight=0.0)
    assert np.abs(off[..., 1] - out[..., 1]).max() > 1e-3


def test_matte_subject_rejects_bad_sampling_parameters():
    img, alpha, layers = _disc_scene()
    for kw, match in ((dict(sampling_weight=-1.0), "sampling_weight must be >= 0"),
                      (dict(sampling_neighbours=0), "neighbours must be in"),
                      (dict(sampling_sigma=0.0), "sigma must be positive"),
                      (dict(sampling_band=0), "band must be >= 1")):
        with pytest.raises(ValueError, match=match):
            matte_subject(layers, img, alpha, **kw)
