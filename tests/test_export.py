"""Export: 8- and 16-bit layer files that recompose the photo (additive PNGs and an
'over' OpenRaster stack), overview picture, npz."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
from PIL import Image

import sss
from sss import export


def _scene(rng, h=30, w=40, k=5):
    yy, xx = np.mgrid[0:h, 0:w]
    cent = rng.random((k, 2)) * [h, w]
    d = np.stack([-((yy - c[0]) ** 2 + (xx - c[1]) ** 2) / 40.0 for c in cent], -1)
    a = np.exp(d - d.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    raw = a * 1.1 - 0.02  # strays outside [0, 1] like the solver's output
    img = np.clip(0.5 + 0.4 * np.sin(xx / 5.0)[..., None] * [1, -0.5, 0.3]
                  + 0.1 * rng.random((h, w, 3)), 0, 1)
    return img, raw


@pytest.fixture
def scene(rng):
    img, raw = _scene(rng)
    return img, raw, sss.estimate_layer_colors(img, raw)


def test_quantize_alphas_sums_to_255_and_rounds_each_level(rng):
    a = rng.random((20, 30, 6)) * 1.2 - 0.1
    q = export.quantize_alphas(a)
    assert q.dtype == np.uint8
    assert np.all(q.astype(int).sum(-1) == 255)
    exact = sss.normalize_alphas(a) * 255
    assert np.all((q >= np.floor(exact) - 1e-9) & (q <= np.ceil(exact) + 1e-9))


def test_png_layers_recompose_the_photo_additively(scene):
    img, raw, colors = scene
    rgba = export.layer_rgba(img, raw, colors)
    assert rgba.shape == (5,) + img.shape[:2] + (4,) and rgba.dtype == np.uint8
    err = np.abs(export.composite_additive(rgba) - img).max()
    assert err <= 0.5 / 255 + 1e-9, err * 255  # well inside the 3/255 promise
    # alphas are the (normalised) soft segments
    np.testing.assert_allclose(rgba[..., 3].transpose(1, 2, 0) / 255.0,
                               sss.normalize_alphas(raw), atol=1 / 255)


def test_ora_layers_recompose_the_photo_with_over(scene):
    img, raw, colors = scene
    order, rgba = export.ora_layers(img, raw, colors)
    assert sorted(order) == list(range(5))
    assert np.all(rgba[-1, ..., 3] == 255)  # the bottom layer is opaque
    err = np.abs(export.composite_over(rgba) - img).max()
    assert err <= 0.5 / 255 + 1e-9, err * 255
    # the top layer's alpha is its own soft segment
    top = order[0]
    np.testing.assert_allclose(rgba[0, ..., 3] / 255.0, sss.normalize_alphas(raw)[..., top],
                               atol=0.5 / 255 + 1e-9)


def test_ora_file_structure_and_stack(tmp_path, scene):
    img, raw, colors = scene
    path = tmp_path / "x.ora"
    order = export.write_ora(path, img, raw, colors)
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        assert infos[0].filename == "mimetype"
        assert infos[0].compress_type == zipfile.ZIP_STORED
        assert z.read("mimetype") == b"image/openraster"
        # the mimetype is readable at a fixed offset, as the spec requires
        raw_bytes = path.read_bytes()
        assert raw_bytes[30:38] == b"mimetype" and raw_bytes[38:54] == b"image/openraster"
        names = set(z.namelist())
        assert {"stack.xml", "mergedimage.png", "Thumbnails/thumbnail.png"} <= names
        root = ET.fromstring(z.read("stack.xml"))
        assert root.tag == "image"
        assert (int(root.get("w")), int(root.get("h"))) == (img.shape[1], img.shape[0])
        layers = root.find("stack").findall("layer")
        assert len(layers) == 5
        assert [el.get("name") for el in layers] == [f"layer {i}" for i in order]
        stack = []
        for el in layers:
            assert el.get("composite-op") == "svg:src-over"
            assert el.get("visibility") == "visible" and float(el.get("opacity")) == 1.0
            im = Image.open(io.BytesIO(z.read(el.get("src"))))
            assert im.mode == "RGBA" and im.size == (img.shape[1], img.shape[0])
            stack.append(np.asarray(im))
        merged = np.asarray(Image.open(io.BytesIO(z.read("mergedimage.png"))))
        thumb = Image.open(io.BytesIO(z.read("Thumbnails/thumbnail.png")))
    # composited with the documented rule from the written 8-bit PNGs: the photo
    comp = export.composite_over(np.stack(stack))
    err = np.abs(comp - img).max()
    assert err <= 3 / 255, err * 255
    assert err <= 0.5 / 255 + 1e-9, err * 255
    np.testing.assert_array_equal(merged[..., :3], np.round(comp * 255).astype(np.uint8))
    assert max(thumb.size) <= 256


def test_thumbnail_is_at_most_256(tmp_path, rng):
    img, raw = _scene(rng, h=300, w=520, k=2)
    colors = sss.estimate_layer_colors(img, raw, max_iter=5)
    export.write_ora(tmp_path / "big.ora", img, raw, colors)
    with zipfile.ZipFile(tmp_path / "big.ora") as z:
        thumb = Image.open(io.BytesIO(z.read("Thumbnails/thumbnail.png")))
    assert max(thumb.size) == 256


def test_save_layers_writes_every_format(tmp_path, scene):
    img, raw, colors = scene
    written = export.save_layers(tmp_path / "out", "photo", img, raw, colors,
                                 extra={"eigenvalues": np.arange(3.0)})
    files = sorted(p.name for ps in written.values() for p in ps)
    assert files == sorted(["photo_overview.png", "photo.ora", "photo_alphas.npz"]
                           + [f"photo_layer{i}.png" for i in range(5)])
    stack = np.stack([np.asarray(Image.open(tmp_path / "out" / f"photo_layer{i}.png"))
                      for i in range(5)])
    err = np.abs(export.composite_additive(stack) - img).max()
    assert err <= 3 / 255, err * 255
    with np.load(tmp_path / "out" / "photo_alphas.npz") as z:
        np.testing.assert_array_equal(z["alphas"], raw.astype(np.float32))  # raw, unclipped
        assert z["alphas"].min() < 0
        np.testing.assert_allclose(z["layer_alphas"].sum(-1), 1, atol=1e-6)
        np.testing.assert_array_equal(z["eigenvalues"], np.arange(3.0))
    ov = np.asarray(Image.open(tmp_path / "out" / "photo_overview.png"))
    assert ov.ndim == 3 and ov.shape[2] == 3 and ov.shape[1] > 2 * img.shape[1]


def test_save_layers_subset_and_colour_estimation_on_demand(tmp_path, scene):
    img, raw, _ = scene
    written = export.save_layers(tmp_path, "p", img, raw, formats="npz,png")
    assert set(written) == {"npz", "png"}
    assert not (tmp_path / "p.ora").exists()


def test_bad_formats_and_sizes(tmp_path, scene):
    img, raw, colors = scene
    with pytest.raises(ValueError, match="unknown format"):
        export.save_layers(tmp_path, "p", img, raw, colors, formats="png,gif")
    with pytest.raises(ValueError, match="no output format"):
        export.save_layers(tmp_path, "p", img, raw, colors, formats="")
    with pytest.raises(ValueError, match="do not match"):
        export.save_layers(tmp_path, "p", img[:-1], raw, colors)
    with pytest.raises(ValueError, match="permutation"):
        export.ora_layers(img, raw, colors, order=[0, 0, 1, 2, 3])


def test_overview_without_colours(scene):
    img, raw, _ = scene
    ov = export.overview(img, raw, max_side=20)
    assert ov.dtype == np.uint8 and ov.shape[2] == 3
    assert ov.shape[1] >= 40


def test_linear_light_ora_for_gimp(tmp_path, scene):
    """space='linear': exact when the editor blends linearised colours
    (GIMP's default Normal mode), where the sRGB stack is visibly off."""
    img, raw, colors = scene
    _, lin = export.ora_layers(img, raw, colors, space="linear")
    err = np.abs(export.composite_over(lin, space="linear") - img).max()
    assert err <= 1 / 255, err * 255
    _, srgb = export.ora_layers(img, raw, colors)
    assert np.abs(export.composite_over(srgb, space="linear") - img).max() > 2 / 255
    export.write_ora(tmp_path / "g.ora", img, raw, colors, space="linear")
    with zipfile.ZipFile(tmp_path / "g.ora") as z:
        merged = np.asarray(Image.open(io.BytesIO(z.read("mergedimage.png"))))
    assert np.abs(merged[..., :3] / 255.0 - img).max() <= 1.5 / 255
    with pytest.raises(ValueError, match="space"):
        export.ora_layers(img, raw, colors, space="lab")


def test_srgb_linear_roundtrip():
    x = np.linspace(0, 1, 1001)
    np.testing.assert_allclose(export.linear_to_srgb(export.srgb_to_linear(x)), x, atol=1e-12)


def test_result_editing_methods(tmp_path, scene):
    """SoftSegments' cached colours, composite and save (through export.save_result)."""
    img, raw, _ = scene

    def result(image):
        e = np.zeros((0, 0, 0), np.float32)
        return sss.SoftSegments(alphas=raw.astype(np.float32), initial_alphas=e,
                                grouped_alphas=e, group_ids=np.zeros(0, int),
                                eigenvalues=np.arange(4.0), superpixels=None, features=None,
                                image=image, method="reference")

    r = result(img)
    c = r.colors
    assert r.colors is c and not c.flags.writeable  # cached, read-only
    np.testing.assert_allclose(r.composite(background=0.0), img, atol=1e-6)
    bg = np.zeros_like(img)
    out = r.composite([1], background=bg)
    an = sss.normalize_alphas(raw)
    np.testing.assert_allclose(out, an[..., 1:2] * c[..., 1, :], atol=1e-12)
    written = r.save(tmp_path, "png,npz", name="x")
    assert [p.name for p in written["png"]] == [f"x_layer{i}.png" for i in range(5)]
    with np.load(written["npz"][0]) as z:
        np.testing.assert_array_equal(z["eigenvalues"], np.arange(4.0))
    with pytest.raises(ValueError, match="no image"):
        result(None).colors
    with pytest.raises(ValueError, match="no image"):
        result(None).save(tmp_path)


def test_png_bytes_many_gives_the_bytes_of_one_at_a_time(rng):
    from sss.export.encode import png_bytes, png_bytes_many

    arrays = [rng.integers(0, 256, (37, 53, c), dtype=np.uint8) for c in (4, 4, 3, 4, 4)]
    arrays.append(rng.integers(0, 256, (20, 9), dtype=np.uint8))
    many = png_bytes_many(arrays)
    assert many == [png_bytes(a) for a in arrays]
    for a, data in zip(arrays, many):
        with Image.open(io.BytesIO(data)) as im:
            assert np.array_equal(np.asarray(im), a)
    assert png_bytes_many([]) == []


def test_npz_bytes_reads_back_with_numpy_load(rng):
    from sss.export.encode import npz_bytes

    arrays = {"alphas": rng.random((31, 17, 5)).astype(np.float32),
              "palette": rng.integers(0, 256, (5, 3), dtype=np.uint8),
              "method": np.array("multilevel"), "eigenvalues": rng.random(7)}
    data = npz_bytes(arrays)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in z.infolist())
        assert z.testzip() is None  # every member's CRC checks
        assert [i.filename for i in z.infolist()] == [f"{k}.npy" for k in arrays]
    back = np.load(io.BytesIO(data))
    assert sorted(back.files) == sorted(arrays)
    for key, val in arrays.items():
        assert back[key].dtype == val.dtype and np.array_equal(back[key], val)
    assert npz_bytes(arrays) == data  # reproducible bytes (fixed member dates)
    with pytest.raises(ValueError, match="allow_pickle"):
        npz_bytes({"bad": np.array([{"a": 1}], dtype=object)})


def test_npz_bytes_with_the_stdlib_zlib_and_edge_members(rng, monkeypatch):
    """The zip written by hand reads back with zlib instead of zlib-ng too, and
    with empty, one-member and many-member contents."""
    import zlib

    from sss.export import encode

    monkeypatch.setattr(encode, "_deflate", zlib)
    monkeypatch.setattr(encode, "NPZ_LEVEL", 1)
    for arrays in ({}, {"one": np.zeros(0)},
                   {f"a{i}": rng.random((i + 1, 3)) for i in range(12)}):
        data = encode.npz_bytes(arrays)
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            assert z.testzip() is None
        back = np.load(io.BytesIO(data))
        assert sorted(back.files) == sorted(arrays)
        for key, val in arrays.items():
            assert np.array_equal(back[key], val)


_LEVELS = {8: (255.0, np.uint8), 16: (65535.0, np.uint16)}


def _quantize_numpy(a, bits=8):
    """The largest-remainder rounding written with numpy (the core's oracle)."""
    top, dtype = _LEVELS[bits]
    a = a * top
    q = np.floor(a)
    short = (top - q.sum(-1)).round().astype(np.int64)
    rank = np.argsort(np.argsort(-(a - q), axis=-1, kind="stable"), axis=-1, kind="stable")
    return (q + (rank < short[..., None])).astype(dtype)


def _over_numpy(a, order, bits=8):
    """The 'over' conversion written with numpy (the core's oracle)."""
    top, dtype = _LEVELS[bits]
    k = a.shape[2]
    remaining = np.ones(a.shape[:2])
    b8 = np.empty(a.shape, dtype)
    eff = np.empty_like(a)
    for t, layer in enumerate(order):
        if t == k - 1:
            b = np.ones(a.shape[:2])
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                b = np.clip(np.where(remaining > 0, a[..., layer] / remaining, 0.0), 0, 1)
        b8[..., t] = np.round(b * top).astype(dtype)
        eff[..., t] = b8[..., t] / top * remaining
        remaining = remaining * (1.0 - b8[..., t] / top)
    return b8, eff


def _awkward_alphas(rng, k):
    """Normalised alphas with ties, exact levels, zeros and one-hot pixels."""
    a = rng.random((23, 31, k)) ** 3
    a[0] = 1.0 / k                       # all remainders tied
    a[1, :, :] = 0.0
    a[1, :, 0] = 1.0                      # one layer only: nothing left below it
    a[2, :, :2] = 0.5                     # exactly representable halves
    a[2, :, 2:] = 0.0
    a[3] = np.arange(1, k + 1) / (k * (k + 1) / 2)
    return sss.normalize_alphas(a)


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("k", [1, 2, 5, 12])
def test_core_quantize_alphas_matches_the_numpy_rounding_bitwise(rng, k, bits):
    a = _awkward_alphas(rng, k)
    q = export.quantize_alphas(a, bits=bits)
    assert q.dtype == _LEVELS[bits][1]
    np.testing.assert_array_equal(q, _quantize_numpy(a, bits))
    assert np.all(q.astype(np.int64).sum(-1) == 2 ** bits - 1)


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("k", [1, 2, 5, 12])
def test_core_over_alphas_match_the_numpy_conversion_bitwise(rng, k, bits):
    from sss import _core

    a = _awkward_alphas(rng, k)
    order = list(rng.permutation(k))
    b8, eff = _core.over_alphas(a, [int(i) for i in order], 0, bits)
    want_b8, want_eff = _over_numpy(a, order, bits)
    assert b8.dtype == want_b8.dtype
    np.testing.assert_array_equal(b8, want_b8)
    np.testing.assert_array_equal(eff, want_eff)
    assert np.all(b8[..., -1] == 2 ** bits - 1)
    with pytest.raises(ValueError, match="permutation"):
        _core.over_alphas(a, [0] * k if k > 1 else [1], 0, bits)
    with pytest.raises(ValueError, match="8 or 16"):
        _core.over_alphas(a, [int(i) for i in order], 0, 12)


def _rgba_numpy(image, weights, levels, colors, order):
    """The projection-then-rounding the core's rgba_layers does, with the
    public projection (its oracle); levels of the type of `levels`."""
    bits = 8 * levels.dtype.itemsize
    top, dtype = _LEVELS[bits]
    c = sss.project_layer_colors(image, weights, np.ascontiguousarray(colors[..., order, :]))
    out = np.empty((len(order),) + weights.shape[:2] + (4,), dtype)
    for t in range(len(order)):
        out[t, ..., :3] = np.round(np.clip(c[..., t, :], 0, 1) * top).astype(dtype)
        out[t, ..., 3] = levels[..., t]
    return out


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("k", [1, 3, 6])
def test_core_rgba_layers_match_projection_and_rounding_bitwise(rng, k, bits):
    img, raw = _scene(rng, k=k)
    a = sss.normalize_alphas(raw)
    colors = sss.estimate_layer_colors(img, a) + 0.05 * rng.standard_normal(a.shape + (3,))
    q = export.quantize_alphas(a, bits=bits)
    top = _LEVELS[bits][0]
    np.testing.assert_array_equal(export.layer_rgba(img, a, colors, bits=bits),
                                  _rgba_numpy(img, q / top, q, colors, list(range(k))))
    order, rgba = export.ora_layers(img, a, colors, bits=bits)
    from sss import _core

    b8, eff = _core.over_alphas(a, [int(i) for i in order], 0, bits)
    np.testing.assert_array_equal(rgba, _rgba_numpy(img, eff, b8, colors, order))
    bad = colors.copy()
    bad[2, 3, 0, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        export.layer_rgba(img, a, bad)


def _over_composite_numpy(rgba):
    """'over' of (K, H, W, 4) uint8 or uint16 layers, top first, written with
    numpy (the core's oracle)."""
    f = rgba.astype(np.float64) / float(np.iinfo(rgba.dtype).max)
    out = np.zeros(f.shape[1:3] + (3,))
    for t in range(f.shape[0] - 1, -1, -1):
        out = f[t, ..., 3:] * f[t, ..., :3] + (1.0 - f[t, ..., 3:]) * out
    return out


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("k", [1, 2, 5, 12])
def test_core_composite_over_matches_the_numpy_form_bitwise(rng, k, dtype):
    top = np.iinfo(dtype).max
    rgba = rng.integers(0, top + 1, size=(k, 19, 27, 4)).astype(dtype)
    rgba[:, 0, :, 3] = top                      # opaque rows and empty rows
    rgba[:, 1, :, 3] = 0
    before = rgba.copy()
    out = export.composite_over(rgba)
    assert out.shape == (19, 27, 3) and out.dtype == np.float64
    np.testing.assert_array_equal(out, _over_composite_numpy(rgba))
    np.testing.assert_array_equal(rgba, before)  # the input is not touched
    # a non-contiguous view gives the same as its copy
    view = np.concatenate([rgba, rgba], axis=2)[:, :, ::2]
    np.testing.assert_array_equal(export.composite_over(view), _over_composite_numpy(view))
    with pytest.raises(ValueError, match="uint8"):
        export.composite_over(rgba.astype(np.float64))
    with pytest.raises(ValueError, match=r"\(K, H, W, 4\)"):
        export.composite_over(rgba[..., :3])
    with pytest.raises(ValueError, match="at least"):
        export.composite_over(rgba[:, :0])


def test_save_layers_reports_each_file_and_can_be_cancelled(tmp_path, rng):
    img, raw = _scene(rng)
    seen = []
    images = "overview, layer PNGs, OpenRaster"
    export.save_layers(tmp_path / "a", "x", img, raw, formats=("overview", "png", "ora", "npz"),
                       progress=lambda step, frac: seen.append((step, frac)))
    assert [s for s, _ in seen] == [images, "npz", "writing", "done"]
    fracs = [f for _, f in seen]
    assert fracs[0] == 0.0 and fracs[-1] == 1.0 and fracs == sorted(fracs)
    # the images are rendered a band of rows at a time, with progress within
    seen = []
    export.save_layers(tmp_path / "b", "x", img, raw, formats=("overview", "png", "ora", "npz"),
                       progress=lambda step, frac: seen.append((step, frac)), _band=4)
    within = [f for s, f in seen if s == images]
    assert len(within) == -(-img.shape[0] // 4)  # one call per band
    assert within == sorted(within) and len(set(within)) == len(within)
    assert max(within) < min(f for s, f in seen if s != images and f > 0)
    # False stops before anything is written, at any step but the last, also
    # between two bands
    calls = {"n": 0}

    def stop_in_a_band(step, frac):
        calls["n"] += 1
        return calls["n"] < 3

    for stop in (images, "writing", stop_in_a_band):
        out = tmp_path / f"stop-{getattr(stop, '__name__', stop)}"
        cb = stop if callable(stop) else (lambda step, frac, stop=stop: step != stop)
        with pytest.raises(sss.Cancelled, match="nothing was written"):
            export.save_layers(out, "x", img, raw, formats=("overview", "png", "ora", "npz"),
                               progress=cb, _band=4)
        assert not out.exists()
    # the last call comes after the files are written: its answer is ignored
    export.save_layers(tmp_path / "c", "x", img, raw, formats=("npz",),
                       progress=lambda step, frac: step != "done")
    assert (tmp_path / "c" / "x_alphas.npz").exists()


def test_cli_shows_the_file_being_written(tmp_path, rng, monkeypatch, capsys):
    import types

    import sss.cli
    from PIL import Image

    img, raw = _scene(rng)
    p = tmp_path / "p.png"
    Image.fromarray((img * 255).astype(np.uint8)).save(p)
    monkeypatch.setattr(sss.cli, "segment", lambda image, features=None, **kw:
                        types.SimpleNamespace(alphas=sss.normalize_alphas(
                            rng.random(image.shape[:2] + (3,))).astype(np.float32)))
    assert sss.cli.main(["segment", str(p), "-o", str(tmp_path / "o"), "--layers", "3"]) == 0
    err = capsys.readouterr().err  # not a terminal: one line per stage
    for step in ("rendering overview, layer PNGs, OpenRaster", "rendering npz",
                 "writing the files"):
        assert f"p.png: {step} ..." in err, err


def test_soft_segments_save_passes_progress_and_checks_it(tmp_path, rng):
    img, _ = _scene(rng)
    seg = sss.segment(img, num_layers=2, progress=False)
    steps = []
    seg.save(tmp_path, formats=("png",), progress=lambda s, f: steps.append(s))
    assert steps == ["layer PNGs", "writing", "done"]
    with pytest.raises(TypeError, match="progress must be a callable"):
        seg.save(tmp_path / "x", formats=("png",), progress=True)
    assert not (tmp_path / "x").exists()


def test_png_compression_changes_the_bytes_not_the_pixels(tmp_path, rng):
    img, raw = _scene(rng, h=60, w=80)
    sizes = {}
    for level in (0, 1, 9):
        out = tmp_path / str(level)
        export.save_layers(out, "x", img, raw, formats=("png", "ora", "overview"),
                           png_compression=level)
        sizes[level] = sum(f.stat().st_size for f in out.iterdir())
        for i in range(5):
            np.testing.assert_array_equal(
                np.asarray(Image.open(out / f"x_layer{i}.png")),
                np.asarray(Image.open(tmp_path / "0" / f"x_layer{i}.png")))
    assert sizes[0] > sizes[1] > sizes[9]  # level 0 stores the rows uncompressed
    for bad, exc in [(10, ValueError), (-1, ValueError), ("6", TypeError)]:
        with pytest.raises(exc, match="png_compression"):
            export.save_layers(tmp_path / "bad", "x", img, raw, formats=("png",),
                               png_compression=bad)
    assert not (tmp_path / "bad").exists()


def test_read_only_inputs_are_accepted_and_left_as_they_are(tmp_path, rng):
    """The colour and export functions read the caller's float64 arrays without
    copying them (as_image(copy=False)): read-only arrays must work, and no
    array may change."""
    img, raw = _scene(rng)
    a = sss.normalize_alphas(raw)
    colors = sss.estimate_layer_colors(img, a)
    arrays = {"img": img, "raw": raw, "a": a, "colors": colors}
    before = {k: v.copy() for k, v in arrays.items()}
    for v in arrays.values():
        v.setflags(write=False)
    sss.normalize_alphas(raw)
    sss.estimate_layer_colors(img, a)
    sss.project_layer_colors(img, a, colors)
    sss.multilevel.layer_colors(img, raw)
    sss.multilevel.upsample_layer_colors(colors[::2, ::2], img, a)
    export.layer_rgba(img, a, colors)
    export.ora_layers(img, a, colors)
    export.overview(img, a, colors)
    export.save_layers(tmp_path, "x", img, raw, colors, formats=("overview", "png", "ora",
                                                                   "npz", "psd"))
    for k, v in arrays.items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


@pytest.mark.parametrize("shape", [(7, 9), (7, 9, 3), (6, 5, 4), (1, 1, 3)])
def test_png_bytes_8_bit_round_trips_through_pillow(rng, shape, monkeypatch):
    """sss's own PNG encoder (not Pillow's) writes files Pillow reads back
    exactly, with zlib-ng and with the standard library's zlib alike."""
    import zlib

    from sss.export import encode

    arr = rng.integers(0, 256, size=shape).astype(np.uint8)
    arr.flat[0], arr.flat[-1] = 0, 255
    first = encode.png_bytes(arr, None, 6)
    monkeypatch.setattr(encode, "_deflate", zlib)
    for data in (first, encode.png_bytes(arr, None, 6)):
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            want = "L" if len(shape) == 2 else {3: "RGB", 4: "RGBA"}[shape[2]]
            assert im.mode == want
            np.testing.assert_array_equal(np.asarray(im), arr)
    with pytest.raises(ValueError, match="uint8 or uint16"):
        encode.png_bytes(arr.astype(np.float32))
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        encode.png_bytes(arr[:0])


def test_npz_bytes_members_are_those_numpy_writes(rng):
    """Each member is the .npy file numpy.save writes, for C- and
    Fortran-ordered, 0-d, empty, string and structured arrays."""
    from sss.export.encode import npz_bytes

    arrays = {"c": rng.random((4, 5)), "f": np.asfortranarray(rng.random((4, 5))),
              "t": rng.random((6, 4))[::2].copy(), "s": rng.random((6, 4))[::2, ::2],
              "zero_d": np.array("multilevel"), "empty": np.zeros((0, 3), np.float32),
              "rec": np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])}
    with zipfile.ZipFile(io.BytesIO(npz_bytes(arrays))) as z:
        for key, val in arrays.items():
            want = io.BytesIO()
            np.save(want, val, allow_pickle=False)
            assert z.read(f"{key}.npy") == want.getvalue(), key


def test_a_loaded_result_saves_the_same_npz_and_keeps_its_arrays(tmp_path):
    # load used to give the normalised layers as `alphas` (the raw ones were lost,
    # and the npz changed at every save/load cycle) and not store the grouped
    # layers, group ids and features; the command line's results came back with
    # the photo's size as working_shape
    import skimage.data

    img = skimage.data.astronaut()[::8, ::8]
    res = sss.segment(img, progress=False, method="reference", eigen=dict(num_vectors=30))
    formats = ("overview", "png", "npz")
    res.save(tmp_path / "a", formats=formats, name="x")
    first = sss.load(tmp_path / "a")
    np.testing.assert_array_equal(first.alphas, res.alphas)  # raw, not renormalised
    for key in ("grouped_alphas", "group_ids", "initial_alphas", "eigenvalues", "features"):
        np.testing.assert_array_equal(getattr(first, key), getattr(res, key), err_msg=key)
    assert first.working_shape == res.working_shape
    first.save(tmp_path / "b", formats=formats, name="x")
    sss.load(tmp_path / "b").save(tmp_path / "c", formats=formats, name="x")
    for name in ("x_alphas.npz",):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    for p in (tmp_path / "b").iterdir():  # from a loaded result on, every file is stable
        assert p.read_bytes() == (tmp_path / "c" / p.name).read_bytes(), p.name
    # the command line's result: its working level comes back
    from PIL import Image
    big = skimage.data.astronaut()[::2, ::2]  # larger than the working level
    Image.fromarray(big).save(tmp_path / "p.png")
    from sss import cli
    assert cli.main(["segment", str(tmp_path / "p.png"), "-o", str(tmp_path / "o"),
                     "--format", "npz", "-q"]) == 0
    back = sss.load(tmp_path / "o")
    assert back.working_shape == sss.segment(big, progress=False).working_shape != big.shape[:2]
    assert back.features is not None and back.grouped_alphas.shape[2] == back.alphas.shape[2]
