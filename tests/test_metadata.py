"""EXIF metadata: the photo's capture date, camera and other tags are copied
into the files written from it (so photo managers file the layers with the
photo), with the orientation set to upright since the pixels are; the
--no-metadata switch leaves them out."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import sss
import sss.cli
from sss import cli, export
from sss.io import read_exif

from test_cli import _fake_segment

DATE = "2024:05:01 10:00:00"


@pytest.fixture
def fake(monkeypatch):
    calls = []
    monkeypatch.setattr(sss.cli, "segment", _fake_segment(calls))
    return calls


def _camera_jpeg(path, orientation=6):
    yy, xx = np.mgrid[0:30, 0:44]
    arr = (np.stack([xx / 44, yy / 30, 0.5 + 0 * xx], -1) * 255).astype(np.uint8)
    ex = Image.Exif()
    ex[0x0112] = orientation
    ex[0x010F] = "Canon"
    ex[0x0110] = "EOS R5"
    ex.get_ifd(0x8769)[0x9003] = DATE          # DateTimeOriginal, in the Exif sub-IFD
    ex.get_ifd(0x8825)[1] = "N"                 # GPSLatitudeRef, in the GPS sub-IFD
    Image.fromarray(arr).save(path, quality=95, exif=ex.tobytes())
    return path


def _load(data):
    ex = Image.Exif()
    ex.load(data)
    return ex


def _tags(exif):
    return (exif.get(0x0112), exif.get(0x010F), exif.get(0x0110),
            exif.get_ifd(0x8769).get(0x9003), exif.get_ifd(0x8825).get(1))


def test_read_exif_keeps_the_tags_and_sets_the_orientation_upright(tmp_path):
    p = _camera_jpeg(tmp_path / "c.jpg")
    data = read_exif(p)
    ex = Image.Exif()
    ex.load(data)
    assert _tags(ex) == (1, "Canon", "EOS R5", DATE, "N")
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(plain)
    assert read_exif(plain) is None
    with pytest.raises(FileNotFoundError):
        read_exif(tmp_path / "missing.jpg")


def test_segment_copies_the_metadata_unless_told_not_to(tmp_path, fake):
    p = _camera_jpeg(tmp_path / "c.jpg")
    out = tmp_path / "o"
    assert cli.main(["segment", str(p), "-o", str(out), "--layers", "3", "-q"]) == 0
    for f in ["c_overview.png"] + [f"c_layer{i}.png" for i in range(3)]:
        with Image.open(out / f) as im:
            assert _tags(im.getexif()) == (1, "Canon", "EOS R5", DATE, "N"), f
    with Image.open(out / "c_layer0.png") as im:
        assert im.size == (30, 44)  # upright: rotated by the orientation tag, once
    seg = sss.load(out / "c_alphas.npz")
    assert seg.exif == read_exif(p)
    seg.save(tmp_path / "again", formats=("png",))  # kept by sss.load and save
    with Image.open(tmp_path / "again" / "segments_layer0.png") as im:
        assert _tags(im.getexif())[1:4] == ("Canon", "EOS R5", DATE)
    out2 = tmp_path / "o2"
    assert cli.main(["segment", str(p), "-o", str(out2), "--layers", "3", "-q",
                     "--no-metadata"]) == 0
    with Image.open(out2 / "c_layer0.png") as im:
        assert not im.getexif()
    with np.load(out2 / "c_alphas.npz") as z:
        assert "exif" not in z.files


def test_save_layers_checks_exif(tmp_path, rng):
    img = rng.random((10, 12, 3))
    a = sss.normalize_alphas(rng.random((10, 12, 2)))
    with pytest.raises(TypeError, match="exif must be bytes"):
        export.save_layers(tmp_path / "x", "x", img, a, formats=("png",), exif="Canon")
    assert not (tmp_path / "x").exists()


def test_read_exif_of_a_tiff_keeps_the_description_not_the_file_layout(tmp_path):
    ex = Image.Exif()
    ex[0x010F] = "Nikon"
    ex.get_ifd(0x8769)[0x9003] = DATE
    p = tmp_path / "t.tif"
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(p, exif=ex.tobytes())
    with Image.open(p) as im:
        assert 273 in im.getexif()  # the TIFF's own IFD0 holds its strip offsets...
    got = Image.Exif()
    got.load(read_exif(p))
    assert got.get(0x010F) == "Nikon" and got.get_ifd(0x8769).get(0x9003) == DATE
    assert not {256, 257, 258, 259, 262, 273, 277, 278, 279, 284} & set(got)  # ...not copied
    # tifffile writes its own description (the array's shape as JSON) and name: not copied
    import tifffile
    t = tmp_path / "tf.tif"
    tifffile.imwrite(t, np.zeros((20, 30, 3), np.uint16), photometric="rgb")
    with Image.open(t) as im:
        assert {0x010E, 0x0131} <= set(im.getexif())
    assert read_exif(t) is None or not {0x010E, 0x0131} & set(_load(read_exif(t)))
    plain = tmp_path / "plain.tif"
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(plain)
    assert read_exif(plain) is None  # layout tags only: no metadata


def test_tiffs_only_tifffile_reads_give_their_profile_and_no_exif(tmp_path, fake):
    """Floating-point TIFFs: Pillow cannot open them, imread reads them with
    tifffile; the profile and metadata readers must not fail on them."""
    import tifffile
    from PIL import ImageCms

    prof = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    p = tmp_path / "f.tif"
    tifffile.imwrite(p, np.random.default_rng(0).random((20, 30, 3)).astype(np.float32),
                     photometric="rgb", extratags=[(34675, 7, len(prof), prof, True)])
    q = tmp_path / "g.tif"
    tifffile.imwrite(q, np.random.default_rng(0).random((20, 30, 3)).astype(np.float32),
                     photometric="rgb")
    assert sss.io.read_icc_profile(p) == prof and sss.io.read_icc_profile(q) is None
    assert read_exif(p) is None
    assert cli.main(["segment", str(p), "-o", str(tmp_path / "o"), "--layers", "2", "-q",
                     "--format", "png"]) == 0
    with Image.open(tmp_path / "o" / "f_layer0.png") as im:
        assert im.info.get("icc_profile") == prof
