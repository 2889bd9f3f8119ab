"""The image files of a photo rendered a band of rows at a time.

A 12-megapixel photo's five layers have 720 MB of colours in float32, and
each stack of RGBA layers is another 240 MB (480 MB at 16 bits). Every
conversion from soft layers to file pixels works pixel by pixel, so
:func:`render_images` makes the files band by band: for each band of rows
it takes the layer colours of those rows (sliced from an array, or computed
for the band by an :class:`sss.multilevel.UpsampledLayerColors`), converts
them for each format and hands the rows to the formats' PNG streams
(:class:`~sss.export.encode.PngStream`). Only the compressed files and
small images (the overview, the OpenRaster thumbnail's 8-bit composite)
grow with the photo; a PSD, whose raw channels are stored one after the
other, is filled band by band in one buffer of its final size
(:class:`sss.psd.PsdWriter`). The files are those the whole-array functions give
(:func:`~sss.export.compositing.layer_rgba`,
:func:`~sss.export.compositing.ora_layers`, :func:`~sss.export.overview`...),
pixel for pixel, whatever the band height.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..colors import _as_colors
from .compositing import _layer_rgba, _ora_layers, _stack_order, _to_levels, composite_over
from .encode import PngStream
from .preview import _BandFit, _BandShrink, _overview_from, _tile_shape

#: bytes of float32 layer colours per band (the band's height follows from
#: the photo's width and layer count only, so the files' bytes never depend
#: on the machine)
BAND_BYTES = 32 << 20


def band_rows(width: int, num_layers: int, band_bytes: int | None = None) -> int:
    """Rows per band for a photo `width` pixels wide with `num_layers` layers
    (`band_bytes` of float32 colours a band; default :data:`BAND_BYTES`)."""
    band_bytes = BAND_BYTES if band_bytes is None else band_bytes
    return max(1, int(band_bytes) // (max(1, width) * max(1, num_layers) * 3 * 4))


def colour_rows(colors, y0: int, y1: int, image: np.ndarray, alpha_rows: np.ndarray) -> np.ndarray:
    """Rows y0:y1 of the layer colours: a slice of an (H, W, K, 3) array, or
    those rows computed by a band source (an object with ``rows(y0,
    image_rows, alpha_rows)``, e.g. :class:`sss.multilevel.UpsampledLayerColors`)
    from the photo and `alpha_rows`, the rows y0:y1 of the normalised alphas."""
    if isinstance(colors, np.ndarray):
        return colors[y0:y1]
    return colors.rows(y0, image[y0:y1], alpha_rows)


def check_colour_source(colors, alpha_shape):
    """`colors` checked against (H, W, K) alphas: an array (checked as
    :func:`sss.colors._as_colors` does, float32 kept) or a band source of
    the right shape."""
    if isinstance(colors, np.ndarray) or not hasattr(colors, "rows"):
        return _as_colors(colors, alpha_shape, keep_float32=True)
    want = tuple(alpha_shape) + (3,)
    if tuple(colors.shape) != want:
        raise ValueError(f"colors must have shape (H, W, K, 3) = {want}, got "
                         f"{tuple(colors.shape)}")
    return colors


def render_images(image: np.ndarray, a: np.ndarray, colors, formats, *, bits: int = 8,
                  space: str = "srgb", icc_profile: bytes | None = None,
                  compression: int = 6, exif: bytes | None = None, subject=None,
                  band: int | None = None, progress=None) -> dict:
    """The image files of `formats` ("overview", "png", "ora", "psd",
    "subject"), rendered band by band.

    Parameters
    ----------
    image : (H, W, 3) ndarray, the photo in [0, 1]
    a : (H, W, K) ndarray or :class:`sss.colors.NormalizedLayers`
        The normalised layers (read a band of rows at a time).
    colors : (H, W, K, 3) ndarray or band source
        See :func:`colour_rows`.
    formats : iterable of str
    bits, space, icc_profile, compression, exif
        As for :func:`sss.export.save_layers`.
    subject : list of int, optional
        The subject's layers (needed with "subject"; empty: no subject file).
    band : int, optional
        Rows per band (default :func:`band_rows`).
    progress : callable, optional
        ``progress(fraction_done)`` before each band after the first.

    Returns
    -------
    dict mapping each format to its encoded files: a list of bytes-like
    objects (the layer PNGs in layer order; one file for the others; the
    PSD is a bytearray, not copied to bytes).
    """
    img = image
    H, W, k = a.shape
    formats = [f for f in ("overview", "png", "ora", "psd", "subject") if f in formats]
    if "subject" in formats and not subject:
        formats.remove("subject")
    if not formats:
        return {}
    rows = band_rows(W, k) if band is None else max(1, int(band))
    streams: dict[str, list[PngStream]] = {}
    shrink = fit = None
    if "overview" in formats:
        th, tw = _tile_shape(H, W, k)
        shrink = _BandShrink(H, W, 3 * k, th, tw)  # the tiles' colours
        fit = _BandFit(H, W, k)  # the alphas of the colour-coded panel
        if shrink.factor >= 2:  # bands start at whole blocks of the shrink
            rows = -(-rows // shrink.factor) * shrink.factor
    if "png" in formats:
        streams["png"] = [PngStream(H, W, 4, bits, icc_profile, compression, exif)
                          for _ in range(k)]
    order = None
    merged8 = psd = None
    if "ora" in formats or "psd" in formats:
        order = _stack_order(a)
    if "ora" in formats:
        streams["ora"] = [PngStream(H, W, 4, bits, icc_profile, compression)
                          for _ in range(k)]  # the layers, top first
        streams["ora"].append(PngStream(H, W, 3, bits, icc_profile, compression))  # composite
        merged8 = np.empty((H, W, 3), np.uint8)  # for the thumbnail
    if "psd" in formats:  # the file itself, filled band by band
        from ..psd import PsdWriter

        psd = PsdWriter(H, W, [f"layer {i}" for i in order], bits, icc_profile=icc_profile)
    if "subject" in formats:
        streams["subject"] = [PngStream(H, W, 4, bits, icc_profile, compression, exif)]
    all_streams = [s for group in streams.values() for s in group]
    workers = min(len(all_streams), os.cpu_count() or 1)
    pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 else None
    try:
        for y0 in range(0, H, rows):
            if progress is not None and y0 > 0:  # the caller reports the start
                progress(y0 / H)
            y1 = min(H, y0 + rows)
            img_b, a_b = img[y0:y1], a[y0:y1]
            c_b = colour_rows(colors, y0, y1, img, a_b)
            work = []  # (stream, rows) to encode
            if shrink is not None:
                shrink.add(y0, np.reshape(c_b, c_b.shape[:2] + (3 * k,)))
                fit.add(y0, a_b)
            if "png" in formats:
                rgba = _layer_rgba(img_b, a_b, c_b, bits)
                work += list(zip(streams["png"], rgba))
            if order is not None:
                _, over = _ora_layers(img_b, a_b, c_b, order, space, bits)
                comp = composite_over(over, space=space)
                merged = _to_levels(comp, bits)
                if "ora" in formats:
                    merged8[y0:y1] = merged if bits == 8 else _to_levels(comp, 8)
                    work += list(zip(streams["ora"], [*over, merged]))
                if psd is not None:
                    psd.write(y0, over, merged)
                del comp
            if "subject" in formats:
                from ..colors import composite

                cut = composite(a_b, c_b, layers=subject)
                work.append((streams["subject"][0], _to_levels(cut, bits)))
            if pool is None:
                for s, r in work:
                    s.write(r)
            else:
                list(pool.map(lambda sr: sr[0].write(sr[1]), work))
            del c_b, work
        out = {}
        if shrink is not None:
            out["overview"] = [_overview_bytes(img, a, shrink.result(), icc_profile,
                                               compression, exif, fit.result())]
        if "png" in formats:
            out["png"] = _finish(streams["png"], pool)
        if "ora" in formats:
            from .ora import _ora_zip, _thumbnail
            from .encode import png_bytes

            pngs = _finish(streams["ora"], pool)
            thumb = png_bytes(_thumbnail(merged8), icc_profile, compression)
            out["ora"] = [_ora_zip(order, pngs[:-1], pngs[-1], thumb, H, W)]
        if psd is not None:
            out["psd"] = [psd.finish()]
        if "subject" in formats:
            out["subject"] = _finish(streams["subject"], pool)
        return out
    finally:
        if pool is not None:
            pool.shutdown()


def _finish(streams, pool) -> list[bytes]:
    if pool is None:
        return [s.finish() for s in streams]
    return list(pool.map(lambda s: s.finish(), streams))


def _overview_bytes(img, a, small_c, icc_profile, compression, exif, a_top) -> bytes:
    from .encode import png_bytes

    return png_bytes(_overview_from(img, a, small_c, a_top=a_top), icc_profile, compression,
                     exif)
