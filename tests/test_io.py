"""Reading photos: every input kind the command line accepts, each from a
small generated file, and clear errors for files that are not photos."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image, ImageOps

import sss
from sss.io import ImageReadError, apply_orientation, imread, imsave, resize


@pytest.fixture
def rgb8(rng):
    return (rng.random((7, 9, 3)) * 255).round().astype(np.uint8)


@pytest.fixture
def rgb16(rng):
    return (rng.random((7, 9, 3)) * 65535).round().astype(np.uint16)


def test_png_and_tiff_8bit_exact(tmp_path, rgb8):
    for ext in ("png", "tif"):
        Image.fromarray(rgb8).save(tmp_path / f"a.{ext}")
        out = imread(tmp_path / f"a.{ext}")
        assert out.dtype == np.float64 and out.shape == (7, 9, 3)
        np.testing.assert_array_equal(out, rgb8 / 255.0)


def test_jpeg(tmp_path, rgb8):
    smooth = np.kron(rgb8[:2, :2], np.ones((8, 8, 1), np.uint8))
    Image.fromarray(smooth).save(tmp_path / "a.jpg", quality=95)
    out = imread(tmp_path / "a.jpg", dtype=np.float32)
    assert out.dtype == np.float32 and out.shape == (16, 16, 3)
    assert np.abs(out - smooth / 255.0).mean() < 0.03


def test_16bit_rgb_tiff_keeps_full_precision(tmp_path, rgb16):
    import tifffile

    tifffile.imwrite(tmp_path / "a.tif", rgb16, photometric="rgb")
    np.testing.assert_array_equal(imread(tmp_path / "a.tif"), rgb16 / 65535.0)


def test_16bit_rgb_png_keeps_full_precision(tmp_path, rgb16):
    imsave(tmp_path / "a.png", rgb16)
    np.testing.assert_array_equal(imread(tmp_path / "a.png"), rgb16 / 65535.0)


def test_16bit_grey_png_and_tiff(tmp_path, rgb16):
    import tifffile

    g = rgb16[..., 0]
    Image.fromarray(g).save(tmp_path / "g.png")
    tifffile.imwrite(tmp_path / "g.tif", g)
    for name in ("g.png", "g.tif"):
        out = imread(tmp_path / name)
        assert out.shape == (7, 9, 3)
        for c in range(3):
            np.testing.assert_array_equal(out[..., c], g / 65535.0)


def test_grey_8bit_is_replicated(tmp_path, rgb8):
    Image.fromarray(rgb8[..., 1]).save(tmp_path / "g.png")
    out = imread(tmp_path / "g.png")
    np.testing.assert_array_equal(out, np.repeat(rgb8[..., 1:2] / 255.0, 3, axis=2))


def test_rgba_composited_on_white_with_warning(tmp_path, rgb8):
    alpha = np.full(rgb8.shape[:2], 255, np.uint8)
    alpha[0, 0] = 0
    alpha[1, 1] = 128
    Image.fromarray(np.dstack([rgb8, alpha])).save(tmp_path / "a.png")
    with pytest.warns(UserWarning, match="composited on a white"):
        out = imread(tmp_path / "a.png")
    np.testing.assert_allclose(out[0, 0], 1.0)
    a = 128 / 255.0
    np.testing.assert_allclose(out[1, 1], rgb8[1, 1] / 255.0 * a + (1 - a))
    np.testing.assert_allclose(out[2, 2], rgb8[2, 2] / 255.0)


def test_opaque_rgba_needs_no_warning(tmp_path, rgb8):
    Image.fromarray(np.dstack([rgb8, np.full(rgb8.shape[:2], 255, np.uint8)])).save(
        tmp_path / "a.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(imread(tmp_path / "a.png"), rgb8 / 255.0)


def test_16bit_rgba_png_composited(tmp_path, rgb16):
    alpha = np.full(rgb16.shape[:2], 65535, np.uint16)
    alpha[3, 3] = 0
    imsave(tmp_path / "a.png", np.dstack([rgb16, alpha]))
    with pytest.warns(UserWarning):
        out = imread(tmp_path / "a.png")
    np.testing.assert_allclose(out[3, 3], 1.0)
    np.testing.assert_allclose(out[0, 0], rgb16[0, 0] / 65535.0)


def test_palette_and_cmyk(tmp_path, rgb8):
    Image.fromarray(rgb8).convert("P").save(tmp_path / "p.png")
    ref = np.asarray(Image.open(tmp_path / "p.png").convert("RGB")) / 255.0
    np.testing.assert_array_equal(imread(tmp_path / "p.png"), ref)
    Image.fromarray(rgb8).convert("CMYK").save(tmp_path / "c.tif")
    ref = np.asarray(Image.open(tmp_path / "c.tif").convert("RGB")) / 255.0
    np.testing.assert_array_equal(imread(tmp_path / "c.tif"), ref)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, rgb8, orientation):
    im = Image.fromarray(rgb8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    im.save(tmp_path / "o.jpg", exif=exif.tobytes(), quality=100, subsampling=0)
    im.save(tmp_path / "o.png", exif=exif.tobytes())
    for name in ("o.jpg", "o.png"):
        expect = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / name))) / 255.0
        out = imread(tmp_path / name)
        assert out.shape == expect.shape
        np.testing.assert_array_equal(out, expect)
    # the 16-bit path applies it too
    import tifffile
    tifffile.imwrite(tmp_path / "o16.tif", rgb8.astype(np.uint16) * 257, photometric="rgb",
                     extratags=[(0x0112, 3, 1, orientation, True)])
    expect = apply_orientation(rgb8 / 255.0, orientation)
    np.testing.assert_allclose(imread(tmp_path / "o16.tif"), expect)


def test_apply_orientation_is_what_pillow_does(rgb8):
    ops = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
           4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
           6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_90}
    for o, op in ops.items():
        np.testing.assert_array_equal(apply_orientation(rgb8, o),
                                      np.asarray(Image.fromarray(rgb8).transpose(op)))


# ---------------------------------------------------------------- errors
def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        imread(tmp_path / "nope.jpg")


def test_not_an_image(tmp_path):
    (tmp_path / "notes.jpg").write_text("hello, not a photo")
    with pytest.raises(ImageReadError, match="not an image file"):
        imread(tmp_path / "notes.jpg")
    with pytest.raises(ValueError):  # ImageReadError is a ValueError
        imread(tmp_path / "notes.jpg")


def test_directory(tmp_path):
    with pytest.raises(ImageReadError, match="directory"):
        imread(tmp_path)


def test_truncated_file(tmp_path, rng):
    img = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "a.png")
    data = (tmp_path / "a.png").read_bytes()
    (tmp_path / "t.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="cannot decode"):
        imread(tmp_path / "t.png")


def test_too_large_for_memory(tmp_path, rgb8, monkeypatch):
    Image.fromarray(rgb8).save(tmp_path / "a.png")
    monkeypatch.setenv("SSS_MEMORY_LIMIT", "100")
    with pytest.raises(MemoryError, match="reading"):
        imread(tmp_path / "a.png")


# ---------------------------------------------------------------- imsave, resize
def test_imsave_roundtrip(tmp_path, rng):
    img = rng.random((5, 6, 3))
    imsave(tmp_path / "a.png", img)
    np.testing.assert_allclose(imread(tmp_path / "a.png"), img, atol=0.5 / 255 + 1e-12)
    imsave(tmp_path / "a16.tif", img, bits=16)
    np.testing.assert_allclose(imread(tmp_path / "a16.tif"), img, atol=0.5 / 65535 + 1e-12)
    with pytest.raises(ValueError, match="NaN"):
        imsave(tmp_path / "b.png", np.full((2, 2, 3), np.nan))
    with pytest.raises(ValueError, match="16-bit"):
        imsave(tmp_path / "b.jpg", img, bits=16)
    with pytest.raises(ValueError, match="shape|\\(H, W"):
        imsave(tmp_path / "b.png", np.zeros((2, 2, 5)))


def test_resize(rng):
    img = rng.random((40, 60, 3))
    small = resize(img, 20, 30)
    assert small.shape == (20, 30, 3)
    # antialiased: a 2x reduction of a constant image stays constant
    np.testing.assert_allclose(resize(np.full((40, 60), 0.3), 20, 30), 0.3, atol=1e-6)
    assert abs(small.mean() - img.mean()) < 0.01
    with pytest.raises(ValueError, match="method"):
        resize(img, 2, 2, method="cubic")


def test_exported_in_package():
    assert sss.imread is imread and sss.imsave is imsave


def _heic(tmp_path, arr, name="p.heic", **kw):
    pillow_heif = pytest.importorskip("pillow_heif", reason="pillow-heif is not installed "
                                      "(pip install pillow-heif)")
    pillow_heif.register_heif_opener()
    p = tmp_path / name
    Image.fromarray(arr).save(p, format="HEIF", quality=-1, **kw)  # lossless
    return p


def test_heic_photos_are_read_upright_with_their_profile(tmp_path):
    from PIL import ImageCms

    yy, xx = np.mgrid[0:24, 0:36]
    arr = (np.stack([xx / 36, yy / 24, 0.5 + 0 * xx], -1) * 200).astype(np.uint8)
    arr[:6, :9] = 255  # a mark in the top-left corner
    prof = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    p = _heic(tmp_path, arr, icc_profile=prof)
    with Image.open(p) as im:  # what Pillow's plugin decodes
        want = np.asarray(im.convert("RGB")) / 255.0
    got = sss.imread(p)
    assert got.shape == (24, 36, 3)
    np.testing.assert_array_equal(got, want)
    assert np.abs(got - arr / 255.0).mean() < 0.02  # HEVC: nearly lossless, 4:2:0 chroma
    assert sss.io.read_icc_profile(p) == prof
    # an EXIF orientation of 6 (rotate 90 degrees clockwise) is applied once
    ex = Image.Exif()
    ex[0x0112] = 6
    q = _heic(tmp_path, arr, name="rot.heic", exif=ex.tobytes())
    rot = sss.imread(q)
    assert rot.shape == (36, 24, 3)
    assert rot[:9, -6:].mean() > 0.95  # the 6 x 9 mark is now 9 x 6, top right


def test_heic_without_pillow_heif_is_a_clear_error(tmp_path, monkeypatch):
    import sys

    p = tmp_path / "p.heic"
    p.write_bytes(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 64)
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # as if not installed
    with pytest.raises(sss.io.ImageReadError, match="pip install pillow-heif"):
        sss.imread(p)
    with pytest.raises(sss.io.ImageReadError, match="pip install pillow-heif"):
        sss.io.read_icc_profile(p)
