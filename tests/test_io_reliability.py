"""Reliability of the file functions: imsave writes atomically, imread turns
every damaged file into an ImageReadError and applies its own size limit
(not Pillow's), floating-point files outside [0, 1] are refused, and
sss.load names the file and the problem for damaged results."""

from __future__ import annotations

import gc
import os
import struct
import subprocess
import sys
import textwrap
import threading
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

import sss
import sss.io as sio
from sss.io import ImageReadError, PhotoTooLargeError, imread, imsave


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_bytes(w: int, h: int, *, idat: bytes | None = None, after=()) -> bytes:
    """An 8-bit RGB PNG whose header says w x h, with a tiny IDAT (a few
    rows of zeros: decoding it fails as truncated) and the chunks `after`
    (kind, data) between the IDAT and the IEND."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    if idat is None:
        idat = zlib.compress(b"\0" * 64)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat)
            + b"".join(_chunk(k, d) for k, d in after) + _chunk(b"IEND", b""))


def _images(rng, bits):
    """(an image, another image) to write with `bits`."""
    if bits == 8:
        return rng.random((12, 10, 3)), rng.random((60, 50, 3))
    return ((rng.random((12, 10, 3)) * 65535).astype(np.uint16),
            (rng.random((60, 50, 3)) * 65535).astype(np.uint16))


# the writers of imsave: Pillow (8-bit), pypng (16-bit PNG), tifffile (16-bit TIFF)
WRITERS = [("a.png", 8), ("a.png", 16), ("a.tif", 16), ("a.tif", 8), ("a.jpg", 8)]


# ---------------------------------------------------------------- imsave is atomic
def _break_encoder(monkeypatch, name, bits):
    """Make imsave's encoder for `name` at `bits` write part of a file and fail."""
    import png
    import tifffile

    class EncoderFailed(RuntimeError):
        pass

    def partial(fp, *args, **kwargs):
        fp.write(b"partial data " * 50)
        raise EncoderFailed("the encoder failed midway")

    if bits == 16 and name.endswith(".png"):
        monkeypatch.setattr(png.Writer, "write", lambda self, fp, rows: partial(fp))
    elif bits == 16:
        monkeypatch.setattr(tifffile, "imwrite", lambda fp, *a, **k: partial(fp))
    else:
        monkeypatch.setattr(Image.Image, "save", lambda self, fp, *a, **k: partial(fp))
    return EncoderFailed


@pytest.mark.parametrize("name,bits", WRITERS)
def test_imsave_failing_encoder_leaves_the_previous_file(tmp_path, rng, monkeypatch,
                                                         name, bits):
    first, second = _images(rng, bits)
    target = tmp_path / name
    imsave(target, first, bits=bits)
    before = target.read_bytes()
    failed = _break_encoder(monkeypatch, name, bits)
    with pytest.raises(failed):
        imsave(target, second, bits=bits)
    assert target.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == [name]  # no temporary file left
    monkeypatch.undo()
    imread(target)  # still a good image


@pytest.mark.parametrize("name,bits", WRITERS[:3])
def test_imsave_failing_rename_leaves_the_previous_file(tmp_path, rng, monkeypatch, name,
                                                        bits):
    first, second = _images(rng, bits)
    target = tmp_path / name
    imsave(target, first, bits=bits)
    before = target.read_bytes()

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        imsave(target, second, bits=bits)
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == [name]


@pytest.mark.skipif(sys.platform == "win32",
                    reason="needs resource.setrlimit (POSIX)")
@pytest.mark.parametrize("name,bits", WRITERS[:3])
def test_imsave_file_size_limit_leaves_the_previous_file(tmp_path, rng, name, bits):
    """A write that fails part way (EFBIG under ``ulimit -f``, as a full disk
    would) leaves the earlier file byte for byte and no temporary file."""
    target = tmp_path / name
    imsave(target, np.zeros((10, 10, 3)), bits=bits)
    before = target.read_bytes()
    script = textwrap.dedent(f"""
        import resource, sys
        import numpy as np
        import sss
        big = np.random.default_rng(0).random((400, 400, 3))  # far more than 64 kB encoded
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
        try:
            sss.imsave({str(target)!r}, big, bits={bits})
        except OSError as e:
            print("OSError", e.errno)
            sys.exit(0)
        sys.exit(3)
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("OSError")
    assert target.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == [name]


def test_imsave_writes_the_same_files_and_replaces_symlinks(tmp_path, rng):
    img = rng.random((9, 11, 3))
    imsave(tmp_path / "a.png", img)
    expect = tmp_path / "pillow.png"
    Image.fromarray(np.round(img * 255).astype(np.uint8)).save(expect)
    assert (tmp_path / "a.png").read_bytes() == expect.read_bytes()  # as before
    # an existing symlink is replaced, not written through (as SoftSegments.save does)
    other = tmp_path / "other.png"
    imsave(other, np.zeros((3, 3)))
    kept = other.read_bytes()
    (tmp_path / "link.png").symlink_to(other)
    imsave(tmp_path / "link.png", img)
    assert other.read_bytes() == kept
    assert not (tmp_path / "link.png").is_symlink()
    np.testing.assert_allclose(imread(tmp_path / "link.png"), img, atol=0.5 / 255 + 1e-12)


def test_imsave_errors_leave_nothing(tmp_path, rng):
    img = rng.random((5, 5, 3))
    with pytest.raises(ValueError, match="unknown image file extension"):
        imsave(tmp_path / "a.xyz", img)
    with pytest.raises(OSError):  # Pillow cannot write RGBA as JPEG
        imsave(tmp_path / "a.jpg", rng.random((5, 5, 4)))
    (tmp_path / "d.png").mkdir()
    with pytest.raises(IsADirectoryError):
        imsave(tmp_path / "d.png", img)
    with pytest.raises(FileNotFoundError):
        imsave(tmp_path / "missing" / "a.png", img)
    assert sorted(os.listdir(tmp_path)) == ["d.png"]


# ---------------------------------------------------------------- 16-bit PNG read errors
@pytest.fixture
def png16(tmp_path, rng):
    p = tmp_path / "sixteen.png"
    imsave(p, (rng.random((64, 64, 3)) * 65535).astype(np.uint16))
    return p


@pytest.mark.parametrize("keep", [0.3, 0.5, 0.9, -12])
def test_truncated_16bit_png_is_an_image_read_error(tmp_path, png16, keep):
    data = png16.read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[:int(len(data) * keep)] if keep > 0 else data[:keep])
    with pytest.raises(ImageReadError, match="cut.png"):
        imread(cut)


def test_corrupt_16bit_png_is_an_image_read_error(tmp_path, png16):
    data = bytearray(png16.read_bytes())
    idat = data.index(b"IDAT")
    for offset in (20, 200, 2000):  # a flipped byte in the compressed pixels
        bad = data.copy()
        bad[idat + offset] ^= 0x5A
        p = tmp_path / f"bad{offset}.png"
        p.write_bytes(bytes(bad))
        with pytest.raises(ImageReadError, match=f"bad{offset}.png"):
            imread(p)


def _resource_warnings(read):
    """The ResourceWarnings (unclosed files) of calling `read`."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read()
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


def test_16bit_png_read_closes_its_file(png16, tmp_path):
    assert _resource_warnings(lambda: imread(png16)) == []
    cut = tmp_path / "cut.png"
    cut.write_bytes(png16.read_bytes()[:3000])

    def read_cut():
        with pytest.raises(ImageReadError):
            imread(cut)

    assert _resource_warnings(read_cut) == []


# ---------------------------------------------------------------- size limit: sss's, not Pillow's
def test_huge_header_is_refused_by_max_pixels_not_pillow(tmp_path, monkeypatch):
    p = tmp_path / "bomb.png"
    p.write_bytes(_png_bytes(50000, 50000))
    loads = []
    real_load = Image.Image.load
    monkeypatch.setattr(Image.Image, "load", lambda im: loads.append(1) or real_load(im))
    with pytest.raises(PhotoTooLargeError, match="bomb.png.*max_pixels=120000000") as e:
        imread(p)
    assert "decompression bomb" not in str(e.value)
    assert loads == []  # refused from the header, nothing decoded
    # the metadata readers the command line uses only read the header
    assert sio.read_bit_depth(p) == 8
    assert sio.read_icc_profile(p) is None
    assert sio.read_exif(p) is None
    assert loads == []


def test_max_pixels_can_be_raised_above_pillows_limit(tmp_path, monkeypatch):
    p = tmp_path / "bomb.png"
    p.write_bytes(_png_bytes(50000, 50000))

    class ReachedMemoryCheck(Exception):
        pass

    def memory_check(nbytes, what, *args, **kwargs):
        raise ReachedMemoryCheck(what)

    monkeypatch.setattr(sio, "check_memory", memory_check)
    with pytest.raises(ReachedMemoryCheck, match="bomb.png"):  # past every size limit
        imread(p, max_pixels=3 * 10**9)
    with pytest.raises(ReachedMemoryCheck):
        imread(p, max_pixels=None)
    monkeypatch.undo()
    monkeypatch.setenv("SSS_MEMORY_LIMIT", "1e9")
    with pytest.raises(MemoryError, match="reading .*bomb.png"):
        imread(p, max_pixels=3 * 10**9)


def test_pillows_limit_is_not_applied_and_stays_for_other_code(tmp_path, monkeypatch):
    # a lowered Pillow limit makes small files "bombs", so they can be decoded here
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    rng = np.random.default_rng(0)
    big = (rng.random((100, 100, 3)) * 255).astype(np.uint8)  # 10000 > 2 x 1000: an error
    mid = big[:40, :40]  # 1600 pixels: Pillow's warning
    Image.fromarray(big).save(tmp_path / "big.png")
    Image.fromarray(mid).save(tmp_path / "mid.tif")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # DecompressionBombWarning included
        np.testing.assert_array_equal(imread(tmp_path / "big.png"), big / 255.0)
        np.testing.assert_array_equal(imread(tmp_path / "mid.tif"), mid / 255.0)
        assert sio.read_bit_depth(tmp_path / "big.png") == 8
    with pytest.raises(PhotoTooLargeError, match="max_pixels=5000"):
        imread(tmp_path / "big.png", max_pixels=5000)
    # the user's own code keeps Pillow's limit, in this thread and in others
    assert Image.MAX_IMAGE_PIXELS == 1000
    with pytest.raises(Image.DecompressionBombError):
        Image.open(tmp_path / "big.png")
    with pytest.warns(Image.DecompressionBombWarning):
        Image.open(tmp_path / "mid.tif").close()
    errors = []

    def other_thread():
        try:
            Image.open(tmp_path / "big.png")
        except Image.DecompressionBombError as e:
            errors.append(e)

    with sio._sss_size_limit():  # while this thread reads a photo
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
        Image.open(tmp_path / "big.png").close()  # not refused in this thread
    assert len(errors) == 1
    with pytest.raises(Image.DecompressionBombError):  # switched back on here
        Image.open(tmp_path / "big.png")


def test_png_exif_after_the_pixels_is_read_without_decoding(tmp_path, monkeypatch):
    ex = Image.Exif()
    ex[0x010F] = "sss test camera"  # Make
    ex[0x0112] = 6
    raw = ex.tobytes()
    arr = np.zeros((4, 5, 3), np.uint8)
    p = tmp_path / "late_exif.png"
    Image.fromarray(arr).save(p)  # then the eXIf chunk moved after the IDAT
    data = p.read_bytes()
    iend = data.rindex(b"IEND") - 4
    p.write_bytes(data[:iend] + _chunk(b"eXIf", raw[6:] if raw.startswith(b"Exif") else raw)
                  + data[iend:])
    with Image.open(p) as im:
        assert "exif" not in im.info  # Pillow finds it only by decoding the image
    loads = []
    real_load = Image.Image.load
    monkeypatch.setattr(Image.Image, "load", lambda im: loads.append(1) or real_load(im))
    got = Image.Exif()
    got.load(sio.read_exif(p))
    assert loads == []
    assert got[0x010F] == "sss test camera" and got[0x0112] == 1
    monkeypatch.undo()
    assert imread(p).shape == (5, 4, 3)  # imread applies the orientation as before


# ---------------------------------------------------------------- floating-point files
def _float_tiff(path, arr):
    import tifffile

    tifffile.imwrite(path, np.asarray(arr, np.float32),
                     photometric="rgb" if np.ndim(arr) == 3 else "minisblack")
    return path


@pytest.mark.parametrize("grey", [False, True])
def test_float_tiff_of_0_255_values_is_refused(tmp_path, rng, grey):
    shape = (6, 7) if grey else (6, 7, 3)
    a = np.round(rng.random(shape) * 200) + 20
    a.flat[0], a.flat[1] = 20, 220
    p = _float_tiff(tmp_path / "f255.tif", a)
    with pytest.raises(ImageReadError, match=r"f255.tif: .*values in \[20, 220\].*"
                       r"\[0, 1\].*8- or 16-bit") as e:
        imread(p)
    assert "\n" not in str(e.value)
    assert isinstance(e.value, ValueError)


@pytest.mark.parametrize("grey", [False, True])
def test_float_tiff_in_0_1_is_read_and_small_overshoot_clipped(tmp_path, rng, grey):
    shape = (6, 7) if grey else (6, 7, 3)
    a = rng.random(shape).astype(np.float32)
    want = np.repeat(a[..., None], 3, axis=2) if grey else a
    np.testing.assert_array_equal(imread(_float_tiff(tmp_path / "ok.tif", a)), want)
    b = a.copy()
    b.flat[0], b.flat[1] = -0.05, 1.08  # e.g. a bicubic resize's overshoot
    out = imread(_float_tiff(tmp_path / "over.tif", b))
    assert out.min() == 0.0 and out.max() == 1.0
    np.testing.assert_array_equal(out.reshape(-1, 3)[2:], want.reshape(-1, 3)[2:])
    c = a.copy()
    c.flat[0] = 1.2
    with pytest.raises(ImageReadError, match=r"over2.tif: .*values in \[.*, 1.2\]"):
        imread(_float_tiff(tmp_path / "over2.tif", c))


def test_float_tiff_max_side_and_max_pixels(tmp_path):
    g = np.linspace(0.2, 0.4, 64 * 64).reshape(64, 64)
    rgb = np.dstack([g, g[::-1], 1 - g])
    for name, arr in (("grey.tif", g), ("rgb.tif", rgb)):
        p = _float_tiff(tmp_path / name, arr)
        small = imread(p, max_side=8)  # box-filtered, not rounded to 0 or 1
        assert small.shape == (8, 8, 3)
        assert 0.2 <= small[..., 0].min() < small[..., 0].max() <= 0.4
        with pytest.raises(PhotoTooLargeError, match=name):
            imread(p, max_pixels=1000)


def test_truncated_float_tiff_is_an_image_read_error(tmp_path, rng):
    p = _float_tiff(tmp_path / "f.tif", rng.random((40, 40, 3)))
    data = p.read_bytes()
    for keep in (0.2, 0.6):
        cut = tmp_path / f"cut{keep}.tif"
        cut.write_bytes(data[:int(len(data) * keep)])
        with pytest.raises(ImageReadError, match=cut.name):
            imread(cut)


def test_unsupported_pixel_type_names_the_file(tmp_path):
    import tifffile

    tifffile.imwrite(tmp_path / "i16.tif", np.zeros((4, 4), np.int16))
    with pytest.raises(ImageReadError, match="i16.tif"):
        imread(tmp_path / "i16.tif")


# ---------------------------------------------------------------- sss.load
@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A result file written by SoftSegments.save."""
    from _pipeline_cases import small

    rng = np.random.default_rng(3)
    img = np.zeros((20, 18, 3))
    img[:, :9] = [0.8, 0.2, 0.1]
    img[:, 9:] = [0.1, 0.3, 0.8]
    img = np.clip(img + 0.03 * rng.random(img.shape), 0, 1)
    result = sss.segment(img, img[..., ::-1].copy(), **small(progress=False))
    out = tmp_path_factory.mktemp("saved")
    result.save(out, formats=("npz",), name="r")
    return out / "r_alphas.npz"


def _rewrite(saved, path, **changes):
    with np.load(saved) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.update(changes)
    for k in [k for k, v in changes.items() if v is None]:
        del arrays[k]
    np.savez_compressed(path, **arrays)
    return path


def test_load_valid_files_as_before(saved, tmp_path):
    back = sss.load(saved)
    with np.load(saved) as z:
        # the raw layers, stored at the photo's size (the normalised ones otherwise)
        np.testing.assert_array_equal(back.alphas, z["alphas"])
        np.testing.assert_array_equal(back.image, z["image"])
    # only layer_alphas is needed (files written before the photo was stored)
    np.savez(tmp_path / "min.npz", layer_alphas=np.full((3, 4, 2), 0.5, np.float32))
    m = sss.load(tmp_path / "min.npz")
    assert m.alphas.shape == (3, 4, 2) and m.image is None and m.method == "reference"


@pytest.mark.parametrize("keep", [0.1, 0.25, 0.5, 0.75, 0.95, -1])
def test_load_truncated_result_is_a_value_error(saved, tmp_path, keep):
    data = saved.read_bytes()
    p = tmp_path / "cut_alphas.npz"
    p.write_bytes(data[:int(len(data) * keep)] if keep > 0 else data[:keep])
    with pytest.raises(ValueError, match="cut_alphas.npz: not a readable .npz file: "):
        sss.load(p)


def test_load_damaged_result_is_a_value_error_or_loads(saved, tmp_path):
    """A flipped byte anywhere: a ValueError naming the file, or (in bytes zip
    does not check, e.g. a date) the same result; never another exception."""
    data = saved.read_bytes()
    p = tmp_path / "flip_alphas.npz"
    for pos in np.linspace(0, len(data) - 1, 60).astype(int):
        bad = bytearray(data)
        bad[pos] ^= 0xA5
        p.write_bytes(bytes(bad))
        try:
            sss.load(p)
        except ValueError as e:
            assert "flip_alphas.npz" in str(e) and "\n" not in str(e), (pos, e)


def test_load_not_an_npz(tmp_path):
    cases = {"text_alphas.npz": (b"root:x:0:0:root:/root:/bin/bash\n", "not a zip archive"),
             "empty_alphas.npz": (b"", "empty")}
    for name, (data, problem) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match=f"{name}: not a readable .npz file: .*{problem}"):
            sss.load(tmp_path / name)
    np.save(tmp_path / "one.npy", np.zeros((2, 2, 2), np.float32))
    with pytest.raises(ValueError, match="one.npy: .*one .npy array"):
        sss.load(tmp_path / "one.npy")
    (tmp_path / "text_alphas.npz").write_text("pickle-like text")
    with pytest.raises(ValueError) as e:
        sss.load(tmp_path / "text_alphas.npz")
    assert "pickled" not in str(e.value)


def test_load_missing_or_bad_arrays(saved, tmp_path):
    p = _rewrite(saved, tmp_path / "none_alphas.npz", layer_alphas=None)
    with pytest.raises(ValueError, match="none_alphas.npz: .*no 'layer_alphas'"):
        sss.load(p)
    good = sss.load(saved).alphas
    nan = good.copy()
    nan[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match="nan_alphas.npz: layer_alphas holds NaN or inf"):
        sss.load(_rewrite(saved, tmp_path / "nan_alphas.npz", layer_alphas=nan))
    inf = good.copy()
    inf[0, 0, 1] = np.inf
    with pytest.raises(ValueError, match="inf_alphas.npz: layer_alphas holds NaN or inf"):
        sss.load(_rewrite(saved, tmp_path / "inf_alphas.npz", layer_alphas=inf))
    for shape in ((0, 4, 2), (4, 0, 2), (4, 4, 0)):
        p = tmp_path / "empty_alphas.npz"
        np.savez(p, layer_alphas=np.zeros(shape, np.float32))
        with pytest.raises(ValueError, match=r"empty_alphas.npz: layer_alphas is empty"):
            sss.load(p)
    np.savez(tmp_path / "str_alphas.npz", layer_alphas=np.full((2, 2, 2), "x"))
    with pytest.raises(ValueError, match="str_alphas.npz: layer_alphas must be an array of "
                       "numbers"):
        sss.load(tmp_path / "str_alphas.npz")
    np.savez(tmp_path / "obj_alphas.npz", layer_alphas=np.array([None, 1], dtype=object))
    with pytest.raises(ValueError, match="obj_alphas.npz: not a readable .npz file"):
        sss.load(tmp_path / "obj_alphas.npz")
    img = sss.load(saved).image.copy()
    img[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="nanimg_alphas.npz: image holds NaN"):
        sss.load(_rewrite(saved, tmp_path / "nanimg_alphas.npz", image=img))
    with pytest.raises(ValueError, match="ws_alphas.npz: not a result"):
        sss.load(_rewrite(saved, tmp_path / "ws_alphas.npz", working_shape=np.float64(3)))


def test_write_set_interrupted_after_a_temporary_is_created_leaves_the_previous_set(
        tmp_path, monkeypatch):
    """An interrupt (Ctrl-C, the SIGINT a --jobs batch sends its workers) that
    lands after a temporary file is created and before write_set's bookkeeping
    would have listed it: the earlier set is back, byte for byte, and no
    temporary file is left (a --jobs batch stopped by SIGINT once left
    '.p1_layer4.png.XXXXXXXX.part' behind: the temporary is now listed before
    it is created)."""
    from sss import _files

    _files.write_set(tmp_path, {"a.png": b"old a", "b.png": b"old b"})

    def fdopen(fd, *args, **kw):
        os.close(fd)  # the file exists, empty
        raise KeyboardInterrupt
    monkeypatch.setattr(_files.os, "fdopen", fdopen)
    with pytest.raises(KeyboardInterrupt):
        _files.write_set(tmp_path, {"a.png": b"new a", "b.png": b"new b"})
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["a.png", "b.png"]
    assert (tmp_path / "a.png").read_bytes() == b"old a"
    assert (tmp_path / "b.png").read_bytes() == b"old b"


@pytest.mark.parametrize("earlier", [True, False])
@pytest.mark.parametrize("at", [1, 2])
def test_write_set_interrupted_right_after_a_rename_leaves_the_previous_set(
        tmp_path, monkeypatch, at, earlier):
    """An interrupt that lands right after a temporary is renamed onto its
    final name, before write_set's bookkeeping: the file just renamed is taken
    back too (the earlier file put back, or the new one removed where there was
    none), so no new file is left among the earlier set. And an interrupt of
    the rename itself (nothing renamed) leaves no backup link behind."""
    from sss import _files

    old = {"a.png": b"old a", "b.png": b"old b"}
    if earlier:
        _files.write_set(tmp_path, old)
    real = os.replace
    calls = []

    def replace_then_interrupt(src, dst):
        calls.append(dst)
        real(src, dst)
        if len(calls) == at:
            raise KeyboardInterrupt

    def interrupted(src, dst):
        raise KeyboardInterrupt

    for replace in (replace_then_interrupt, interrupted):
        monkeypatch.setattr(_files.os, "replace", replace)
        with pytest.raises(KeyboardInterrupt):
            _files.write_set(tmp_path, {"a.png": b"new a", "b.png": b"new b"})
        monkeypatch.undo()
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == (old if earlier else {})
