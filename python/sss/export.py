"""Editor-ready files from soft layers: overview, RGBA PNGs, OpenRaster, npz.

Two compositing rules appear here, both exact up to 8-bit rounding:

Additive (the ``NAME_layer{i}.png`` files)
    The soft segments are additive: ``photo = sum_i a_i * c_i`` with a_i the
    PNG's alpha and c_i its colour. Alphas are quantised so that the K
    8-bit alphas of a pixel sum to exactly 255, and colours are then
    re-fitted to the quantised alphas (:func:`sss.project_layer_colors`)
    before rounding, so recomposing the 8-bit files is off by at most half
    a level (0.5/255) plus the photo's own rounding.

'Over' (the ``NAME.ora`` OpenRaster stack)
    Editors stack layers with ordinary 'normal' (Porter-Duff source-over)
    blending, so the ``.ora`` uses ``svg:src-over`` for every layer and
    converts the alphas. With layers ordered top (t = 0) to bottom
    (t = K-1) and R_t = prod_{s<t} (1 - b_s) the coverage left by the
    layers above, layer t gets alpha ``b_t = a_t / R_t`` (0 where
    R_t = 0) and the bottom layer ``b = 1``. Then ordinary 'over'
    compositing, ``out = b_t c_t + (1 - b_t) out`` from bottom to top,
    gives ``sum_t a_t c_t``: the photo. Each b_t is quantised to 8 bits
    before the next one is computed, and colours are re-fitted to the
    effective alphas ``b_t R_t`` of the quantised values, so the stack
    reproduces the photo to within half a level. The top layer's alpha is
    exactly its soft segment; lower layers extend under the layers above
    them (invisible while those are shown). The layer with the largest
    area goes to the bottom, the others above it by decreasing area.

    Blending space (checked in the editors by
    ``tools/check_ora_in_editors.py``; numbers in docs/outputs.md). The
    default ``space="srgb"`` fits the colours for blending on the stored
    sRGB values, as the OpenRaster specification (W3C compositing), Krita
    and MyPaint do: Krita 5.1.5 shows the photo within 2 levels. GIMP's
    OpenRaster loader (2.10 and 3.0) gives ``svg:src-over`` layers its
    *Normal* mode, which blends in linear light: GIMP 3.0.4 shows the
    default stack off by up to 69 levels in soft transitions, unless the
    layers' composite space is set to "RGB (perceptual)" (then exact).
    ``space="linear"`` (``--ora-space linear``) re-fits the colours for
    linear-light blending: exact in GIMP (max 1 level), off by as much in
    Krita. No stack of 'normal' layers can be exact in both: at a pixel
    where layers of different colours mix, sRGB and linear-light blending
    of the same layers differ (the sRGB curve is strictly convex above
    0.04, Jensen's inequality). GIMP's loader reads no per-layer attribute
    that selects the composite space, and GIMP 3.0.4 maps every other
    OpenRaster operator (``svg:plus``, ``svg:darken``, ...) to a
    non-legacy mode, which also composites in linear light, so no choice
    of operators avoids the split (docs/outputs.md). The additive PNGs
    are unaffected.
"""

from __future__ import annotations

import io as _io
import os
import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from ._files import atomic_write, check_name, write_set
from .colors import estimate_layer_colors, normalize_alphas, project_layer_colors

__all__ = ["FORMATS", "ALL_FORMATS", "PALETTE", "quantize_alphas", "layer_rgba", "ora_layers",
           "srgb_to_linear", "linear_to_srgb",
           "composite_additive", "composite_over", "color_coded", "overview",
           "write_ora", "save_layers", "save_result"]

FORMATS = ("overview", "png", "ora", "npz")
#: every output format: the defaults and those written only when asked for
ALL_FORMATS = FORMATS + ("psd",)
#: the formats that need the layer colours
_COLOUR_FORMATS = ("overview", "png", "ora", "psd")

#: Colours of the layers in the colour-coded views (layer i gets PALETTE[i % 10]).
PALETTE = np.array([
    [0.90, 0.10, 0.10], [0.10, 0.45, 0.90], [0.95, 0.80, 0.10], [0.15, 0.70, 0.25],
    [0.60, 0.25, 0.80], [0.95, 0.50, 0.10], [0.10, 0.80, 0.80], [0.90, 0.40, 0.70],
    [0.55, 0.35, 0.15], [0.50, 0.50, 0.50]])


def quantize_alphas(alphas: np.ndarray) -> np.ndarray:
    """Normalised alphas as uint8 levels that sum to exactly 255 per pixel.

    Largest-remainder rounding of ``255 * normalize_alphas(alphas)``: every
    level is the floor or the ceiling of its exact value.

    Returns
    -------
    (H, W, K) ndarray, uint8
    """
    a = normalize_alphas(alphas) * 255.0
    q = np.floor(a)
    short = (255 - q.sum(-1)).round().astype(np.int64)  # levels still to hand out
    rem = a - q
    order = np.argsort(-rem, axis=-1, kind="stable")
    rank = np.argsort(order, axis=-1, kind="stable")  # position of each layer in `order`
    q += rank < short[..., None]
    return q.astype(np.uint8)


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in [0, 1] to linear light (IEC 61966-2-1)."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """Linear-light values in [0, 1] to sRGB encoding (IEC 61966-2-1)."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)


def _check_space(space: str) -> str:
    if space not in ("srgb", "linear"):
        raise ValueError(f"space must be 'srgb' or 'linear', got {space!r}")
    return space


def _round8(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def layer_rgba(image: np.ndarray, alphas: np.ndarray, colors: np.ndarray) -> np.ndarray:
    """8-bit RGBA layers for additive recomposition (``sum_i a_i c_i = photo``).

    Parameters
    ----------
    image : (H, W, 3) ndarray, the photo in [0, 1]
    alphas : (H, W, K) ndarray, the soft layers (normalised here)
    colors : (H, W, K, 3) ndarray, layer colours for the normalised alphas

    Returns
    -------
    (K, H, W, 4) ndarray, uint8
        Per layer: colour re-fitted to the quantised alphas, then rounded;
        alpha from :func:`quantize_alphas`.
    """
    q = quantize_alphas(alphas)
    c = project_layer_colors(image, q.astype(np.float64) / 255.0, colors)
    out = np.empty((q.shape[2],) + q.shape[:2] + (4,), np.uint8)
    for k in range(q.shape[2]):
        out[k, ..., :3] = _round8(c[..., k, :])
        out[k, ..., 3] = q[..., k]
    return out


def _stack_order(alphas: np.ndarray) -> list[int]:
    """Top-to-bottom order: the largest layer at the bottom, then by
    decreasing area upwards (ties by index)."""
    area = alphas.reshape(-1, alphas.shape[2]).sum(0)
    bottom_up = sorted(range(alphas.shape[2]), key=lambda k: (-area[k], k))
    return bottom_up[::-1]


def ora_layers(image: np.ndarray, alphas: np.ndarray, colors: np.ndarray, order=None, *,
               space: str = "srgb"):
    """8-bit RGBA layers converted for ordinary 'over' blending.

    Parameters
    ----------
    image, alphas, colors
        As for :func:`layer_rgba`.
    order : sequence of int, optional
        Layer indices from top to bottom; default: largest area at the bottom.
    space : {"srgb", "linear"}, optional
        Where the editor blends: on the stored sRGB values (Krita, MyPaint,
        the OpenRaster specification; the default) or in linear light
        (GIMP 2.10/3, whose OpenRaster loader gives the layers its *Normal*
        mode). With "linear" the colours are re-fitted so that blending the
        linearised colours gives the linearised photo. Measured in the
        editors: see the module docstring.

    Returns
    -------
    order : list of int
        Top-to-bottom layer indices.
    rgba : (K, H, W, 4) ndarray, uint8
        ``rgba[t]`` is the layer at stack position t (0 = top); the last is opaque.
    """
    a = normalize_alphas(alphas)
    k = a.shape[2]
    order = list(_stack_order(a) if order is None else order)
    if sorted(order) != list(range(k)):
        raise ValueError(f"order must be a permutation of 0..{k - 1}, got {order}")
    remaining = np.ones(a.shape[:2])
    b8 = np.empty(a.shape[:2] + (k,), np.uint8)
    eff = np.empty_like(a)
    for t, layer in enumerate(order):
        if t == k - 1:
            b = np.ones(a.shape[:2])
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                b = np.where(remaining > 0, a[..., layer] / remaining, 0.0)
            b = np.clip(b, 0.0, 1.0)
        b8[..., t] = np.round(b * 255.0).astype(np.uint8)
        bq = b8[..., t] / 255.0
        eff[..., t] = bq * remaining
        remaining = remaining * (1.0 - bq)
    c = np.ascontiguousarray(colors[..., order, :])
    if _check_space(space) == "linear":
        c = linear_to_srgb(project_layer_colors(srgb_to_linear(image), eff, srgb_to_linear(c)))
    else:
        c = project_layer_colors(image, eff, c)
    out = np.empty((k,) + a.shape[:2] + (4,), np.uint8)
    for t in range(k):
        out[t, ..., :3] = _round8(c[..., t, :])
        out[t, ..., 3] = b8[..., t]
    return order, out


def composite_additive(rgba: np.ndarray) -> np.ndarray:
    """``sum_i (A_i / 255) (C_i / 255)`` of (K, H, W, 4) uint8 layers -> (H, W, 3) floats."""
    f = rgba.astype(np.float64) / 255.0
    return (f[..., :3] * f[..., 3:]).sum(0)


def composite_over(rgba_top_to_bottom: np.ndarray, *, space: str = "srgb") -> np.ndarray:
    """Porter-Duff 'over' of (K, H, W, 4) uint8 layers given top first, on
    black: ``out = a c + (1 - a) out`` from the bottom layer up, on the sRGB
    values or (``space="linear"``) on linearised colours, re-encoded at the end."""
    f = rgba_top_to_bottom.astype(np.float64) / 255.0
    col = f[..., :3] if _check_space(space) == "srgb" else srgb_to_linear(f[..., :3])
    out = np.zeros(f.shape[1:3] + (3,))
    for t in range(f.shape[0] - 1, -1, -1):
        out = f[t, ..., 3:] * col[t] + (1.0 - f[t, ..., 3:]) * out
    return out if space == "srgb" else linear_to_srgb(out)


def color_coded(alphas: np.ndarray) -> np.ndarray:
    """Each layer painted in its PALETTE colour, mixed by the alphas: (H, W, 3)."""
    a = normalize_alphas(alphas)
    pal = PALETTE[np.arange(a.shape[2]) % len(PALETTE)]
    return a @ pal


def _fit(img: np.ndarray, max_side: int) -> np.ndarray:
    from .io import resize

    h, w = img.shape[:2]
    s = min(1.0, max_side / max(h, w))
    if s >= 1.0:
        return img
    return np.clip(resize(img, max(1, round(h * s)), max(1, round(w * s)), method="bilinear"),
                   0, 1)


def overview(image: np.ndarray, alphas: np.ndarray, colors: np.ndarray | None = None, *,
             max_side: int = 640) -> np.ndarray:
    """The photo beside its colour-coded layers, with each layer below.

    Parameters
    ----------
    image : (H, W, 3) ndarray
    alphas : (H, W, K) ndarray
    colors : (H, W, K, 3) ndarray, optional
        Layer colours; the bottom row shows each layer (its colour over a
        checkerboard, by its alpha). Without colours the bottom row shows
        each alpha matte in grey.
    max_side : int, optional
        Longer side of each of the two top panels, in pixels (never enlarged).

    Returns
    -------
    ndarray, uint8, (rows, cols, 3)
    """
    img = np.clip(np.asarray(image, dtype=np.float64), 0, 1)
    a = normalize_alphas(alphas)
    top_l = _fit(img, max_side)
    top_r = _fit(color_coded(a), max_side)
    ph, pw = top_l.shape[:2]
    gap = max(2, pw // 80)
    width = 2 * pw + gap
    k = a.shape[2]
    tw = max(1, (width - (k - 1) * gap) // k)
    th = max(1, round(tw * img.shape[0] / img.shape[1]))
    tiles = []
    yy, xx = np.mgrid[0:th, 0:tw]
    cell = max(2, tw // 16)
    checker = np.where(((yy // cell) + (xx // cell)) % 2 == 0, 0.8, 0.6)[..., None]
    for i in range(k):
        from .io import resize

        al = np.clip(resize(a[..., i], th, tw, method="bilinear"), 0, 1)[..., None]
        if colors is None:
            tile = np.repeat(al, 3, axis=2)
        else:
            col = np.clip(resize(colors[..., i, :], th, tw, method="bilinear"), 0, 1)
            tile = al * col + (1 - al) * checker
        # a thin bar in the layer's colour-code colour above each tile
        bar = np.broadcast_to(PALETTE[i % len(PALETTE)], (max(2, th // 20), tw, 3))
        tiles.append(np.concatenate([bar, tile], 0))
    bh = tiles[0].shape[0]
    out = np.ones((ph + gap + bh, width, 3))
    out[:ph, :pw] = top_l
    out[:ph, pw + gap:pw + gap + pw] = top_r
    for i, t in enumerate(tiles):
        x0 = i * (tw + gap)
        out[ph + gap:, x0:x0 + tw] = t
    return _round8(out)


def _png_bytes(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = _io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def write_ora(path, image: np.ndarray, alphas: np.ndarray, colors: np.ndarray, *,
              layer_names=None, space: str = "srgb") -> list[int]:
    """Write an OpenRaster file whose layer stack shows the photo.

    The zip holds ``mimetype`` (stored, uncompressed, first), ``stack.xml``,
    one PNG per layer under ``data/``, ``mergedimage.png`` (the composite of
    the stack) and ``Thumbnails/thumbnail.png`` (at most 256 px). Layers use
    'over' blending (``svg:src-over``) with converted alphas: see the module
    docstring. ``space="srgb"`` (default) is exact in Krita, MyPaint and
    the OpenRaster specification; ``space="linear"`` makes the stack exact
    in GIMP instead (its loader's *Normal* mode blends in linear light):
    see :func:`ora_layers`.
    Returns the top-to-bottom layer order.

    References
    ----------
    .. [1] OpenRaster specification, https://www.openraster.org/ (stack.xml,
           mimetype, mergedimage.png, Thumbnails/thumbnail.png).
    """
    data, order = _ora_file(image, alphas, colors, layer_names=layer_names, space=space)
    atomic_write(path, data)
    return order


def _ora_file(image, alphas, colors, *, layer_names=None, space="srgb"):
    """The bytes of write_ora's file and its top-to-bottom layer order."""
    from PIL import Image

    order, rgba = ora_layers(image, alphas, colors, space=space)
    h, w = rgba.shape[1:3]
    if layer_names is None:
        layer_names = [f"layer {i}" for i in range(rgba.shape[0])]
    merged = _round8(composite_over(rgba, space=space))
    thumb = Image.fromarray(merged)
    thumb.thumbnail((256, 256), Image.Resampling.LANCZOS)
    entries = []
    xml = [f'<?xml version="1.0" encoding="UTF-8"?>\n'
           f'<image version="0.0.3" w="{w}" h="{h}">\n <stack>\n']
    for t, layer in enumerate(order):
        src = f"data/layer{layer}.png"
        xml.append(f'  <layer name={quoteattr(str(layer_names[layer]))} src="{src}" x="0" y="0" '
                   'opacity="1.0" visibility="visible" composite-op="svg:src-over"/>\n')
        entries.append((src, _png_bytes(rgba[t])))
    xml.append(" </stack>\n</image>\n")
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), b"image/openraster",
                   compress_type=zipfile.ZIP_STORED)
        z.writestr("stack.xml", "".join(xml).encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)
        for name, data in entries:  # PNGs are compressed already
            z.writestr(name, data, compress_type=zipfile.ZIP_STORED)
        z.writestr("mergedimage.png", _png_bytes(merged), compress_type=zipfile.ZIP_STORED)
        z.writestr("Thumbnails/thumbnail.png", _png_bytes(np.asarray(thumb)),
                   compress_type=zipfile.ZIP_STORED)
    return buf.getvalue(), order


def save_layers(outdir, name: str, image: np.ndarray, alphas: np.ndarray,
                colors: np.ndarray | None = None, *, formats=FORMATS,
                raw_alphas: np.ndarray | None = None, extra: dict | None = None,
                colors_kwargs: dict | None = None,
                ora_space: str = "srgb") -> dict[str, list[Path]]:
    """Write the chosen files for one photo into `outdir`.

    Parameters
    ----------
    outdir : path
        Created if missing.
    name : str
        File name stem (``NAME_overview.png``, ``NAME_layer{i}.png``,
        ``NAME.ora``, ``NAME_alphas.npz``).
    image : (H, W, 3) ndarray
        The photo, in [0, 1].
    alphas : (H, W, K) ndarray
        Soft layers at the photo's size (normalised here for the images).
    colors : (H, W, K, 3) ndarray, optional
        Layer colours; estimated with :func:`sss.estimate_layer_colors` if
        None and needed.
    formats : iterable of {"overview", "png", "ora", "npz", "psd"}
    raw_alphas : ndarray, optional
        Alphas to store unchanged in the npz (default `alphas`).
    extra : dict, optional
        More arrays for the npz (e.g. eigenvalues).
    colors_kwargs : dict, optional
        Keyword arguments for the colour estimation.
    ora_space : {"srgb", "linear"}, optional
        Blending space the OpenRaster stack is made exact for (see :func:`ora_layers`).

    Returns
    -------
    dict mapping each format to the files written.

    The files are written as one set (:mod:`sss._files`): every file is
    rendered first, then written under a temporary name in `outdir` and
    renamed, so a failure or an interruption leaves none of them under its
    final name; existing symlinks are replaced, never written through; `name`
    must be a plain file name (no directory parts). Files of an earlier
    save with the same `name` that this one does not rewrite (e.g. a
    ``NAME_layer7.png`` after a run with more layers, or another format) are
    removed.

    The npz holds ``alphas`` (raw, float32, as given), ``layer_alphas`` (the
    normalised alphas at the photo's size used for the images, float32),
    ``palette`` and the `extra` arrays.
    """
    formats = _check_formats(formats)
    _check_space(ora_space)
    check_name(name)
    out = Path(os.fspath(outdir))
    img = np.asarray(image, dtype=np.float64)
    a = normalize_alphas(alphas)
    if img.shape[:2] != a.shape[:2]:
        raise ValueError(f"alphas of {a.shape[0]} x {a.shape[1]} pixels do not match the "
                         f"image of {img.shape[0]} x {img.shape[1]} pixels")
    need_colors = any(f in formats for f in _COLOUR_FORMATS)
    if colors is None and need_colors:
        colors = estimate_layer_colors(img, a, **(colors_kwargs or {}))
    files: dict[str, bytes] = {}  # rendered in memory, then written as one set
    written: dict[str, list[Path]] = {}

    def add(fmt, fname, data):
        files[fname] = data
        written.setdefault(fmt, []).append(out / fname)

    if "overview" in formats:
        add("overview", f"{name}_overview.png", _png_bytes(overview(img, a, colors)))
    if "png" in formats:
        rgba = layer_rgba(img, a, colors)
        for k in range(rgba.shape[0]):
            add("png", f"{name}_layer{k}.png", _png_bytes(rgba[k]))
        del rgba
    if "ora" in formats:
        add("ora", f"{name}.ora", _ora_file(img, a, colors, space=ora_space)[0])
    if "psd" in formats:
        from .psd import psd_bytes
        order, rgba = ora_layers(img, a, colors, space=ora_space)
        merged = _round8(composite_over(rgba, space=ora_space))
        add("psd", f"{name}.psd", psd_bytes(rgba, merged, [f"layer {i}" for i in order]))
    if "npz" in formats:
        arrays = {"alphas": np.asarray(alphas if raw_alphas is None else raw_alphas,
                                       dtype=np.float32),
                  "layer_alphas": a.astype(np.float32),
                  "palette": PALETTE[np.arange(a.shape[2]) % len(PALETTE)]}
        for key, val in (extra or {}).items():
            if val is not None:
                arrays[key] = np.asarray(val)
        buf = _io.BytesIO()
        np.savez_compressed(buf, **arrays)
        add("npz", f"{name}_alphas.npz", buf.getvalue())
    out.mkdir(parents=True, exist_ok=True)
    write_set(out, files, stale=_stale_pattern(name))
    return written


def _stale_pattern(name: str) -> re.Pattern:
    """The file names save_layers writes for `name`, whatever the formats and
    layer count: an earlier run's files of that name that the new set does not
    rewrite are removed."""
    n = re.escape(name)
    return re.compile(rf"{n}_overview\.png|{n}_layer\d+\.png|{n}\.ora|{n}\.psd|{n}_alphas\.npz")


def _check_formats(formats) -> tuple[str, ...]:
    if isinstance(formats, str):
        formats = [f.strip() for f in formats.split(",") if f.strip()]
    formats = tuple(formats)
    bad = [f for f in formats if f not in ALL_FORMATS]
    if bad:
        raise ValueError(f"unknown format(s) {', '.join(map(repr, bad))}; "
                         f"choose from {', '.join(ALL_FORMATS)}")
    if not formats:
        raise ValueError(f"no output format given; choose from {', '.join(ALL_FORMATS)}")
    return formats


def save_result(result, directory, formats=FORMATS, *, name: str = "segments",
                ora_space: str = "srgb") -> dict[str, list[Path]]:
    """Write a :class:`sss.SoftSegments` result (``SoftSegments.save``): the
    `formats` of :func:`save_layers`, the npz with what :func:`sss.load`
    needs to give the result back whole. Returns the files written per format."""
    if getattr(result, "image", None) is None:
        raise ValueError("saving layers needs the photo: this result has no image")
    formats = _check_formats(formats)
    needs = any(f in formats for f in _COLOUR_FORMATS)
    extra = {key: getattr(result, key, None)
             for key in ("initial_alphas", "eigenvalues", "superpixels")}
    extra["image"] = np.asarray(result.image, dtype=np.float32)
    extra["method"] = np.array(getattr(result, "method", "reference"))
    if getattr(result, "working_shape", None):
        extra["working_shape"] = np.asarray(result.working_shape)
    return save_layers(directory, name, result.image, result.alphas,
                       result.colors if needs else None, formats=formats,
                       raw_alphas=result.alphas, extra=extra, ora_space=ora_space)
