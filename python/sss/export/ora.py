"""The OpenRaster (.ora) writer."""

from __future__ import annotations

import io as _io
import zipfile
from xml.sax.saxutils import quoteattr

import numpy as np

from .._files import atomic_write
from ..colors import normalize_alphas
from ..io import check_icc_profile
from .compositing import _ora_layers, _to_levels, check_bits, composite_over
from .encode import PNG_COMPRESSION, png_bytes_many

__all__ = ["write_ora"]


def write_ora(path, image: np.ndarray, alphas: np.ndarray, colors: np.ndarray, *,
              layer_names=None, space: str = "srgb",
              icc_profile: bytes | None = None, bits: int = 8) -> list[int]:
    """Write an OpenRaster file whose layer stack shows the photo.

    The zip holds ``mimetype`` (stored, uncompressed, first), ``stack.xml``,
    one PNG per layer under ``data/``, ``mergedimage.png`` (the composite of
    the stack) and ``Thumbnails/thumbnail.png`` (at most 256 px). Layers use
    'over' blending (``svg:src-over``) with converted alphas: see
    :mod:`sss.export.compositing`. ``space="srgb"`` (default) is exact in Krita, MyPaint and
    the OpenRaster specification; ``space="linear"`` makes the stack exact
    in GIMP instead (its loader's *Normal* mode blends in linear light):
    see :func:`ora_layers`. `icc_profile` (RGB ICC profile bytes, e.g.
    :func:`sss.io.read_icc_profile` of the photo) is embedded in every PNG.
    `bits` = 16 writes the layers and ``mergedimage.png`` as 16-bit PNGs
    (for photos of more than 8 bits per channel; the thumbnail stays 8-bit,
    as the specification asks). Returns the top-to-bottom layer order.

    References
    ----------
    .. [1] OpenRaster specification, https://www.openraster.org/ (stack.xml,
           mimetype, mergedimage.png, Thumbnails/thumbnail.png).
    """
    data, order = _ora_file(image, normalize_alphas(alphas), colors, layer_names=layer_names,
                            space=space, icc_profile=check_icc_profile(icc_profile),
                            bits=check_bits(bits))
    atomic_write(path, data)
    return order


def _ora_file(image, alphas, colors, *, layer_names=None, space="srgb", icc_profile=None,
              compression=PNG_COMPRESSION, bits=8):
    """The bytes of write_ora's file and its top-to-bottom layer order
    (`alphas` normalised already)."""
    order, rgba = _ora_layers(image, alphas, colors, None, space, bits)
    composite = composite_over(rgba, space=space)
    merged = _to_levels(composite, bits)
    merged8 = merged if bits == 8 else _to_levels(composite, 8)
    del composite
    pngs = png_bytes_many([*rgba, merged, _thumbnail(merged8)], icc_profile, compression)
    h, w = rgba.shape[1:3]
    return _ora_zip(order, pngs[:-2], pngs[-2], pngs[-1], h, w, layer_names), order


def _thumbnail(merged8: np.ndarray) -> np.ndarray:
    """The OpenRaster thumbnail (at most 256 px) of the 8-bit (H, W, 3) composite."""
    from PIL import Image

    thumb = Image.fromarray(merged8)
    thumb.thumbnail((256, 256), Image.Resampling.LANCZOS)
    return np.asarray(thumb)


def _ora_zip(order, layer_pngs, merged_png: bytes, thumb_png: bytes, height: int, width: int,
             layer_names=None) -> bytes:
    """The OpenRaster zip of encoded PNGs: `layer_pngs[t]` is the layer at stack
    position t (0 = top), which is layer `order[t]`."""
    if layer_names is None:
        layer_names = [f"layer {i}" for i in range(len(order))]
    entries = []
    xml = [f'<?xml version="1.0" encoding="UTF-8"?>\n'
           f'<image version="0.0.3" w="{width}" h="{height}">\n <stack>\n']
    for t, layer in enumerate(order):
        src = f"data/layer{layer}.png"
        xml.append(f'  <layer name={quoteattr(str(layer_names[layer]))} src="{src}" x="0" y="0" '
                   'opacity="1.0" visibility="visible" composite-op="svg:src-over"/>\n')
        entries.append((src, layer_pngs[t]))
    xml.append(" </stack>\n</image>\n")
    buf = _io.BytesIO()

    def member(name, data, how=zipfile.ZIP_STORED):  # PNGs are compressed already
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # reproducible bytes
        info.external_attr = 0o644 << 16
        z.writestr(info, data, compress_type=how)

    with zipfile.ZipFile(buf, "w") as z:
        member("mimetype", b"image/openraster")
        member("stack.xml", "".join(xml).encode("utf-8"), zipfile.ZIP_DEFLATED)
        for name, data in entries:
            member(name, data)
        member("mergedimage.png", merged_png)
        member("Thumbnails/thumbnail.png", thumb_png)
    return buf.getvalue()
