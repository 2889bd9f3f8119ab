"""The files rendered a band of rows at a time (sss.export.bands): the same pixels as
the whole-array functions whatever the band height, PNG streams, and layer colours
made band by band (sss.multilevel.UpsampledLayerColors)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import png  # pypng: reads 16-bit PNGs exactly
import pytest

import sss
from sss import export
from sss.export.bands import band_rows, render_images
from sss.export.encode import PngStream, png_bytes
from sss.multilevel import UpsampledLayerColors, upsample_layer_colors


def _decode(data: bytes) -> np.ndarray:
    w, h, rows, info = png.Reader(bytes=data).read()
    dt = np.uint16 if info["bitdepth"] == 16 else np.uint8
    return np.vstack([np.asarray(r, dtype=dt) for r in rows]).reshape(h, w, -1)


def _scene(h=37, w=29, k=4, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    cent = rng.random((k, 2)) * [h, w]
    d = np.stack([-((yy - c[0]) ** 2 + (xx - c[1]) ** 2) / 30.0 for c in cent], -1)
    a = np.exp(d - d.max(-1, keepdims=True))
    a = sss.normalize_alphas(a / a.sum(-1, keepdims=True))
    img = np.clip(0.5 + 0.4 * np.sin(xx / 4.0)[..., None] * [1, -0.5, 0.3]
                  + 0.1 * rng.random((h, w, 3)), 0, 1)
    colors = sss.estimate_layer_colors(img, a).astype(np.float32)
    return img, a, colors


def _ora_members(data: bytes) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: _decode(z.read(n)) for n in z.namelist() if n.endswith(".png")}


FORMATS = ("overview", "png", "ora", "psd", "subject")


@pytest.mark.parametrize("bits", [8, 16])
def test_the_pixels_do_not_depend_on_the_bands(bits):
    img, a, colors = _scene()
    kw = dict(bits=bits, subject=[1, 3])
    whole = render_images(img, a, colors, FORMATS, band=img.shape[0], **kw)
    for band in (1, 5, 16):
        parts = render_images(img, a, colors, FORMATS, band=band, **kw)
        assert parts.keys() == whole.keys() == set(FORMATS)
        for fmt in ("overview", "png", "subject"):
            for x, y in zip(parts[fmt], whole[fmt], strict=True):
                np.testing.assert_array_equal(_decode(x), _decode(y), err_msg=f"{fmt}, {band}")
        ox, oy = _ora_members(parts["ora"][0]), _ora_members(whole["ora"][0])
        assert ox.keys() == oy.keys()
        for n in ox:
            np.testing.assert_array_equal(ox[n], oy[n], err_msg=n)
        assert parts["psd"] == whole["psd"]  # raw channel data: the same bytes
        # the same band gives the same bytes again
        assert render_images(img, a, colors, FORMATS, band=band, **kw) == parts


@pytest.mark.parametrize("bits", [8, 16])
def test_the_bands_give_what_the_whole_array_functions_give(bits):
    img, a, colors = _scene(seed=1)
    # the whole-array functions normalise the alphas they are given (as
    # save_layers does before rendering): give the bands the same alphas
    out = render_images(img, sss.normalize_alphas(a), colors, FORMATS, band=6, bits=bits,
                        subject=[0, 2])
    rgba = export.layer_rgba(img, a, colors, bits=bits)
    for k, data in enumerate(out["png"]):
        np.testing.assert_array_equal(_decode(data), rgba[k])
    order, over = export.ora_layers(img, a, colors, bits=bits)
    members = _ora_members(out["ora"][0])
    for t, layer in enumerate(order):
        np.testing.assert_array_equal(members[f"data/layer{layer}.png"], over[t])
    merged = np.round(np.clip(export.composite_over(over), 0, 1) * (2 ** bits - 1))
    np.testing.assert_array_equal(members["mergedimage.png"], merged)
    np.testing.assert_array_equal(_decode(out["overview"][0]),
                                  export.overview(img, a, colors))
    cut = sss.colors.composite(a, colors, layers=[0, 2])
    np.testing.assert_array_equal(_decode(out["subject"][0]),
                                  np.round(np.clip(cut, 0, 1) * (2 ** bits - 1)))


def test_overview_block_means_by_band_on_a_larger_photo():
    # large enough that the overview's tiles are shrunk by block means
    # (factor >= 2): the bands then start at whole blocks
    from sss.export.preview import _BandShrink, _tile_shape

    h, w, k = 1000, 1250, 5
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:h, 0:w]
    a = np.stack([np.sin(xx / (50.0 + 9 * i) + yy / 70.0) + 1.1 for i in range(k)], -1)
    a = sss.normalize_alphas(a)
    img = np.clip(a[..., :3] + 0.05 * rng.random((h, w, 3)), 0, 1)
    colors = rng.random((h, w, k, 3), dtype=np.float32)
    assert _BandShrink(h, w, 3 * k, *_tile_shape(h, w, k)).factor >= 2
    want = export.overview(img, a, colors)
    for band in (1, 7, 64):
        got = render_images(img, sss.normalize_alphas(a), colors, ("overview",),
                            band=band)["overview"][0]
        np.testing.assert_array_equal(_decode(got), want)


def test_save_layers_with_colours_made_band_by_band(tmp_path):
    img, a, _ = _scene(h=64, w=48, k=3, seed=3)
    small = sss.estimate_layer_colors(
        np.clip(sss.io.resize(img, 16, 12), 0, 1),
        sss.normalize_alphas(sss.io.resize(a, 16, 12, method="bilinear")))
    full = upsample_layer_colors(small, img, a, dtype=np.float32)
    source = UpsampledLayerColors(small, 64, 48, dtype=np.float32)
    assert source.shape == full.shape
    for y0, y1 in ((0, 64), (0, 5), (5, 64), (63, 64)):
        np.testing.assert_array_equal(source.rows(y0, img[y0:y1], a[y0:y1]), full[y0:y1])
    np.testing.assert_array_equal(
        UpsampledLayerColors(small, 64, 48).rows(0, img, a),
        upsample_layer_colors(small, img, a))
    formats = ("overview", "png", "ora", "psd", "npz")
    export.save_layers(tmp_path / "a", "x", img, a, full, formats=formats)
    export.save_layers(tmp_path / "b", "x", img, a, source, formats=formats, _band=9)
    for f in sorted((tmp_path / "a").iterdir()):
        g = tmp_path / "b" / f.name
        if f.suffix == ".png":
            np.testing.assert_array_equal(_decode(f.read_bytes()), _decode(g.read_bytes()))
        elif f.suffix == ".ora":
            x, y = _ora_members(f.read_bytes()), _ora_members(g.read_bytes())
            assert x.keys() == y.keys() and all(np.array_equal(x[n], y[n]) for n in x)
        else:
            assert f.read_bytes() == g.read_bytes(), f.name


def test_band_source_errors():
    img, a, _ = _scene(h=20, w=10, k=2)
    small = np.full((4, 2, 2, 3), 0.5)
    source = UpsampledLayerColors(small, 20, 10)
    with pytest.raises(ValueError, match="outside the photo"):
        source.rows(15, img[:10], a[:10])
    with pytest.raises(ValueError, match="width"):
        source.rows(0, img[:5, :8], a[:5, :8])
    with pytest.raises(TypeError, match="rows on demand"):
        np.asarray(source)
    with pytest.raises(ValueError, match=r"\(h, w, K, 3\)"):
        UpsampledLayerColors(small[..., :2], 20, 10)
    with pytest.raises(ValueError, match="NaN"):
        UpsampledLayerColors(np.full((4, 2, 2, 3), np.nan), 20, 10)
    with pytest.raises(ValueError, match=r"\(H, W, K, 3\)"):  # not the photo's size
        export.save_layers("/nonexistent/never", "x", img[:10], a[:10],
                           UpsampledLayerColors(small, 20, 10), formats=("png",))


def test_png_stream_is_png_bytes_in_pieces():
    rng = np.random.default_rng(4)
    for arr in (rng.integers(0, 256, (23, 17, 4), dtype=np.uint8),
                rng.integers(0, 65536, (23, 17, 3), dtype=np.uint16),
                rng.integers(0, 256, (23, 17), dtype=np.uint8)):
        planes = 1 if arr.ndim == 2 else arr.shape[2]
        s = PngStream(23, 17, planes, 8 * arr.dtype.itemsize)
        for y in range(0, 23, 4):
            s.write(arr[y:y + 4])
        got = _decode(s.finish())
        np.testing.assert_array_equal(got.reshape(arr.shape), arr)
        np.testing.assert_array_equal(_decode(png_bytes(arr)).reshape(arr.shape), arr)
    s = PngStream(4, 3, 4, 8)
    with pytest.raises(ValueError, match=r"\(n, 3, 4\) uint8"):
        s.write(np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(ValueError, match=r"\(n, 3, 4\) uint8"):
        s.write(np.zeros((2, 3, 4), np.uint16))
    s.write(np.zeros((3, 3, 4), np.uint8))
    with pytest.raises(ValueError, match="5 rows written to a PNG of 4"):
        s.write(np.zeros((2, 3, 4), np.uint8))
    with pytest.raises(ValueError, match="3 of the PNG's 4 rows"):
        s.finish()
    with pytest.raises(ValueError, match="cannot be written"):
        PngStream(0, 3, 4, 8)


def test_band_height_depends_on_the_width_and_layers_only():
    assert band_rows(4000, 5) == band_rows(4000, 5)
    assert band_rows(4000, 5) * 4000 * 5 * 12 <= 32 << 20 < (band_rows(4000, 5) + 1) * 4000 * 60
    assert band_rows(10 ** 9, 10) == 1


def test_soft_segments_save_gives_the_same_files_before_and_after_colors(tmp_path):
    # a multilevel result above the working size saves with colours made band by
    # band until .colors is asked for, then from the cached array: same files
    img = np.clip(_scene(h=150, w=200, k=3, seed=5)[0], 0, 1)
    seg = sss.segment(img, num_layers=3, progress=False)
    assert seg.method == "multilevel" and seg.working_shape != img.shape[:2]
    assert isinstance(seg._colour_source(), UpsampledLayerColors)
    seg.save(tmp_path / "a")
    assert "_colors_cache" not in seg.__dict__  # saving did not compute them whole
    seg.colors
    assert isinstance(seg._colour_source(), np.ndarray)
    seg.save(tmp_path / "b")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir()) and len(names) > 3
    for n in names:
        assert (tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes(), n


def test_ora_bytes_do_not_depend_on_the_clock(monkeypatch):
    import time

    img, a, colors = _scene()
    one = render_images(img, a, colors, ("ora",))["ora"][0]
    later = time.struct_time((2031, 5, 6, 7, 8, 10, 1, 126, 0))
    monkeypatch.setattr(time, "localtime", lambda *args: later)
    assert render_images(img, a, colors, ("ora",))["ora"][0] == one


def test_linear_light_openraster_by_bands():
    img, a, colors = _scene(seed=6)
    an = sss.normalize_alphas(a)
    order, over = export.ora_layers(img, a, colors, space="linear")
    for band in (3, 37):
        members = _ora_members(render_images(img, an, colors, ("ora",), band=band,
                                             space="linear")["ora"][0])
        for t, layer in enumerate(order):
            np.testing.assert_array_equal(members[f"data/layer{layer}.png"], over[t])
        merged = np.round(np.clip(export.composite_over(over, space="linear"), 0, 1) * 255)
        np.testing.assert_array_equal(members["mergedimage.png"], merged)


# Large float32 layers (what segment returns for a camera photo) are normalised a
# band of rows at a time as they are read (sss.colors.NormalizedLayers). The tests
# make "large" small by lowering the size above which this happens.

def _float32_layers(h=53, w=41, k=4, seed=5):
    img, a, colors = _scene(h, w, k, seed)
    raw = (a * (1 + 0.01 * np.random.default_rng(seed).random(a.shape))).astype(np.float32)
    raw[3, 4] = [-0.2, 1.3, 0.0, 0.0][:k]  # clipped by the normalisation
    raw[5, 6] = -1.0  # all <= 0: wholly to the largest raw alpha
    return img, raw, colors


def test_normalized_layers_read_by_band_equal_normalize_alphas(monkeypatch):
    from sss.colors import NormalizedLayers, normalized_layers
    from sss.io import resize

    img, raw, _ = _float32_layers()
    want = sss.normalize_alphas(raw)  # whole (before lowering the size below)
    monkeypatch.setattr(sss.colors, "_BAND_VALUES", 200)  # bands of 1 row (41 x 4 values)
    n = normalized_layers(raw)
    assert isinstance(n, NormalizedLayers) and n.shape == raw.shape
    np.testing.assert_array_equal(np.asarray(n), want)
    np.testing.assert_array_equal(sss.normalize_alphas(raw), want)
    for y0, y1 in ((0, 53), (7, 19), (52, 53)):
        np.testing.assert_array_equal(n[y0:y1], want[y0:y1])
    np.testing.assert_array_equal(n.float32(), want.astype(np.float32))
    np.testing.assert_allclose(n.layer_sums(), want.reshape(-1, 4).sum(0), rtol=1e-13)
    for size in ((20, 15), (53, 41), (70, 60)):
        np.testing.assert_array_equal(n.resized(*size),
                                      resize(want, *size, method="bilinear"))
    with pytest.raises(TypeError, match="row slices"):
        n[3]
    # small, or not float32, or not finite: normalised whole, as before
    assert isinstance(normalized_layers(raw[:1, :10]), np.ndarray)
    assert isinstance(normalized_layers(raw.astype(np.float64)), np.ndarray)
    bad = raw.copy()
    bad[10, 10, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        normalized_layers(bad)


@pytest.mark.parametrize("band", [1, 3, 7, 13, 100])
def test_band_shrink_with_bands_that_cut_its_blocks(band):
    from sss.export.preview import _BandFit, _BandShrink, _fit, _shrink

    rng = np.random.default_rng(6)
    x = rng.random((100, 90, 2))
    shrink = _BandShrink(100, 90, 2, 10, 9)
    assert shrink.factor == 5
    y = rng.random((300, 200, 2))
    fit = _BandFit(300, 200, 2, max_side=64)
    for y0 in range(0, 100, band):
        shrink.add(y0, x[y0:y0 + band])
    for y0 in range(0, 300, band):
        fit.add(y0, y[y0:y0 + band])
    np.testing.assert_array_equal(shrink.result(), _shrink(x, 10, 9))
    np.testing.assert_array_equal(fit.result(), _fit(y, 64))
    small = _BandFit(30, 20, 2, max_side=64)  # fits already: the rows themselves
    for y0 in range(0, 30, band):
        small.add(y0, y[:30, :20][y0:y0 + band])
    np.testing.assert_array_equal(small.result(), y[:30, :20])


def test_save_layers_normalising_by_band_writes_the_same_files(tmp_path, monkeypatch):
    img, raw, colors = _float32_layers(h=60, w=44, k=3, seed=7)
    formats = ("overview", "png", "ora", "npz", "psd", "subject")
    kw = dict(formats=formats, subject=[0, 2])
    whole = export.save_layers(tmp_path / "whole", "p", img, raw, colors, **kw)
    made = sss.multilevel.layer_colors(img, raw, max_pixels=300, dtype=np.float32)
    monkeypatch.setattr(sss.colors, "_BAND_VALUES", 300)  # bands of 2 rows
    assert isinstance(sss.colors.normalized_layers(raw), sss.colors.NormalizedLayers)
    banded = export.save_layers(tmp_path / "banded", "p", img, raw, colors, **kw)
    assert whole.keys() == banded.keys() == set(formats)
    for fmt in formats:
        for x, y in zip(whole[fmt], banded[fmt], strict=True):
            assert x.read_bytes() == y.read_bytes(), x.name
    # the layer colours (estimated on a smaller copy) and the subject's choice too
    np.testing.assert_array_equal(
        sss.multilevel.layer_colors(img, raw, max_pixels=300, dtype=np.float32), made)
    source = sss.multilevel.layer_colors(img, raw, max_pixels=300, dtype=np.float32,
                                         bands=True)
    np.testing.assert_array_equal(source.rows(0, img, sss.normalize_alphas(raw)), made)
    # the subject chosen from the photo's salient-object map, with the normalised
    # layers read by band as with the whole array
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # if the map finds no clear subject
        chose = export.save_layers(tmp_path / "chosen", "p", img, raw, colors,
                                   formats=("subject",))
        monkeypatch.setattr(sss.colors, "_BAND_VALUES", 1 << 22)
        chose_whole = export.save_layers(tmp_path / "chosen_whole", "p", img, raw, colors,
                                         formats=("subject",))
    assert [p.read_bytes() for p in chose.get("subject", [])] == \
        [p.read_bytes() for p in chose_whole.get("subject", [])]
    from sss.subject import _subject_layers
    monkeypatch.setattr(sss.colors, "_BAND_VALUES", 300)
    sal = np.clip(img[..., 0], 0, 1)
    n = sss.colors.normalized_layers(raw)
    assert _subject_layers(n, None, sal) == sss.subject_layers(raw, saliency=sal)
    assert raw[5, 6, 0] == -1.0  # the layers given are not modified
