"""Layer colour estimation (C++): the exact recomposition constraint, the
smoothness it promises, the handling of alphas outside [0, 1], bad input."""

from __future__ import annotations

import numpy as np
import pytest

import sss
from sss import colors as sc


def _soft_layers(h, w, k, rng, spread=60.0):
    """K smooth soft segments (a softmax of distances to random centres)."""
    yy, xx = np.mgrid[0:h, 0:w]
    cent = rng.random((k, 2)) * [h, w]
    d = np.stack([-((yy - c[0]) ** 2 + (xx - c[1]) ** 2) / spread for c in cent], -1)
    a = np.exp(d - d.max(-1, keepdims=True))
    return a / a.sum(-1, keepdims=True)


@pytest.fixture
def scene(rng):
    h, w, k = 24, 30, 4
    a = _soft_layers(h, w, k, rng)
    img = rng.random((h, w, 3))
    return img, a


# ---------------------------------------------------------------- constraint
def test_layers_recompose_the_photo_exactly(scene):
    img, a = scene
    c = sss.estimate_layer_colors(img, a)
    assert c.shape == img.shape[:2] + (a.shape[2], 3)
    recon = np.einsum("hwk,hwkc->hwc", a, c)
    assert np.abs(recon - img).max() <= 1e-6
    assert c.min() >= 0.0 and c.max() <= 1.0


def test_constraint_holds_even_without_cg_iterations(scene):
    img, a = scene
    c, info = sss.estimate_layer_colors(img, a, max_iter=0, return_info=True)
    assert info["iterations"] == 0
    assert np.abs(np.einsum("hwk,hwkc->hwc", a, c) - img).max() <= 1e-6


def test_cg_converges_and_reduces_the_energy(scene):
    """The CG result has lower energy than the push-pull starting point."""
    img, a = scene
    eps = 1e-5

    def energy(c):
        data = ((np.einsum("hwk,hwkc->hwc", a, c) - img) ** 2).sum()
        wx = eps + np.abs(np.diff(a, axis=1))
        wy = eps + np.abs(np.diff(a, axis=0))
        sm = (wx[..., None] * np.diff(c, axis=1) ** 2).sum() + \
             (wy[..., None] * np.diff(c, axis=0) ** 2).sum()
        return data + sm

    c0 = sss.estimate_layer_colors(img, a, max_iter=0)
    c1, info = sss.estimate_layer_colors(img, a, tol=1e-8, max_iter=2000,
                                         return_info=True)
    assert info["relative_residual"] <= 1e-8
    assert energy(c1) < energy(c0)


def test_single_layer_is_the_photo(rng):
    img = rng.random((9, 11, 3))
    c = sss.estimate_layer_colors(img, np.ones((9, 11, 1)))
    np.testing.assert_allclose(c[..., 0, :], img, atol=1e-12)


def test_two_flat_regions_get_their_own_colours():
    """A hard split of two constant colours: each layer's colour is its
    region's colour, and is smoothly extended (nearly constant) outside it."""
    h, w = 16, 20
    img = np.zeros((h, w, 3))
    img[:, :10] = [0.9, 0.2, 0.1]
    img[:, 10:] = [0.1, 0.3, 0.8]
    a = np.zeros((h, w, 2))
    a[:, :10, 0] = 1
    a[:, 10:, 1] = 1
    c = sss.estimate_layer_colors(img, a, tol=1e-10, max_iter=3000)
    np.testing.assert_allclose(c[:, :, 0], np.broadcast_to([0.9, 0.2, 0.1], (h, w, 3)),
                               atol=1e-3)
    np.testing.assert_allclose(c[:, :, 1], np.broadcast_to([0.1, 0.3, 0.8], (h, w, 3)),
                               atol=1e-3)


def test_soft_transition_colours_are_the_pure_region_colours():
    """Across a linear alpha ramp between two constant colours, the image is
    their exact mixture: the colours recovered are the two pure colours."""
    h, w = 8, 40
    ramp = np.clip((np.arange(w) - 10) / 20.0, 0, 1)
    a1 = np.broadcast_to(ramp, (h, w))
    a = np.stack([1 - a1, a1], -1)
    f, b = np.array([0.8, 0.6, 0.2]), np.array([0.1, 0.2, 0.7])
    img = a[..., :1] * f + a[..., 1:] * b
    c = sss.estimate_layer_colors(img, a, tol=1e-10, max_iter=3000)
    assert np.abs(c[..., 0, :] - f).max() < 1e-3
    assert np.abs(c[..., 1, :] - b).max() < 1e-3


# ---------------------------------------------------------------- projection
def test_projection_is_least_change_and_keeps_the_box(rng):
    h, w, k = 6, 7, 3
    img = rng.random((h, w, 3))
    a = sc.normalize_alphas(rng.random((h, w, k)))
    c0 = rng.random((h, w, k, 3)) * 1.4 - 0.2
    c = sss.project_layer_colors(img, a, c0)
    assert np.abs(np.einsum("hwk,hwkc->hwc", a, c) - img).max() <= 1e-12
    assert c.min() >= 0 and c.max() <= 1
    # KKT: c = clip(c0 + lam * a): compare with a brute-force bisection
    for (y, x, ch) in [(0, 0, 0), (3, 4, 1), (5, 6, 2)]:
        ap, cp, t = a[y, x], c0[y, x, :, ch], img[y, x, ch]
        lo, hi = -1e3, 1e3
        for _ in range(200):
            mid = (lo + hi) / 2
            if (ap * np.clip(cp + mid * ap, 0, 1)).sum() < t:
                lo = mid
            else:
                hi = mid
        np.testing.assert_allclose(c[y, x, :, ch], np.clip(cp + lo * ap, 0, 1), atol=1e-9)


def test_projection_inside_the_box_is_the_plain_least_change(rng):
    # colours close to consistent (as after an upsampling): the answer is
    # c0 + lam a with lam = (I - a.c0) / |a|^2, no clipping; mixed with pixels
    # that need the box, which must still follow the clipped KKT form
    h, w, k = 9, 11, 4
    a = sc.normalize_alphas(rng.random((h, w, k)))
    c_true = 0.2 + 0.6 * rng.random((h, w, k, 3))
    img = np.einsum("hwk,hwkc->hwc", a, c_true)
    c0 = c_true + 0.01 * rng.standard_normal(c_true.shape)
    c0[0, :3] = rng.random((3, k, 3)) * 1.6 - 0.3  # some pixels far off: the box binds
    c = sss.project_layer_colors(img, a, c0)
    assert np.abs(np.einsum("hwk,hwkc->hwc", a, c) - img).max() <= 1e-12
    lam = (img - np.einsum("hwk,hwkc->hwc", a, c0)) / (a ** 2).sum(-1, keepdims=True)
    plain = c0 + lam[:, :, None, :] * a[..., None]
    inside = np.all((plain >= 0) & (plain <= 1), axis=2)  # (h, w, 3)
    assert inside.mean() > 0.8 and not inside[0, :3].all()
    np.testing.assert_allclose(np.moveaxis(c, 2, 3)[inside], np.moveaxis(plain, 2, 3)[inside],
                               rtol=0, atol=1e-13)
    assert c.min() >= 0 and c.max() <= 1


def test_projection_does_not_modify_inputs(rng):
    img = rng.random((4, 5, 3))
    a = sc.normalize_alphas(rng.random((4, 5, 2)))
    c0 = rng.random((4, 5, 2, 3)) * 2
    keep = (img.copy(), a.copy(), c0.copy())
    sss.project_layer_colors(img, a, c0)
    for x, y in zip((img, a, c0), keep):
        np.testing.assert_array_equal(x, y)


def test_projection_with_image_outside_unit_range():
    """Bicubic overshoot: the box widens so the constraint still holds."""
    img = np.full((3, 3, 3), 1.02)
    img[0, 0] = -0.01
    a = np.full((3, 3, 2), 0.5)
    c = sss.project_layer_colors(img, a, np.full((3, 3, 2, 3), 0.5))
    np.testing.assert_allclose(np.einsum("hwk,hwkc->hwc", a, c), img, atol=1e-12)


def test_projection_rejects_negative_or_zero_alphas(rng):
    img = rng.random((3, 3, 3))
    c = rng.random((3, 3, 2, 3))
    a = np.full((3, 3, 2), 0.5)
    a[1, 1, 0] = -0.1
    with pytest.raises(ValueError, match=">= 0"):
        sss.project_layer_colors(img, a, c)
    a = np.full((3, 3, 2), 0.5)
    a[2, 2] = 0
    with pytest.raises(ValueError, match="sum to 0"):
        sss.project_layer_colors(img, a, c)


# ---------------------------------------------------------------- alphas outside [0, 1]
def test_normalize_alphas_clips_and_renormalises():
    a = np.array([[[1.2, -0.1, -0.1], [0.5, 0.6, -0.1], [-0.2, -0.1, -0.3]]])
    n = sss.normalize_alphas(a)
    np.testing.assert_allclose(n[0, 0], [1, 0, 0])
    np.testing.assert_allclose(n[0, 1], [0.5 / 1.1, 0.6 / 1.1, 0])
    np.testing.assert_allclose(n[0, 2], [0, 1, 0])  # all <= 0: to the largest raw alpha
    np.testing.assert_allclose(n.sum(-1), 1)


def test_out_of_range_alphas_recompose_with_normalised_alphas(scene):
    img, a = scene
    raw = a * 1.15 - 0.05  # sums to 1, but strays outside [0, 1]
    assert raw.min() < 0 and raw.max() > 1
    keep = raw.copy()
    c = sss.estimate_layer_colors(img, raw)
    np.testing.assert_array_equal(raw, keep)
    an = sss.normalize_alphas(raw)
    assert np.abs(np.einsum("hwk,hwkc->hwc", an, c) - img).max() <= 1e-6


# ---------------------------------------------------------------- composite
def test_composite_all_layers_is_the_photo_and_background_replacement(scene):
    img, a = scene
    c = sss.estimate_layer_colors(img, a)
    np.testing.assert_allclose(sc.composite(a, c, background=0.3), img, atol=1e-6)
    np.testing.assert_allclose(sc.composite(a, c)[..., :3], img, atol=1e-6)
    np.testing.assert_allclose(sc.composite(a, c)[..., 3], 1, atol=1e-12)
    out = sc.composite(a, c, layers=[0, -1], background=[0, 1, 0])
    cover = a[..., 0] + a[..., -1]
    expect = (a[..., 0, None] * c[..., 0, :] + a[..., -1, None] * c[..., -1, :]
              + (1 - cover)[..., None] * [0, 1, 0])
    np.testing.assert_allclose(out, expect, atol=1e-12)
    with pytest.raises(ValueError, match="out of range"):
        sc.composite(a, c, layers=[7])
    with pytest.raises(ValueError, match="background"):
        sc.composite(a, c, background=np.zeros((2, 2, 3)))


def test_composite_scales_an_integer_background_photo_and_refuses_out_of_range(scene):
    img, a = scene
    c = sss.estimate_layer_colors(img, a)
    rng = np.random.default_rng(1)
    bg8 = rng.integers(0, 256, img.shape, dtype=np.uint8)
    bg16 = bg8.astype(np.uint16) * 257
    want = sc.composite(a, c, layers=[0], background=bg8 / 255.0)
    np.testing.assert_allclose(sc.composite(a, c, layers=[0], background=bg8), want,
                               atol=1e-12)
    np.testing.assert_allclose(sc.composite(a, c, layers=[0], background=bg16), want,
                               atol=1e-12)
    assert bg8.dtype == np.uint8 and bg8.max() > 1  # the background given is not modified
    with pytest.raises(ValueError, match=r"background values must be in \[0, 1\], got 0 to 255"):
        sc.composite(a, c, layers=[0], background=(255, 0, 0))
    with pytest.raises(ValueError, match="background values must be in"):
        sc.composite(a, c, layers=[0], background=bg8.astype(np.float64))
    with pytest.raises(TypeError, match="background must be numbers"):
        sc.composite(a, c, layers=[0], background="white")


# ---------------------------------------------------------------- determinism, threads
def test_deterministic_and_independent_of_threads(rng):
    # large enough (N*K > 65536) for the parallel code path
    img, a = rng.random((130, 130, 3)), _soft_layers(130, 130, 4, rng, spread=400.0)
    c1 = sss.estimate_layer_colors(img, a, num_threads=1)
    c2 = sss.estimate_layer_colors(img, a, num_threads=2)
    c3 = sss.estimate_layer_colors(img, a)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(c1, c3)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, match", [
    ({"eps": 0}, "eps"), ({"eps": np.nan}, "eps"), ({"max_iter": -1}, "max_iter"),
    ({"tol": -1}, "tol"), ({"num_threads": 0}, "num_threads")])
def test_bad_parameters(scene, kwargs, match):
    img, a = scene
    with pytest.raises(ValueError, match=match):
        sss.estimate_layer_colors(img, a, **kwargs)


def test_bad_arrays(scene):
    img, a = scene
    with pytest.raises(ValueError, match="do not match"):
        sss.estimate_layer_colors(img, a[:-1])
    with pytest.raises(ValueError, match="channels"):
        sss.estimate_layer_colors(img[..., :2], a)
    bad = a.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        sss.estimate_layer_colors(img, bad)
    with pytest.raises(TypeError, match="numpy array"):
        sss.estimate_layer_colors(img.tolist(), a)
    with pytest.raises(TypeError, match="dtype"):
        sss.estimate_layer_colors(img, a.astype(np.complex128))
    with pytest.raises(ValueError, match="empty"):
        sss.estimate_layer_colors(np.zeros((0, 3, 3)), np.zeros((0, 3, 2)))
    with pytest.raises(ValueError, match="shape"):
        sss.project_layer_colors(img, a, np.zeros((2, 2, 2, 3)))


def test_too_large_for_memory(scene, monkeypatch):
    img, a = scene
    monkeypatch.setenv("SSS_MEMORY_LIMIT", "1000")
    with pytest.raises(MemoryError, match="estimate_layer_colors"):
        sss.estimate_layer_colors(img, a)


def test_uint8_inputs_are_scaled(scene):
    img, a = scene
    img8 = np.round(img * 255).astype(np.uint8)
    c = sss.estimate_layer_colors(img8, a)
    assert np.abs(np.einsum("hwk,hwkc->hwc", a, c) - img8 / 255.0).max() <= 1e-6


# ---------------------------------------------------------------- the authors' layers
def test_on_the_reference_soft_segments():
    """The authors' final layers on docia (range [-0.10, 1.09]): the colours
    recompose the photo to rounding, and the 8-bit files to half a level."""
    from conftest import load_reference
    from sss import export

    img = np.clip(load_reference("inputs.npz")["image"], 0, 1)
    raw = load_reference("stages.npz")["softSegments"]
    c, info = sss.estimate_layer_colors(img, raw, return_info=True)
    an = sss.normalize_alphas(raw)
    assert np.abs(np.einsum("hwk,hwkc->hwc", an, c) - img).max() <= 1e-6
    assert info["relative_residual"] < 1e-3
    rgba = export.layer_rgba(img, raw, c)
    assert np.abs(export.composite_additive(rgba) - img).max() <= 0.5 / 255 + 1e-9
    _, over = export.ora_layers(img, raw, c)
    assert np.abs(export.composite_over(over) - img).max() <= 0.5 / 255 + 1e-9


def test_normalize_large_float32_layers_by_bands(monkeypatch):
    # float32 layers of a large photo are normalised a band of rows at a time
    # (no float64 copy of the input): the same values as in one piece
    import sss.colors as colors
    from sss import _core

    monkeypatch.setattr(colors, "_BAND_VALUES", 7 * 13 * 3)  # bands of 7 rows
    rng = np.random.default_rng(3)
    a = (rng.random((50, 13, 3)) * 1.3 - 0.15).astype(np.float32)
    a[4, 5] = -0.5  # a pixel with every alpha <= 0
    got = sss.normalize_alphas(a)
    np.testing.assert_array_equal(got, _core.normalize_alphas(a.astype(np.float64)))
    assert got.dtype == np.float64 and got.shape == a.shape
    a[31, 2, 1] = np.inf
    with pytest.raises(ValueError, match=r"the first at index \(31, 2, 1\)"):
        sss.normalize_alphas(a)
