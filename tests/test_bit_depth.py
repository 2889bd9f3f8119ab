"""16-bit layer files: a photo of more than 8 bits per channel (a 16-bit TIFF
or PNG from a raw converter) gets layer PNGs, OpenRaster and PSD layers of 16
bits per channel, so its smooth gradients are not rounded to 256 levels."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import png  # pypng: reads 16-bit RGB(A) PNGs, which Pillow reduces to 8 bits
import pytest
import tifffile
from PIL import Image, ImageCms

import sss
import sss.cli
from sss import export
from sss.export.encode import png_bytes
from sss.io import read_bit_depth

from test_cli import _fake_segment, _run


def _read_png16(data: bytes) -> tuple[np.ndarray, dict]:
    w, h, rows, info = png.Reader(bytes=data).read()
    arr = np.vstack([np.asarray(r, dtype=np.uint16) for r in rows])
    return arr.reshape(h, w, -1), info


def _gradient(h=24, w=40, rng=None):
    """A smooth 16-bit photo: three ramps spanning few 8-bit levels each."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([0.30 + 0.01 * xx / w, 0.50 + 0.02 * yy / h,
                    0.2 + 0.5 * (xx + yy) / (h + w)], -1)
    if rng is not None:
        img = img + 1e-4 * rng.random(img.shape)
    return np.round(img * 65535).astype(np.uint16)


def _scene(rng, h=24, w=40, k=4):
    img = _gradient(h, w, rng) / 65535.0
    yy, xx = np.mgrid[0:h, 0:w]
    cent = rng.random((k, 2)) * [h, w]
    d = np.stack([-((yy - c[0]) ** 2 + (xx - c[1]) ** 2) / 60.0 for c in cent], -1)
    a = np.exp(d - d.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    return img, a, sss.estimate_layer_colors(img, a)


def _profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.mark.parametrize("shape", [(7, 9), (7, 9, 3), (6, 5, 4), (1, 1, 4)])
def test_png16_round_trips_exactly(rng, shape):
    arr = rng.integers(0, 65536, size=shape).astype(np.uint16)
    arr.flat[0], arr.flat[-1] = 0, 65535
    back, info = _read_png16(png_bytes(arr))
    assert info["bitdepth"] == 16
    assert info["alpha"] == (len(shape) == 3 and shape[2] == 4)
    np.testing.assert_array_equal(back.reshape(shape), arr)


def test_png16_carries_profile_and_exif(rng, tmp_path):
    arr = rng.integers(0, 65536, size=(5, 6, 4)).astype(np.uint16)
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    data = png_bytes(arr, _profile(), 6, exif.tobytes())
    with Image.open(io.BytesIO(data)) as im:
        assert im.info["icc_profile"] == _profile()
        assert im.getexif()[0x010F] == "Camera maker"
    # and sss reads its own 16-bit files back at full precision
    p = tmp_path / "x.png"
    p.write_bytes(png_bytes(arr[..., :3]))
    assert read_bit_depth(p) == 16
    np.testing.assert_array_equal(sss.imread(p), arr[..., :3] / 65535.0)


@pytest.mark.parametrize("bits", [8, 16])
def test_layers_recompose_the_photo_to_half_a_level(rng, bits):
    img, a, colors = _scene(rng)
    top = 2.0 ** bits - 1
    rgba = export.layer_rgba(img, a, colors, bits=bits)
    assert rgba.dtype == (np.uint16 if bits == 16 else np.uint8)
    assert np.abs(export.composite_additive(rgba) - img).max() <= 0.5 / top + 1e-9
    order, over = export.ora_layers(img, a, colors, bits=bits)
    assert np.all(over[-1, ..., 3] == top)
    assert np.abs(export.composite_over(over) - img).max() <= 0.5 / top + 1e-9
    lin = export.ora_layers(img, a, colors, space="linear", bits=bits)[1]
    assert lin.dtype == over.dtype
    assert np.abs(export.composite_over(lin, space="linear") - img).max() <= 2 / top


def test_sixteen_bits_keep_the_gradient_that_eight_bits_band(rng):
    img, a, colors = _scene(rng)
    err8 = np.abs(export.composite_additive(export.layer_rgba(img, a, colors)) - img).max()
    err16 = np.abs(export.composite_additive(export.layer_rgba(img, a, colors, bits=16))
                   - img).max()
    assert err16 < err8 / 100
    # the red ramp spans 3 levels of 8 bits; its 16-bit layers keep hundreds
    rgba = export.layer_rgba(img, a, colors, bits=16)
    assert len(np.unique(export.composite_additive(rgba)[..., 0])) > 100


def test_bits_are_checked(rng):
    img, a, colors = _scene(rng)
    for bad in (12, 32, True, "16"):
        with pytest.raises(ValueError, match="8 or 16"):
            export.layer_rgba(img, a, colors, bits=bad)
    with pytest.raises(ValueError, match="8 or 16"):
        export.quantize_alphas(a, bits=10)
    with pytest.raises(ValueError, match="8 or 16"):
        export.save_layers("unused", "x", img, a, colors, bit_depth=24)


def test_save_layers_16_bit_files(tmp_path, rng):
    img, a, colors = _scene(rng)
    h, w = img.shape[:2]
    prof = _profile()
    files = export.save_layers(tmp_path, "p", img, a, colors, formats=export.FORMATS + ("psd",),
                               bit_depth=16, icc_profile=prof)
    # additive layer PNGs: RGBA at 16 bits, recomposing the photo to half a level
    stack = []
    for f in files["png"]:
        arr, info = _read_png16(f.read_bytes())
        assert info["bitdepth"] == 16 and info["alpha"] and arr.shape == (h, w, 4)
        stack.append(arr)
    assert np.abs(export.composite_additive(np.stack(stack)) - img).max() <= 0.5 / 65535 + 1e-9
    # OpenRaster: 16-bit layers and merged image, an 8-bit thumbnail
    with zipfile.ZipFile(files["ora"][0]) as z:
        root = ET.fromstring(z.read("stack.xml"))
        layers = [_read_png16(z.read(el.get("src"))) for el in root.iter("layer")]
        assert all(info["bitdepth"] == 16 for _, info in layers)
        over = np.stack([arr for arr, _ in layers])
        merged, info = _read_png16(z.read("mergedimage.png"))
        assert info["bitdepth"] == 16
        with Image.open(io.BytesIO(z.read("Thumbnails/thumbnail.png"))) as th:
            assert th.mode in ("RGB", "RGBA")
        with Image.open(io.BytesIO(z.read("data/layer0.png"))) as im:
            assert im.info["icc_profile"] == prof
    comp = export.composite_over(over)
    assert np.abs(comp - img).max() <= 0.5 / 65535 + 1e-9
    np.testing.assert_array_equal(merged[..., :3], np.round(comp * 65535).astype(np.uint16))
    # PSD: a 16-bit document whose layers psd-tools reads back as written
    psd_tools = pytest.importorskip("psd_tools")
    doc = psd_tools.PSDImage.open(files["psd"][0])
    assert doc.depth == 16 and len(doc) == over.shape[0]
    bottom_first = over[::-1]
    for t, layer in enumerate(doc):
        np.testing.assert_allclose(layer.numpy() * 65535, bottom_first[t], atol=0.02)
    np.testing.assert_allclose(doc.numpy()[..., :3] * 65535, merged[..., :3], atol=0.02)
    # the overview stays an 8-bit preview
    with Image.open(files["overview"][0]) as ov:
        assert ov.mode == "RGB"


def test_export_memory_counts_the_16_bit_stack():
    base = export.export_memory(100, 200, 5)
    assert export.export_memory(100, 200, 5, bit_depth=16) > base
    assert export.export_memory(100, 200, 5, ("npz",), bit_depth=16) == \
        export.export_memory(100, 200, 5, ("npz",))


def test_read_bit_depth(tmp_path, rng):
    rgb8 = rng.integers(0, 256, size=(6, 8, 3)).astype(np.uint8)
    rgb16 = rng.integers(0, 65536, size=(6, 8, 3)).astype(np.uint16)
    Image.fromarray(rgb8).save(tmp_path / "a.jpg")
    Image.fromarray(rgb8).save(tmp_path / "a.png")
    Image.fromarray(rgb8).convert("P").save(tmp_path / "p.png")
    Image.fromarray(rgb8[..., 0] > 100).save(tmp_path / "b.png")  # 1-bit
    Image.fromarray(rgb8).save(tmp_path / "a.tif")
    (tmp_path / "c.png").write_bytes(png_bytes(rgb16))
    Image.fromarray(rgb16[..., 0]).save(tmp_path / "g.png")  # 16-bit grey
    tifffile.imwrite(tmp_path / "c.tif", rgb16, photometric="rgb")
    tifffile.imwrite(tmp_path / "f.tif", (rgb16 / 65535.0).astype(np.float32),
                     photometric="rgb")
    want = {"a.jpg": 8, "a.png": 8, "p.png": 8, "b.png": 8, "a.tif": 8, "c.png": 16,
            "g.png": 16, "c.tif": 16, "f.tif": 32}
    assert {n: read_bit_depth(tmp_path / n) for n in want} == want
    with pytest.raises(FileNotFoundError):
        read_bit_depth(tmp_path / "missing.png")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(sss.io.ImageReadError, match="not an image"):
        read_bit_depth(tmp_path / "bad.png")


@pytest.fixture
def fake(monkeypatch):
    calls = []
    monkeypatch.setattr(sss.cli, "segment", _fake_segment(calls))
    return calls


@pytest.mark.parametrize("kind, option, want", [
    ("tif16", [], 16), ("tif16", ["--bit-depth", "8"], 8),
    ("png8", [], 8), ("png8", ["--bit-depth", "16"], 16)])
def test_cli_bit_depth(tmp_path, rng, fake, capsys, kind, option, want):
    src = tmp_path / "in"
    src.mkdir()
    img16 = _gradient(rng=rng)
    if kind == "tif16":
        path = src / "photo.tif"
        tifffile.imwrite(path, img16, photometric="rgb")
        photo = img16 / 65535.0
    else:
        path = src / "photo.png"
        img8 = (img16 >> 8).astype(np.uint8)
        Image.fromarray(img8).save(path)
        photo = img8 / 255.0
    code, _, err = _run(["segment", str(path), "-o", str(tmp_path / "out"), "--layers", "3",
                         "--format", "png,ora", "-q", *option], capsys)
    assert code == 0, err
    stack = []
    for i in range(3):
        data = (tmp_path / "out" / f"photo_layer{i}.png").read_bytes()
        arr, info = _read_png16(data)
        assert info["bitdepth"] == want
        stack.append(arr.astype(np.uint16 if want == 16 else np.uint8))
    top = 2.0 ** want - 1
    assert np.abs(export.composite_additive(np.stack(stack)) - photo).max() <= 0.5 / top + 1e-9
    with zipfile.ZipFile(tmp_path / "out" / "photo.ora") as z:
        assert _read_png16(z.read("data/layer0.png"))[1]["bitdepth"] == want


def test_soft_segments_save_16_bit(tmp_path, rng):
    img = _gradient(rng=rng) / 65535.0
    res = sss.segment(img, num_layers=3, progress=False)
    files = res.save(tmp_path, formats=("png",), bit_depth=16)
    arr, info = _read_png16(files["png"][0].read_bytes())
    assert info["bitdepth"] == 16 and arr.shape == img.shape[:2] + (4,)
