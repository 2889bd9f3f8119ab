"""Editor-ready files from soft layers: overview, RGBA PNGs, OpenRaster, PSD, npz,
the subject cut out.

This module dispatches to the formats (:func:`save_layers`); the pieces live
in submodules: :mod:`~sss.export.compositing` (8- or 16-bit layers for additive and
'over' recomposition, composites), :mod:`~sss.export.srgb` (sRGB transfer),
:mod:`~sss.export.preview` (colour-coded views, the overview),
:mod:`~sss.export.ora` (the OpenRaster writer), :mod:`sss.psd` (the Photoshop
writer), :mod:`~sss.export.naming` (the output file names),
:mod:`~sss.export.bands` (the image files rendered a band of rows at a time),
:mod:`~sss.export.encode` (PNG streams, npz); :func:`save_result` writes a
whole :class:`sss.SoftSegments`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._files import check_name, output_folder, write_set
from .._validation import as_int, check_memory
from ..colors import NormalizedLayers, estimate_layer_colors, normalized_layers
from ..io import check_icc_profile
from .compositing import (BIT_DEPTHS, _check_space, check_bits, composite_additive,
                          composite_over, layer_rgba, ora_layers, quantize_alphas)
from .naming import output_name, output_names, stale_pattern
from .bands import check_colour_source, render_images
from .encode import PNG_COMPRESSION, npz_bytes
from .ora import write_ora
from .preview import PALETTE, color_coded, overview
from .srgb import linear_to_srgb, srgb_to_linear

__all__ = ["FORMATS", "ALL_FORMATS", "BIT_DEPTHS", "PALETTE", "export_memory", "quantize_alphas", "layer_rgba", "ora_layers",
           "srgb_to_linear", "linear_to_srgb",
           "composite_additive", "composite_over", "color_coded", "overview",
           "write_ora", "save_layers", "save_result", "output_name", "output_names"]

FORMATS = ("overview", "png", "ora", "npz")
#: every output format: the defaults and those written only when asked for
ALL_FORMATS = FORMATS + ("psd", "subject")
#: the segmentation result's arrays stored in the npz beside the layers (with
#: ``image``, ``method`` and ``working_shape``: what sss.load needs to give the
#: result back whole)
_RESULT_ARRAYS = ("initial_alphas", "grouped_alphas", "group_ids", "eigenvalues",
                  "superpixels", "features")
#: the formats that need the layer colours
_COLOUR_FORMATS = ("overview", "png", "ora", "psd", "subject")
#: peak bytes per pixel and layer of writing the files, colour estimation
#: included. Whole-process peaks of sss segment on a 12-megapixel photo with
#: 5 layers, 2026-12-01, the images rendered a band of rows at a time
#: (sss.export.bands) and the layers normalised band by band
#: (sss.colors.NormalizedLayers): 32 with the default formats, 27 with the npz
#: alone, 35 with 16-bit layer files (21 with the default formats at 45
#: megapixels). Kept above the measured peaks: the estimate refuses a photo
#: rather than let it run out of memory
_BYTES_PER_PIXEL_LAYER = 40
#: more for 16-bit layer files
_BYTES_16_BIT = 5
#: more with a PSD, whose file is one buffer filled band by band (measured
#: with every format: 39 at 8 bits, 50 at 16 bits)
_BYTES_PSD = {8: 8, 16: 16}


def export_memory(height: int, width: int, num_layers: int, formats=FORMATS, *,
                  bit_depth: int = 8) -> float:
    """Estimated peak bytes of writing `formats` for `num_layers` layers of a
    `height` x `width` photo (colour estimation included), for refusing a
    photo before the work starts rather than running out of memory midway.

    Parameters
    ----------
    height, width : int
        The photo's size in pixels (the files are written at this size).
    num_layers : int
    formats : iterable of str
    bit_depth : {8, 16}, optional
        As for :func:`save_layers`.

    Returns
    -------
    float, bytes
    """
    formats = _check_formats(formats)
    bits = check_bits(bit_depth)
    per = _BYTES_PER_PIXEL_LAYER
    if bits == 16 and any(f in formats for f in ("png", "ora", "psd", "subject")):
        per += _BYTES_16_BIT
    if "psd" in formats:
        per += _BYTES_PSD[bits]
    return float(per) * height * width * max(1, num_layers)


def save_layers(outdir, name: str, image: np.ndarray, alphas: np.ndarray,
                colors: np.ndarray | None = None, *, formats=FORMATS,
                raw_alphas: np.ndarray | None = None, extra: dict | None = None,
                colors_kwargs: dict | None = None,
                ora_space: str = "srgb",
                icc_profile: bytes | None = None,
                progress=None,
                png_compression: int = PNG_COMPRESSION,
                exif: bytes | None = None, bit_depth: int = 8,
                subject=None, _band: int | None = None) -> dict[str, list[Path]]:
    """Write the chosen files for one photo into `outdir`.

    Parameters
    ----------
    outdir : path
        Created if missing (with missing parents). The files appear as a
        whole set or not at all; a folder created here is removed again
        if the write fails, is interrupted or has nothing to write, so a
        failed save leaves no trace. A folder that existed is kept.
    name : str
        File name stem (``NAME_overview.png``, ``NAME_layer{i}.png``,
        ``NAME.ora``, ``NAME_alphas.npz``).
    image : (H, W, 3) ndarray
        The photo, in [0, 1].
    alphas : (H, W, K) ndarray
        Soft layers at the photo's size (normalised here for the images).
    colors : (H, W, K, 3) float32 or float64 ndarray, or a band source, optional
        Layer colours; estimated with :func:`sss.estimate_layer_colors` if
        None and needed. float32 colours are read as they are (no float64
        copy). A band source (an object with ``shape`` and ``rows(y0,
        image_rows, alpha_rows)``, such as
        :class:`sss.multilevel.UpsampledLayerColors` from
        ``layer_colors(..., bands=True)``) gives the colours of each band
        of rows as the files are rendered, so that they are never held
        whole.
    formats : iterable of {"overview", "png", "ora", "npz", "psd", "subject"}
        ``"subject"`` writes ``NAME_subject.png``, the photo's salient
        subject cut out: RGBA whose alpha is the sum of the subject's layers
        and whose colour is theirs (:mod:`sss.subject`); when the photo has
        no clear subject it is not written and a ``UserWarning`` says so.
    raw_alphas : ndarray, optional
        Alphas to store unchanged in the npz (default `alphas`).
    extra : dict, optional
        More arrays for the npz (e.g. eigenvalues).
    colors_kwargs : dict, optional
        Keyword arguments for the colour estimation.
    ora_space : {"srgb", "linear"}, optional
        Blending space the OpenRaster stack is made exact for (see :func:`ora_layers`).
    icc_profile : bytes, optional
        The RGB ICC colour profile the photo's values are encoded in
        (:func:`sss.io.read_icc_profile`; ``sss segment`` passes the photo's
        own). It is embedded in every PNG (overview, layers, the OpenRaster
        file's), in the PSD and, as ``icc_profile`` (uint8), in the npz; the
        pixel values do not change. None: no profile (viewers assume sRGB).
    progress : callable, optional
        ``progress(step, fraction_done)`` with the fraction of the whole
        save done: the images (overview, layer PNGs, OpenRaster, PSD,
        subject) are one step, named after those asked for (e.g.
        ``"overview, layer PNGs, OpenRaster"``), rendered a band of rows at
        a time and reported before each band; then ``"npz"``, ``"writing"``
        (before the files are written) and ``"done"`` (1.0, at the end). On
        a 12-megapixel photo the images take about 10 s. Returning False
        before ``"done"`` cancels: :class:`sss.Cancelled` is raised and
        nothing is written.
    png_compression : int, optional
        zlib level 0-9 of the PNGs (the layers, the overview and those in
        the OpenRaster file); default 6. Lower is faster and larger: on a
        12-megapixel photo's layers, level 2 encodes 3.7x faster than 6 for
        files 1.27x as large, level 3 2.9x faster for 1.14x, level 1 4.7x
        faster for 2x, level 9 10x slower for 0.9x (measured on one
        photo).
        The pixels are the same at every level.
    exif : bytes, optional
        EXIF metadata of the photo (:func:`sss.io.read_exif`: capture date,
        camera...), embedded in the layer PNGs and the overview (eXIf chunk)
        and kept in the npz (``exif``, uint8), so that photo managers file
        the layers with the photo. None: no metadata.
    bit_depth : {8, 16}, optional
        Bits per channel of the layer PNGs and the layers and composite of
        the OpenRaster and PSD files: 8 (default) or 16, for photos of more
        than 8 bits per channel (16-bit TIFFs or PNGs, e.g. from a raw
        converter; :func:`sss.io.read_bit_depth`), whose smooth gradients
        would otherwise be rounded to 256 levels. The overview (a preview)
        is 8-bit either way. 16-bit files are about 2.3 times as large.

    subject : sequence of int, optional
        The layers of ``NAME_subject.png``; default: chosen from the photo's
        salient-object map (:func:`sss.subject_layers`).

    Returns
    -------
    dict mapping each format to the files written.

    The image files are rendered a band of rows at a time
    (:mod:`sss.export.bands`): the same pixels as the whole-array functions
    (:func:`layer_rgba`, :func:`ora_layers`, :func:`overview`), without a
    photo-sized array of colours or RGBA layers. The files are written as
    one set (:mod:`sss._files`): every file is rendered first, then written under a temporary name in `outdir` and
    renamed, so a failure or an interruption leaves none of them under its
    final name; existing symlinks are replaced, never written through; `name`
    must be a plain file name (no directory parts). Files of an earlier
    save with the same `name` that this one does not rewrite (e.g. a
    ``NAME_layer7.png`` after a run with more layers, or another format) are
    removed, unless this save writes no file at all.

    The npz holds ``alphas`` (raw, float32, as given), ``layer_alphas`` (the
    normalised alphas at the photo's size used for the images, float32),
    ``palette`` and the `extra` arrays.
    """
    formats = _check_formats(formats)
    _check_space(ora_space)
    check_name(name)
    icc = check_icc_profile(icc_profile)
    png_compression = as_int(png_compression, "png_compression", minimum=0, maximum=9)
    bits = check_bits(bit_depth)
    if exif is not None and not isinstance(exif, (bytes, bytearray)):
        raise TypeError(f"exif must be bytes (sss.io.read_exif) or None, got "
                        f"{type(exif).__name__}")
    exif = None if exif is None else bytes(exif)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a callable (step, fraction_done) or None, got "
                        f"{type(progress).__name__}")
    out = Path(os.fspath(outdir))
    shape = np.shape(alphas)
    if len(shape) == 3:
        check_memory(export_memory(shape[0], shape[1], shape[2], formats, bit_depth=bits),
                     f"writing {', '.join(formats)} for {shape[2]} layers of "
                     f"{shape[1]} x {shape[0]} pixels")
    img = np.asarray(image, dtype=np.float64)
    # large float32 layers are normalised a band of rows at a time as they are
    # read, never held whole in float64 (twice their size)
    a = normalized_layers(alphas)
    if img.shape[:2] != a.shape[:2]:
        raise ValueError(f"alphas of {a.shape[0]} x {a.shape[1]} pixels do not match the "
                         f"image of {img.shape[0]} x {img.shape[1]} pixels")
    need_colors = any(f in formats for f in _COLOUR_FORMATS)
    if colors is None and need_colors:
        colors = estimate_layer_colors(img, np.asarray(a), **(colors_kwargs or {}))
    if need_colors:
        colors = check_colour_source(colors, a.shape)
    files: dict[str, bytes] = {}  # rendered in memory, then written as one set
    written: dict[str, list[Path]] = {}
    images = [f for f in ("overview", "png", "ora", "psd", "subject") if f in formats]
    image_step = ", ".join({"overview": "overview", "png": "layer PNGs", "ora": "OpenRaster",
                            "psd": "PSD", "subject": "subject"}[f] for f in images)
    steps = ([image_step] if images else []) + (["npz"] if "npz" in formats else []) \
        + ["writing"]
    # the images take most of the time: their step counts as 4 of the others
    weights = [4.0 if st == image_step else 1.0 for st in steps]

    def report(step, within=0.0):
        i = steps.index(step)
        frac = (sum(weights[:i]) + within * weights[i]) / sum(weights)
        if progress is not None and progress(step, frac) is False:
            from .._progress import Cancelled
            raise Cancelled(f"saving {name} was cancelled by the progress callback "
                            "(nothing was written)")

    def add(fmt, fname, data):
        files[fname] = data
        written.setdefault(fmt, []).append(out / fname)

    if images:
        report(image_step)
        chosen = None
        if "subject" in formats:
            from .._validation import as_image
            from ..subject import _subject_layers

            chosen = (_subject_layers(a, as_image(img, name="image", channels=3, copy=False),
                                      None) if subject is None
                      else _check_layers(subject, a.shape[2]))
            if not chosen:
                import warnings

                warnings.warn(f"{name}: no clear salient subject in this photo, so "
                              f"{output_name(name, 'subject')} is not written (choose its "
                              "layers with subject=[...])", UserWarning, stacklevel=2)
        rendered = render_images(img, a, colors, images, bits=bits, space=ora_space,
                                 icc_profile=icc, compression=png_compression, exif=exif,
                                 subject=chosen, band=_band,
                                 progress=lambda f: report(image_step, f))
        for fmt in images:
            for k, data in enumerate(rendered.get(fmt, [])):
                add(fmt, output_name(name, fmt, k if fmt == "png" else None), data)
        del rendered
    if "npz" in formats:
        report("npz")
        arrays = {"alphas": np.asarray(alphas if raw_alphas is None else raw_alphas,
                                       dtype=np.float32),
                  "layer_alphas": (a.float32() if isinstance(a, NormalizedLayers)
                                   else a.astype(np.float32)),
                  "palette": PALETTE[np.arange(a.shape[2]) % len(PALETTE)]}
        if icc is not None:
            arrays["icc_profile"] = np.frombuffer(icc, dtype=np.uint8)
        if exif is not None:
            arrays["exif"] = np.frombuffer(exif, dtype=np.uint8)
        for key, val in (extra or {}).items():
            if val is not None:
                arrays[key] = np.asarray(val)
        add("npz", output_name(name, "npz"), npz_bytes(arrays))
    report("writing")
    # a folder created here is removed again if the write fails or writes
    # nothing; an earlier save's other files go only when this one writes
    # something (a subject-only save of a photo without a clear subject)
    with output_folder(out):
        write_set(out, files, stale=stale_pattern(name) if files else None)
    if progress is not None:
        progress("done", 1.0)  # written: too late to cancel
    return written


def _colour_source(result):
    """The result's layer colours for save_layers: made band by band when the
    result can (:meth:`sss.SoftSegments._colour_source`), else the array."""
    source = getattr(result, "_colour_source", None)
    return source() if callable(source) else result.colors


def _check_layers(layers, k: int) -> list[int]:
    """`layers` as sorted distinct layer indices in 0..k-1 (negative count from the end)."""
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise TypeError(f"subject must be a sequence of layer indices, got {layers!r}")
    idx = []
    for i in layers:
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"subject must be a sequence of layer indices, got {layers!r}")
        if not -k <= i < k:
            raise ValueError(f"subject layer {int(i)} out of range for {k} layers")
        idx.append(int(i) % k)
    return sorted(set(idx))


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
                ora_space: str = "srgb", icc_profile: bytes | None = None,
                progress=None, exif: bytes | None = None,
                bit_depth: int = 8) -> dict[str, list[Path]]:
    """Write a :class:`sss.SoftSegments` result (``SoftSegments.save``): the
    `formats` of :func:`save_layers`, the npz with what :func:`sss.load`
    needs to give the result back whole. `icc_profile` and `exif` default to
    the result's own (``result.icc_profile``, ``result.exif``, e.g. from
    :func:`sss.load`); `bit_depth` as for :func:`save_layers`.
    Returns the files written per format."""
    if getattr(result, "image", None) is None:
        raise ValueError("saving layers needs the photo: this result has no image")
    formats = _check_formats(formats)
    needs = any(f in formats for f in _COLOUR_FORMATS)
    extra = {key: getattr(result, key, None) for key in _RESULT_ARRAYS}
    extra["image"] = np.asarray(result.image, dtype=np.float32)
    extra["method"] = np.array(getattr(result, "method", "reference"))
    if getattr(result, "working_shape", None):
        extra["working_shape"] = np.asarray(result.working_shape)
    return save_layers(directory, name, result.image, result.alphas,
                       _colour_source(result) if needs else None, formats=formats,
                       raw_alphas=result.alphas, extra=extra, ora_space=ora_space,
                       icc_profile=(getattr(result, "icc_profile", None)
                                    if icc_profile is None else icc_profile),
                       progress=progress,
                       exif=getattr(result, "exif", None) if exif is None else exif,
                       bit_depth=bit_depth)
