"""The user-facing API around segment: input forms, the result's repr,
layer(i) and load."""

from __future__ import annotations

import numpy as np
import pytest

import sss
from _pipeline_cases import small

SMALL = small(progress=False)


def _rgb(h=28, w=26):
    rng = np.random.default_rng(3)
    img = np.zeros((h, w, 3))
    img[:, : w // 2] = [0.8, 0.2, 0.1]
    img[:, w // 2:] = [0.1, 0.3, 0.8]
    img[h // 2:, :, 1] += 0.15
    return np.clip(img + 0.03 * rng.random((h, w, 3)), 0, 1)


@pytest.fixture(scope="module")
def result():
    img = _rgb()
    return sss.segment(img, img[..., ::-1].copy(), **SMALL)


# ---------------------------------------------------------------- input forms
def test_greyscale_forms_are_the_same_photo():
    g = _rgb()[..., 0]
    feat = np.repeat(g[..., None], 3, axis=2)
    a = sss.segment(g, feat, **SMALL).alphas
    b = sss.segment(g[..., None], feat, **SMALL).alphas
    c = sss.segment(np.repeat(g[..., None], 3, axis=2), feat, **SMALL).alphas
    d = sss.segment(g, feat, channel_axis=None, **SMALL).alphas
    for x in (b, c, d):
        np.testing.assert_array_equal(a, x)


def test_channel_axis_and_uint8():
    img = _rgb()
    u8 = np.round(img * 255).astype(np.uint8)
    feat = img[..., ::-1].copy()
    last = sss.segment(u8, feat, **SMALL).alphas
    first = sss.segment(np.ascontiguousarray(np.moveaxis(u8, -1, 0)), feat, channel_axis=0,
                        **SMALL).alphas
    np.testing.assert_array_equal(last, first)
    float_version = sss.segment(u8 / 255.0, feat, **SMALL).alphas
    np.testing.assert_array_equal(last, float_version)


def test_rgba_is_composited_on_white_like_the_cli():
    img = _rgb()
    feat = img[..., ::-1].copy()
    opaque = np.concatenate([img, np.ones(img.shape[:2] + (1,))], axis=2)
    np.testing.assert_array_equal(sss.segment(opaque, feat, **SMALL).alphas,
                                  sss.segment(img, feat, **SMALL).alphas)
    half = opaque.copy()
    half[..., 3] = 0.5
    with pytest.warns(UserWarning, match="transparency"):
        a = sss.segment(half, feat, **SMALL).alphas
    np.testing.assert_array_equal(a, sss.segment(img * 0.5 + 0.5, feat, **SMALL).alphas)
    assert np.all(half[..., 3] == 0.5)  # not modified


def test_float_image_outside_unit_range_raises_with_a_hint():
    with pytest.raises(ValueError, match="must lie in \\[0, 1\\].*255"):
        sss.segment(_rgb() * 255.0, **SMALL)
    with pytest.raises(ValueError, match="channels"):
        sss.segment(np.zeros((20, 20, 5)), **SMALL)
    with pytest.raises(ValueError, match="channel_axis=None"):
        sss.segment(_rgb(), channel_axis=None, **SMALL)


# ---------------------------------------------------------------- result
def test_repr_is_short(result):
    r = repr(result)
    assert r.startswith("SoftSegments(26x28, 3 layers, method='multilevel'") and len(r) < 120


def test_layer_is_rgba_and_layers_recompose_the_photo(result):
    layers = [result.layer(i) for i in range(3)]
    assert all(x.shape == (28, 26, 4) and x.dtype == np.float32 for x in layers)
    recomposed = sum(x[..., :3] * x[..., 3:] for x in layers)
    np.testing.assert_allclose(recomposed, result.image, atol=1e-5)
    np.testing.assert_array_equal(result.layer(-1), layers[2])
    with pytest.raises(IndexError, match="layer index"):
        result.layer(3)


def test_load_reads_what_save_wrote(result, tmp_path):
    result.save(tmp_path, formats=("npz",), name="photo")
    back = sss.load(tmp_path / "photo_alphas.npz")
    np.testing.assert_allclose(back.alphas, sss.normalize_alphas(result.alphas), atol=1e-7)
    np.testing.assert_allclose(back.image, result.image, atol=1e-7)
    assert back.method == "multilevel"
    np.testing.assert_allclose(back.colors, result.colors, atol=1e-5)
    same = sss.load(tmp_path)  # the folder holding one result
    np.testing.assert_array_equal(same.alphas, back.alphas)


def test_load_refuses_what_is_not_a_result(tmp_path):
    with pytest.raises(FileNotFoundError):
        sss.load(tmp_path / "missing_alphas.npz")
    np.savez(tmp_path / "x.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="layer_alphas"):
        sss.load(tmp_path / "x.npz")
    (tmp_path / "bad.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="not a readable"):
        sss.load(tmp_path / "bad.npz")
    with pytest.raises(ValueError, match="expected one"):
        sss.load(tmp_path)
