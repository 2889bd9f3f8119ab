"""Camera raw files (DNG, CR2, NEF, ARW...): developed by LibRaw through the
optional rawpy, at 16 bits, upright, in sRGB. The test photos are DNGs made
here from a known image (a Bayer mosaic of its linear values with the DNG
tags LibRaw needs), so the developed photo can be compared with it."""

from __future__ import annotations

import sys

import numpy as np
import png
import pytest
import tifffile
from PIL import Image

import sss
import sss.cli
from sss.io import ImageReadError, PhotoTooLargeError, read_bit_depth, read_exif, \
    read_icc_profile

from test_cli import _fake_segment, _run

rawpy = pytest.importorskip("rawpy", reason="rawpy (the [raw] extra) is not installed")

#: XYZ (D65) -> linear sRGB: as the DNG's ColorMatrix1, the "camera" is linear sRGB
_XYZ_TO_SRGB = np.array([[3.2404542, -1.5371385, -0.4985314],
                         [-0.9692660, 1.8760108, 0.0415560],
                         [0.0556434, -0.2040259, 1.0572252]])


def _scene(h=96, w=128):
    """A smooth colourful sRGB image in [0, 1] with a sharp-edged square."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([0.2 + 0.6 * xx / w, 0.3 + 0.5 * yy / h,
                    0.5 + 0.3 * np.sin(xx / 9.0) * np.cos(yy / 7.0)], -1)
    img[h // 4:h // 2, w // 4:w // 2] = [0.9, 0.2, 0.1]
    return img


def _write_dng(path, img, orientation=1):
    """A Bayer (RGGB) DNG of the sRGB image `img`, 12-bit data."""
    lin = np.where(img <= 0.04045, img / 12.92, ((img + 0.055) / 1.055) ** 2.4)
    cfa = np.empty(img.shape[:2])
    cfa[0::2, 0::2] = lin[0::2, 0::2, 0]
    cfa[0::2, 1::2] = lin[0::2, 1::2, 1]
    cfa[1::2, 0::2] = lin[1::2, 0::2, 1]
    cfa[1::2, 1::2] = lin[1::2, 1::2, 2]
    data = np.round(cfa * 4000 + 64).astype(np.uint16)

    def srational(values):
        return [v for x in np.ravel(values) for v in (int(round(x * 10000)), 10000)]

    tags = [(50706, "B", 4, (1, 4, 0, 0), True),          # DNGVersion
            (50707, "B", 4, (1, 1, 0, 0), True),          # DNGBackwardVersion
            (50708, "s", 0, "sss test camera", True),     # UniqueCameraModel
            (33421, "H", 2, (2, 2), True),                # CFARepeatPatternDim
            (33422, "B", 4, (0, 1, 1, 2), True),          # CFAPattern: RGGB
            (50714, "H", 1, 64, True),                    # BlackLevel
            (50717, "H", 1, 4064, True),                  # WhiteLevel
            (50721, "2i", 9, srational(_XYZ_TO_SRGB), True),  # ColorMatrix1
            (50778, "H", 1, 21, True),                    # CalibrationIlluminant1: D65
            (50728, "2I", 3, [10000, 10000] * 3, True),   # AsShotNeutral
            (271, "s", 0, "SSS Cameras", True),           # Make
            (272, "s", 0, "Test Body", True),             # Model
            (306, "s", 0, "2026:11:30 10:20:30", True),   # DateTime
            (274, "H", 1, orientation, True)]             # Orientation
    tifffile.imwrite(path, data, photometric=32803, extratags=tags, subfiletype=0)


@pytest.fixture
def dng(tmp_path):
    img = _scene()
    p = tmp_path / "photo.dng"
    _write_dng(p, img)
    return p, img


def test_imread_develops_a_raw_file(dng):
    p, img = dng
    out = sss.imread(p)
    assert out.shape == img.shape and out.dtype == np.float64
    assert 0.0 <= out.min() and out.max() <= 1.0
    inner = (slice(2, -2), slice(2, -2))  # demosaicing at the borders is rough
    err = np.abs(out[inner] - img[inner])
    assert np.median(err) < 0.05, np.median(err)
    assert np.corrcoef(out[inner].ravel(), img[inner].ravel())[0, 1] > 0.99
    # the red square comes out red: colour matrix and white balance are applied
    r, g, b = out[40, 45]
    assert r > 0.7 and g < 0.4 and b < 0.4, (r, g, b)
    # more than 8 bits of precision: many more levels than an 8-bit decode
    assert len(np.unique(out[..., 1])) > 256


def test_raw_metadata(dng):
    p, _ = dng
    assert read_bit_depth(p) == 16
    assert read_icc_profile(p) is None  # developed to sRGB
    ex = Image.Exif()
    ex.load(read_exif(p))
    assert ex[271] == "SSS Cameras" and ex[272] == "Test Body"
    assert ex[306] == "2026:11:30 10:20:30"


def test_raw_orientation_is_applied(tmp_path):
    img = _scene()
    p = tmp_path / "rot.dng"
    _write_dng(p, img, orientation=6)  # camera held rotated: 90 degrees clockwise
    out = sss.imread(p)
    assert out.shape == (img.shape[1], img.shape[0], 3)
    inner = (slice(3, -3), slice(3, -3))
    assert np.median(np.abs(out[inner] - np.rot90(img, -1)[inner])) < 0.05
    ex = Image.Exif()
    ex.load(read_exif(p))
    assert ex[274] == 1  # the written files are upright


def test_raw_max_side_and_max_pixels(dng):
    p, img = dng
    small = sss.imread(p, max_side=30)
    assert 30 <= max(small.shape[:2]) <= 60
    with pytest.raises(PhotoTooLargeError, match="max_pixels"):
        sss.imread(p, max_pixels=1000)


def test_bad_raw_files_raise_clear_errors(tmp_path, dng):
    p, _ = dng
    junk = tmp_path / "junk.cr2"
    junk.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(ImageReadError, match="camera raw file"):
        sss.imread(junk)
    cut = tmp_path / "cut.dng"
    cut.write_bytes(p.read_bytes()[:300])
    with pytest.raises(ImageReadError, match="camera raw file"):
        sss.imread(cut)
    with pytest.raises(FileNotFoundError):
        sss.imread(tmp_path / "missing.nef")


def test_without_rawpy_the_error_says_what_to_install(dng, monkeypatch):
    p, _ = dng
    monkeypatch.setitem(sys.modules, "rawpy", None)  # import rawpy fails
    with pytest.raises(ImageReadError, match=r"pip install rawpy"):
        sss.imread(p)


@pytest.fixture
def fake(monkeypatch):
    calls = []
    monkeypatch.setattr(sss.cli, "segment", _fake_segment(calls))
    return calls


def _png_depth(path):
    return png.Reader(filename=str(path)).read()[3]["bitdepth"]


def test_cli_segments_raw_files_in_a_folder(tmp_path, dng, fake, capsys):
    p, img = dng
    Image.fromarray((img * 255).round().astype(np.uint8)).save(p.parent / "other.jpg")
    code, _, err = _run(["segment", str(p.parent), "-o", str(tmp_path / "out"),
                         "--layers", "3", "--format", "png", "-q"], capsys)
    assert code == 0, err
    assert _png_depth(tmp_path / "out" / "photo_layer0.png") == 16  # auto: a raw is 16-bit
    assert _png_depth(tmp_path / "out" / "other_layer0.png") == 8
    with Image.open(tmp_path / "out" / "photo_layer0.png") as im:
        assert im.getexif()[272] == "Test Body"
    assert {c["shape"] for c in fake} == {img.shape}


def test_cli_without_rawpy_skips_raw_files_in_folders(tmp_path, dng, fake, capsys,
                                                      monkeypatch):
    p, img = dng
    Image.fromarray((img * 255).round().astype(np.uint8)).save(p.parent / "other.jpg")
    monkeypatch.setattr(sss.cli, "_have_rawpy", lambda: False)
    code, _, err = _run(["segment", str(p.parent), "-o", str(tmp_path / "out"),
                         "--layers", "3", "--format", "png", "-q"], capsys)
    assert code == 0, err
    assert "skipped 1 camera raw file" in err and "rawpy" in err
    assert (tmp_path / "out" / "other_layer0.png").exists()
    assert not (tmp_path / "out" / "photo_layer0.png").exists()
