"""Layered PSD output: psd-tools reads back the layers' exact pixels, and
normal blending of the stack gives the photo."""

from __future__ import annotations

import numpy as np
import pytest

from sss import cli
from sss.export import composite_over, ora_layers, save_layers
from sss.psd import psd_bytes


def _scene(h=23, w=31, k=4):
    rng = np.random.default_rng(5)
    img = rng.random((h, w, 3))
    a = rng.random((h, w, k)) ** 3
    a /= a.sum(axis=2, keepdims=True)
    colors = np.clip(img[:, :, None, :] + 0.1 * rng.standard_normal((h, w, k, 3)), 0, 1)
    return img, a, colors


def test_psd_round_trip_with_psd_tools(tmp_path):
    psd_tools = pytest.importorskip("psd_tools", reason="psd-tools is not installed "
                                    "(pip install psd-tools)")
    img, a, colors = _scene()
    written = save_layers(tmp_path, "x", img, a, colors, formats=("psd",))
    assert written == {"psd": [tmp_path / "x.psd"]}
    order, rgba = ora_layers(img, a, colors)
    psd = psd_tools.PSDImage.open(tmp_path / "x.psd")
    assert (psd.width, psd.height) == (31, 23) and psd.depth == 8
    layers = list(psd)  # bottom first
    assert len(layers) == 4
    assert [layer.name for layer in layers] == [f"layer {i}" for i in reversed(order)]
    for t, layer in enumerate(reversed(layers)):  # top first, as ora_layers
        assert layer.bbox == (0, 0, 31, 23) and layer.visible and layer.opacity == 255
        px = np.asarray(layer.topil())
        np.testing.assert_array_equal(px, rgba[t])
    # the stack blended normally is the photo (to 8-bit rounding), and so is the preview
    np.testing.assert_allclose(composite_over(rgba), img, atol=2.5 / 255)
    preview = np.asarray(psd.topil())[..., :3] / 255.0
    np.testing.assert_allclose(preview, img, atol=2.5 / 255)


def test_psd_bytes_checks_its_input():
    img, a, colors = _scene()
    _, rgba = ora_layers(img, a, colors)
    merged = np.zeros((23, 31, 3), np.uint8)
    with pytest.raises(ValueError, match="uint8"):
        psd_bytes(rgba.astype(float), merged, ["a"] * 4)
    with pytest.raises(ValueError, match="names"):
        psd_bytes(rgba, merged, ["a"])
    with pytest.raises(ValueError, match="merged"):
        psd_bytes(rgba, merged[:5], ["a"] * 4)
    data = psd_bytes(rgba, merged, ["a"] * 4)
    assert data[:4] == b"8BPS" and len(data) > 4 * 23 * 31 * 4


def test_cli_writes_psd_only_when_asked(tmp_path, monkeypatch):
    import sss
    from PIL import Image
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((20, 24, 3)) * 255).astype(np.uint8)).save(tmp_path / "p.png")

    def fake(image, features=None, *, num_layers=5, **kw):
        d = ((image[..., None, :] - rng.random((num_layers, 3))) ** 2).sum(-1)
        e = np.exp(-d / 0.05)
        import types
        return types.SimpleNamespace(alphas=(e / e.sum(-1, keepdims=True)).astype(np.float32),
                                     eigenvalues=np.zeros(3))
    monkeypatch.setattr(sss, "segment", fake)
    assert cli.main(["segment", str(tmp_path / "p.png"), "-o", str(tmp_path / "a"), "-q"]) == 0
    assert not (tmp_path / "a" / "p.psd").exists()
    assert cli.main(["segment", str(tmp_path / "p.png"), "-o", str(tmp_path / "b"), "-q",
                     "--format", "psd"]) == 0
    assert (tmp_path / "b" / "p.psd").read_bytes()[:4] == b"8BPS"


def test_psd_with_a_colour_profile_reads_back_with_psd_tools(tmp_path):
    psd_tools = pytest.importorskip("psd_tools", reason="psd-tools is not installed "
                                    "(pip install psd-tools)")
    from PIL import ImageCms
    from psd_tools.constants import Resource

    prof = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    img, a, colors = _scene()
    save_layers(tmp_path, "x", img, a, colors, formats=("psd",), icc_profile=prof)
    order, rgba = ora_layers(img, a, colors)
    psd = psd_tools.PSDImage.open(tmp_path / "x.psd")
    assert psd.image_resources.get_data(Resource.ICC_PROFILE) == prof
    for t, layer in enumerate(reversed(list(psd))):
        np.testing.assert_array_equal(np.asarray(layer.topil()), rgba[t])


def test_psd_larger_than_the_format_allows_is_refused(monkeypatch):
    """Photoshop's PSD format holds at most 2 GiB; a larger stack (a 16-bit
    45-megapixel photo's layers) is refused with the way out, not written."""
    import sss.psd as psd

    rgba = np.zeros((3, 10, 12, 4), np.uint16)
    merged = np.zeros((10, 12, 3), np.uint16)
    need = 10 * 12 * 2 * (4 * 3 + 3)
    monkeypatch.setattr(psd, "_PSD_MAX_BYTES", need - 1)
    with pytest.raises(ValueError, match=r"more than a PSD file holds.*--format ora"):
        psd.psd_bytes(rgba, merged, ["a", "b", "c"])
    monkeypatch.setattr(psd, "_PSD_MAX_BYTES", need)
    assert psd.psd_bytes(rgba, merged, ["a", "b", "c"])[:4] == b"8BPS"


def test_cli_refuses_a_psd_too_large_before_segmenting(tmp_path, monkeypatch, capsys):
    import sss.cli
    import sss.psd as psd
    from PIL import Image

    from test_cli import _fake_segment, _run

    calls = []
    monkeypatch.setattr(sss.cli, "segment", _fake_segment(calls))
    monkeypatch.setattr(psd, "_PSD_MAX_BYTES", 1000)
    src = tmp_path / "p.png"
    Image.fromarray(np.full((20, 30, 3), 128, np.uint8)).save(src)
    code, _, err = _run(["segment", str(src), "-o", str(tmp_path / "out"), "--format", "psd",
                         "-q"], capsys)
    assert code != 0 and "more than a PSD file holds" in err
    assert calls == []  # refused before the segmentation


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_psd_writer_by_bands_is_psd_bytes(dtype):
    from sss.psd import PsdWriter, psd_bytes

    rng = np.random.default_rng(7)
    top = np.iinfo(dtype).max
    rgba = rng.integers(0, top, (3, 11, 7, 4), endpoint=True).astype(dtype)
    merged = rng.integers(0, top, (11, 7, 3), endpoint=True).astype(dtype)
    names = ["sky", "ground", "a person"]
    whole = psd_bytes(rgba, merged, names)
    psd = PsdWriter(11, 7, names, 8 * np.dtype(dtype).itemsize)
    for y in (8, 0, 4):  # any order, any band heights
        y1 = {8: 11, 0: 4, 4: 8}[y]
        psd.write(y, rgba[:, y:y1], merged[y:y1])
    assert bytes(psd.finish()) == whole
    with pytest.raises(ValueError, match=r"layer rows must be \(3, n, 7, 4\)"):
        psd.write(0, rgba[:2], merged)
    with pytest.raises(ValueError, match="merged rows"):
        psd.write(0, rgba[:, :2], merged[:3])
    with pytest.raises(ValueError, match="outside the document"):
        psd.write(10, rgba[:, :2], merged[:2])
    with pytest.raises(ValueError, match="2 layers but 3 names"):
        PsdWriter(11, 7, names, 8, num_layers=2)
    with pytest.raises(ValueError, match="8 or 16 bits"):
        PsdWriter(11, 7, names, 12)
