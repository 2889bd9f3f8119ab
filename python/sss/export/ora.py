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
    from PIL import Image

    order, rgba = _ora_layers(image, alphas, colors, None, space, bits)
    h, w = rgba.shape[1:3]
    if layer_names is None:
        layer_names = [f"layer {i}" for i in range(rgba.shape[0])]
    composite = composite_over(rgba, space=space)
    merged = _to_levels(composite, bits)
    thumb = Image.fromarray(merged if bits == 8 else _to_levels(composite, 8))
    del composite
    thumb.thumbnail((256, 256), Image.Resampling.LANCZOS)
    entries = []
    xml = [f'<?xml version="1.0" encoding="UTF-8"?>\n'
           f'<image version="0.0.3" w="{w}" h="{h}">\n <stack>\n']
    pngs = png_bytes_many([*rgba, merged, np.asarray(thumb)], icc_profile, compression)
    for t, layer in enumerate(order):
        src = f"data/layer{layer}.png"
        xml.append(f'  <layer name={quoteattr(str(layer_names[layer]))} src="{src}" x="0" y="0" '
                   'opacity="1.0" visibility="visible" composite-op="svg:src-over"/>\n')
        entries.append((src, pngs[t]))
    xml.append(" </stack>\n</image>\n")
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), b"image/openraster",
                   compress_type=zipfile.ZIP_STORED)
        z.writestr("stack.xml", "".join(xml).encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)
        for name, data in entries:  # PNGs are compressed already
            z.writestr(name, data, compress_type=zipfile.ZIP_STORED)
        z.writestr("mergedimage.png", pngs[-2], compress_type=zipfile.ZIP_STORED)
        z.writestr("Thumbnails/thumbnail.png", pngs[-1],
                   compress_type=zipfile.ZIP_STORED)
    return buf.getvalue(), order
