"""Colour profiles: a photo's embedded ICC profile is read and carried into
every output file, so that editors and viewers show the layers in the
photo's colours (a Display P3 or Adobe RGB photo shown as sRGB looks dull)."""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np
import pytest
from PIL import Image, ImageCms

import sss
import sss.cli
from sss import cli, export
from sss.io import read_icc_profile

from test_cli import _fake_segment


def _profile(kind: str = "sRGB") -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile(kind)).tobytes()


@pytest.fixture
def fake(monkeypatch):
    calls = []
    monkeypatch.setattr(sss.cli, "segment", _fake_segment(calls))
    return calls


def _photo(h=30, w=44):
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx / w, yy / h, 0.5 + 0.4 * np.sin(xx / 4.0)], -1)
    return (img * 255).round().astype(np.uint8)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF"])
def test_read_icc_profile_returns_the_embedded_bytes(tmp_path, fmt):
    prof = _profile("sRGB")  # its bytes must come back unchanged
    p = tmp_path / f"p.{fmt.lower()}"
    Image.fromarray(_photo()).save(p, format=fmt, icc_profile=prof)
    assert read_icc_profile(p) == prof
    q = tmp_path / f"q.{fmt.lower()}"
    Image.fromarray(_photo()).save(q, format=fmt)
    assert read_icc_profile(q) is None
    # a profile of non-RGB data does not describe the RGB values imread gives
    r = tmp_path / f"r.{fmt.lower()}"
    Image.fromarray(_photo()).save(r, format=fmt, icc_profile=_profile("LAB"))
    with pytest.warns(UserWarning, match="ignoring its colour profile.*'Lab'"):
        assert read_icc_profile(r) is None


def test_check_icc_profile():
    prof = _profile()
    assert sss.io.check_icc_profile(prof) == prof
    assert sss.io.check_icc_profile(bytearray(prof)) == prof
    assert sss.io.check_icc_profile(None) is None
    with pytest.raises(ValueError, match="'Lab'"):
        sss.io.check_icc_profile(_profile("LAB"))
    with pytest.raises(ValueError, match="acsp"):
        sss.io.check_icc_profile(prof[:100])


def test_read_icc_profile_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_icc_profile(tmp_path / "missing.jpg")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(sss.io.ImageReadError, match="not an image"):
        read_icc_profile(bad)


def _psd_icc(data: bytes):
    """The ICC profile image resource (ID 1039) of a PSD file, or None."""
    assert data[:4] == b"8BPS"
    pos = 26
    (n,) = struct.unpack(">I", data[pos:pos + 4])  # colour mode data
    pos += 4 + n
    (n,) = struct.unpack(">I", data[pos:pos + 4])  # image resources
    res, end = pos + 4, pos + 4 + n
    while res < end:
        assert data[res:res + 4] == b"8BIM"
        (rid,) = struct.unpack(">H", data[res + 4:res + 6])
        nlen = data[res + 6]
        res += 6 + 1 + nlen + ((1 + nlen) % 2)
        (size,) = struct.unpack(">I", data[res:res + 4])
        body = data[res + 4:res + 4 + size]
        res += 4 + size + size % 2
        if rid == 1039:
            return body
    return None


def test_segment_carries_the_photo_profile_into_every_file(tmp_path, fake):
    prof = _profile()
    p = tmp_path / "in" / "photo.jpg"
    p.parent.mkdir()
    Image.fromarray(_photo()).save(p, quality=95, icc_profile=prof)
    out = tmp_path / "out"
    assert cli.main(["segment", str(p), "-o", str(out), "--layers", "3", "-q",
                     "--format", "overview,png,ora,npz,psd"]) == 0
    for f in ["photo_overview.png"] + [f"photo_layer{i}.png" for i in range(3)]:
        with Image.open(out / f) as im:
            assert im.info.get("icc_profile") == prof, f
    with zipfile.ZipFile(out / "photo.ora") as z:
        for entry in z.namelist():
            if entry.endswith(".png"):
                with Image.open(io.BytesIO(z.read(entry))) as im:
                    assert im.info.get("icc_profile") == prof, entry
    assert _psd_icc((out / "photo.psd").read_bytes()) == prof
    with np.load(out / "photo_alphas.npz") as z:
        assert z["icc_profile"].dtype == np.uint8 and z["icc_profile"].tobytes() == prof
    # a photo without a profile gives files without one (read as sRGB)
    q = tmp_path / "in" / "plain.jpg"
    Image.fromarray(_photo()).save(q, quality=95)
    assert cli.main(["segment", str(q), "-o", str(out), "--layers", "3", "-q",
                     "--format", "png,psd,npz"]) == 0
    with Image.open(out / "plain_layer0.png") as im:
        assert "icc_profile" not in im.info
    assert _psd_icc((out / "plain.psd").read_bytes()) is None
    with np.load(out / "plain_alphas.npz") as z:
        assert "icc_profile" not in z.files


def test_the_profile_does_not_change_the_pixels(tmp_path, rng):
    img = _photo() / 255.0
    a = sss.normalize_alphas(rng.random(img.shape[:2] + (3,)))
    c = sss.estimate_layer_colors(img, a)
    export.save_layers(tmp_path / "a", "x", img, a, c, formats=("png", "ora", "psd"))
    export.save_layers(tmp_path / "b", "x", img, a, c, formats=("png", "ora", "psd"),
                       icc_profile=_profile())
    for i in range(3):
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "a" / f"x_layer{i}.png")),
                                      np.asarray(Image.open(tmp_path / "b" / f"x_layer{i}.png")))
    # the PSD differs only by the resource: its pixel data (the file's tail) is equal
    pa, pb = (tmp_path / "a" / "x.psd").read_bytes(), (tmp_path / "b" / "x.psd").read_bytes()
    assert len(pb) > len(pa) and pa[-2000:] == pb[-2000:]


def test_a_profile_that_is_not_one_is_refused(tmp_path, rng):
    img = _photo() / 255.0
    a = sss.normalize_alphas(rng.random(img.shape[:2] + (2,)))
    for bad, match in [(b"\0" * 200, "not an ICC profile"), ("text", "bytes")]:
        with pytest.raises((ValueError, TypeError), match=match):
            export.save_layers(tmp_path / "c", "x", img, a, formats=("png",), icc_profile=bad)
    assert not (tmp_path / "c").exists()


def test_save_result_and_load_keep_the_profile(tmp_path, rng):
    img = _photo() / 255.0
    seg = sss.segment(img, num_layers=2, progress=False)
    prof = _profile()
    seg.save(tmp_path, formats=("png", "npz"), icc_profile=prof)
    with Image.open(tmp_path / "segments_layer0.png") as im:
        assert im.info.get("icc_profile") == prof
    back = sss.load(tmp_path / "segments_alphas.npz")
    assert back.icc_profile == prof
    back.save(tmp_path / "again", formats=("png",))  # the loaded profile is kept
    with Image.open(tmp_path / "again" / "segments_layer0.png") as im:
        assert im.info.get("icc_profile") == prof
