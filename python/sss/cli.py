"""The ``sss`` command line (also ``python -m sss``).

    sss segment PHOTO_OR_FOLDER... -o OUTDIR [--recursive] [--jobs N] [--skip-existing]
                [--report FILE.json|FILE.csv] [--model NET.onnx]
                [--layers K] [--method multilevel|reference] [--max-side N] [--seed S]
                [--features PATH]... [--format overview,png,ora,npz]
                [--ora-space srgb|linear] [--quiet]

For every photo it writes, into OUTDIR, ``NAME_overview.png`` (the photo
beside its colour-coded layers), ``NAME_layer{i}.png`` (RGBA: the layer's
colour, alpha = its soft segment; the layers add up to the photo),
``NAME.ora`` (an OpenRaster layer stack for GIMP/Krita that shows the photo)
and ``NAME_alphas.npz`` (the raw alphas). A batch goes on when one photo
fails, reports it, and exits with status 1 at the end (2 for usage errors).
Progress goes to stderr; ``--quiet`` silences it (errors are still reported).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

from . import __version__
from ._batchprogress import BatchProgress
from ._files import output_folder
from .colors import estimate_layer_colors
from .export import _COLOUR_FORMATS, _RESULT_ARRAYS, ALL_FORMATS, FORMATS, _check_formats, \
    export_memory, output_names, save_layers
from .export.encode import PNG_COMPRESSION
from ._validation import as_int, check_memory
from .io import DEFAULT_MAX_PIXELS, RAW_SUFFIXES, imread, read_bit_depth, read_exif, \
    read_icc_profile, resize
from .multilevel import UpsampledLayerColors, layer_colors
from .params import Params
from .pipeline import METHODS, segment

__all__ = ["main", "build_parser", "segment_file"]

#: --max-side of the reference method when none is given (its cost grows
#: faster than the pixel count); the multilevel method needs none
DEFAULT_MAX_SIDE = 640


def _formats(text: str) -> tuple[str, ...]:
    try:
        return _check_formats(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _int_at_least(minimum: int, maximum: int | None = None):
    """argparse type: an integer in [minimum, maximum]."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {v}")
        if maximum is not None and v > maximum:
            raise argparse.ArgumentTypeError(f"must be <= {maximum}, got {v}")
        return v
    return parse


MAX_LAYERS = Params().initial.num_layers  # the layers that sss.segment groups
_non_negative = _int_at_least(0)


def _side(text: str) -> int:
    """argparse type of --max-side / --output-max-side: 0 (no limit) or at least 3."""
    v = _non_negative(text)
    if 0 < v < 3:
        raise argparse.ArgumentTypeError(f"must be 0 (no limit) or at least 3 pixels, got {v}")
    return v


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sss",
        description="Semantic soft segmentation (Aksoy et al., SIGGRAPH 2018): split photos "
                    "into soft layers you can open, recolour and composite in an editor.")
    parser.add_argument("--version", action="version", version=f"sss {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    seg = sub.add_parser(
        "segment", help="segment photos into soft layers",
        description="Segment each PHOTO into soft layers and write, per photo, "
                    "NAME_overview.png, NAME_layer{i}.png (RGBA), NAME.ora (OpenRaster) "
                    "and NAME_alphas.npz into OUTDIR.")
    seg.add_argument("photos", nargs="+", metavar="PHOTO",
                     help="JPEG, PNG or TIFF photos (8/16-bit, grey or RGB(A)), HEIC/HEIF "
                          "(with pillow-heif installed), camera raw files (DNG, CR2, CR3, "
                          "NEF, ARW, RAF, ORF, RW2...; with rawpy installed), or folders of "
                          "them")
    seg.add_argument("-r", "--recursive", action="store_true",
                     help="look for photos in the subfolders of folders too")
    seg.add_argument("--skip-existing", action="store_true",
                     help="skip photos whose outputs (all the chosen formats) are already "
                          "in OUTDIR")
    seg.add_argument("--jobs", type=_int_at_least(1), default=1, metavar="N",
                     help="segment N photos at a time in separate processes, the cores "
                          "shared between them (default 1)")
    seg.add_argument("--model", default=None, metavar="PATH",
                     help="ONNX feature network to use instead of the shipped one (see "
                          "sss.compute_features)")
    seg.add_argument("--cues", type=_cue_list, default=None, metavar="LIST",
                     help="semantic cues added to the features, comma-separated, or 'none' "
                          "(default: saliency for --method multilevel, none for reference; "
                          "see sss.cues)")
    seg.add_argument("--no-layer-matting", action="store_true",
                     help="skip stage 10b, the matting of every layer's soft band at up to "
                          "640x480 (multilevel method; see sss.matte_layers)")
    seg.add_argument("--no-subject-matting", action="store_true",
                     help="skip stage 11, the matting of the salient subject's boundary "
                          "(multilevel method with the saliency cue; see "
                          "sss.matte_subject); the cue still shapes the layers")
    seg.add_argument("--report", default=None, metavar="FILE",
                     help="write a per-photo report (photo, output name, size, layers, "
                          "seconds, status, error, host) as JSON (.json) or CSV (.csv)")
    seg.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                     help="output directory (created if missing; removed again if the run "
                          "writes nothing into it)")
    seg.add_argument("--layers", type=_int_at_least(1, MAX_LAYERS), default=5, metavar="K",
                     help=f"number of soft layers, 1 to {MAX_LAYERS} (default 5, the paper's)")
    seg.add_argument("--method", choices=METHODS, default="multilevel",
                     help="multilevel (default): a working level of fixed size, then a "
                          "guided upsampling to the photo's size (seconds per photo); "
                          "reference: every stage on every pixel, as the authors' code "
                          "(minutes per photo)")
    seg.add_argument("--max-side", type=_side, default=None, metavar="N",
                     help="segment a copy whose longer side is at most N pixels; the "
                          "layers are still written at the photo's size (default: 0 = "
                          f"never downsize with --method multilevel, {DEFAULT_MAX_SIDE} with "
                          "--method reference)")
    seg.add_argument("--output-max-side", type=_side, default=0, metavar="N",
                     help="write the files at a copy of the photo whose longer side is at "
                          "most N pixels (default 0: at the photo's size); much faster "
                          "and smaller files for camera photos")
    seg.add_argument("--png-compression", type=_int_at_least(0, 9), default=PNG_COMPRESSION,
                     metavar="L",
                     help=f"zlib level 0-9 of the PNG files (default {PNG_COMPRESSION}); 2 "
                          "encodes a camera photo's layers about 3.7x faster, for files "
                          "about 1.27x as large; 1 about 4.7x faster, twice as large "
                          "(measured on one 12-megapixel photo)")
    seg.add_argument("--bit-depth", choices=("auto", "8", "16"), default="auto",
                     help="bits per channel of the layer PNGs and the OpenRaster and PSD "
                          "layers: auto (default) writes 16 for photos of more than 8 "
                          "bits per channel (16-bit TIFF or PNG) and 8 for the others; the "
                          "overview is 8-bit")
    seg.add_argument("--no-metadata", action="store_true",
                     help="do not copy the photo's EXIF metadata (capture date, camera, GPS "
                          "position...) into the layer PNGs, the overview and the npz; its "
                          "colour profile is always kept")
    seg.add_argument("--max-pixels", type=_int_at_least(1), default=DEFAULT_MAX_PIXELS,
                     metavar="N",
                     help="refuse photos with more than N pixels, before decoding them "
                          f"(default {DEFAULT_MAX_PIXELS:,}); the files need about 40 "
                          "bytes per pixel and layer written (more for 16-bit files and PSD)")
    seg.add_argument("--seed", type=_int_at_least(0, (1 << 64) - 1), default=0, metavar="S",
                     help="random seed (results are deterministic for a seed; default 0)")
    seg.add_argument("--features", action="append", default=None, metavar="PATH",
                     help="precomputed semantic features for a photo: an .npy array "
                          "(H, W, D) or an image; give it once per photo, in order "
                          "(default: computed by the built-in network)")
    seg.add_argument("--format", type=_formats, default=FORMATS, metavar="LIST",
                     help=f"comma-separated outputs among {','.join(ALL_FORMATS)} (default "
                          f"{','.join(FORMATS)}; psd: a layered Photoshop file; subject: the "
                          "photo's salient subject cut out, NAME_subject.png)")
    seg.add_argument("--ora-space", choices=("srgb", "linear"), default="srgb",
                     help="blending space the .ora stack is exact for: srgb (Krita, "
                          "MyPaint, the OpenRaster spec; default) or linear (GIMP, "
                          "whose .ora loader uses its linear-light Normal mode)")
    seg.add_argument("-q", "--quiet", action="store_true",
                     help="no progress output (errors are still reported)")
    view = sub.add_parser(
        "view", help="look at a result in the browser: toggle, merge and download layers",
        description="Serve a local page (127.0.0.1 only) that shows the photo, the overview "
                    "and each layer of a result written by `sss segment`, lets you switch "
                    "layers on and off, merge layers and download the view or the merged "
                    "layer as PNG.")
    view.add_argument("result", metavar="OUTDIR_OR_NPZ",
                      help="a NAME_alphas.npz, or a folder holding exactly one")
    view.add_argument("--port", type=_int_at_least(0, 65535), default=8765,
                      help="port on 127.0.0.1 (default 8765; 0 = any free one)")
    view.add_argument("--no-browser", action="store_true", help="do not open a browser")
    return parser


# ---------------------------------------------------------------- one photo
def _load_features(path: Path) -> np.ndarray:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such features file")
    if path.suffix.lower() == ".npy":
        try:
            f = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as e:
            raise ValueError(f"{path}: not a readable .npy array ({e})") from None
        if f.ndim == 2:
            f = f[..., None]
        if f.ndim != 3 or f.dtype.kind not in "fiu":
            raise ValueError(f"{path}: features must be a real (H, W, D) array, got "
                             f"shape {f.shape} and dtype {f.dtype}")
        f = f.astype(np.float64)
        if not np.all(np.isfinite(f)):
            raise ValueError(f"{path}: features contain NaN or infinite values")
        return f
    return imread(path)


def _cue_list(text: str) -> tuple[str, ...]:
    from .cues import check_cues

    if text.strip().lower() in ("", "none"):
        return ()
    try:
        return check_cues(tuple(c.strip() for c in text.split(",")))
    except ValueError as e:  # in the command's own words
        raise argparse.ArgumentTypeError(str(e).replace("(pass cues=() for none)",
                                                        "(or 'none')")) from None


def _segment(image, features, *, num_layers, seed, verbose, method, model=None,
             num_threads=None, cues=None, subject_matting=True, layer_matting=True):
    kw = {}
    if not subject_matting:
        kw["subject"] = dict(enabled=False)
    if not layer_matting:
        kw["layer_matting"] = dict(enabled=False)
    if model is not None:
        kw["model"] = model
    if num_threads is not None:
        kw["num_threads"] = num_threads
    if cues is not None:
        kw["cues"] = cues
    return segment(image, features, num_layers=num_layers, seed=seed, progress=verbose,
                   method=method, **kw)


def segment_file(path, outdir, *, name: str | None = None, num_layers: int = 5,
                 max_side: int | None = None, seed: int = 0, formats=FORMATS,
                 features=None, progress: BatchProgress | None = None,
                 ora_space: str = "srgb", max_pixels: int | None = DEFAULT_MAX_PIXELS,
                 method: str = "multilevel", model=None, num_threads: int | None = None,
                 cues=None, subject_matting: bool = True, layer_matting: bool = True,
                 output_max_side: int = 0,
                 png_compression: int = PNG_COMPRESSION, metadata: bool = True,
                 bit_depth="auto", info: dict | None = None) -> dict:
    """Segment one photo file and write its outputs; the command's per-file work.

    Parameters
    ----------
    path : path of the photo
    outdir : output directory
    name : str, optional
        Stem of the output files (default: the photo's file name stem).
    num_layers, seed : as for :func:`sss.segment`
    max_side : int, optional
        The photo is downsized (antialiased bicubic) so its longer side is at
        most this many pixels before segmentation (0: never; None: 0 for the
        multilevel method, 640 for the reference method). The soft layers
        are then upsampled (bilinear) to the photo's size and renormalised;
        layer colours estimated at the working size are upsampled and
        re-fitted exactly to the full-size photo.
    formats : outputs to write (see :func:`sss.export.save_layers`)
    features : path, optional
        Precomputed features (.npy (H, W, D) or an image), resized to the
        working size if needed.
    progress : BatchProgress, optional
    ora_space : {"srgb", "linear"}
        Blending space the OpenRaster stack is made exact for.
    max_pixels : int or None
        Photos with more pixels are refused before they are decoded
        (:func:`sss.imread`).
    method : {"multilevel", "reference"}
        See :func:`sss.segment`.
    model : path, optional
        ONNX feature network instead of the shipped one.
    num_threads : int, optional
        Threads of the segmentation (default all cores).
    cues : sequence of str, optional
        Semantic cues (``sss.segment``'s `cues`; default: the method's).
    subject_matting : bool, optional
        Run stage 11, subject matting, where it applies (True;
        ``sss.segment(subject=dict(enabled=False))`` when False).
    layer_matting : bool, optional
        Run stage 10b, layer matting, where it applies (True;
        ``sss.segment(layer_matting=dict(enabled=False))`` when False).
    output_max_side : int, optional
        The files are written for a copy of the photo (antialiased bicubic)
        whose longer side is at most this many pixels (0, the default: the
        photo's size). The layers are computed as without it (on the
        photo, or on the `max_side` copy) and carried to that size; when
        that is smaller than the size they were computed at, the npz's raw
        ``alphas`` are resized to it too.
    png_compression : int, optional
        zlib level 0-9 of the PNG files (:func:`sss.export.save_layers`).
    metadata : bool, optional
        Copy the photo's EXIF metadata (:func:`sss.io.read_exif`) into the
        PNGs and the npz (default True). The colour profile is kept either way.
    bit_depth : {"auto", 8, 16}, optional
        Bits per channel of the layer files (:func:`sss.export.save_layers`);
        "auto" (default): 16 if the photo file has more than 8
        (:func:`sss.io.read_bit_depth`), else 8.
    info : dict, optional
        Filled with ``size`` ((W, H) of the photo) and ``layers``.

    Returns
    -------
    dict mapping each format to the files written.
    """
    stage = progress.stage if progress is not None else (lambda s: None)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if max_side is None:
        max_side = DEFAULT_MAX_SIDE if method == "reference" else 0
    path = Path(os.fspath(path))
    name = name or path.stem
    output_max_side = as_int(output_max_side, "output_max_side", minimum=0)
    stage("reading")
    formats = _check_formats(formats)
    if bit_depth not in ("auto", 8, 16, "8", "16"):
        raise ValueError(f"bit_depth must be 'auto', 8 or 16, got {bit_depth!r}")
    photo = imread(path, max_pixels=max_pixels)
    bits = (16 if read_bit_depth(path) > 8 else 8) if bit_depth == "auto" else int(bit_depth)
    icc = read_icc_profile(path)  # the files carry the photo's colour profile
    exif = read_exif(path) if metadata else None
    H0, W0 = photo.shape[:2]
    out_photo = photo
    if output_max_side and max(H0, W0) > output_max_side:
        s = output_max_side / max(H0, W0)
        out_photo = np.clip(resize(photo, max(1, round(H0 * s)), max(1, round(W0 * s)),
                                   method="bicubic"), 0, 1)
    H, W = out_photo.shape[:2]
    # before the segmentation, not after it
    check_memory(export_memory(H, W, num_layers, formats, bit_depth=bits),
                 f"writing {', '.join(formats)} for {num_layers} layers of {W} x {H} pixels",
                 "write the files at a smaller size (--output-max-side N), fewer outputs "
                 "(--format npz needs the least) or fewer layers (--max-side does not "
                 "help: it changes the size the layers are computed at, not written at)")
    if "psd" in formats:  # before the segmentation, not after it
        from .psd import check_psd_size
        check_psd_size(H, W, num_layers, bits)
    work = photo
    if max_side and max(H0, W0) > max_side:
        s = max_side / max(H0, W0)
        h, w = max(1, round(H0 * s)), max(1, round(W0 * s))
        stage(f"downsizing {W0}x{H0} -> {w}x{h}")
        work = resize(photo, h, w, method="bicubic")
    feats = None
    if features is not None:
        stage("reading features")
        feats = _load_features(Path(os.fspath(features)))
        if feats.shape[:2] != work.shape[:2]:
            if feats.shape[:2] != photo.shape[:2]:
                raise ValueError(f"features of {feats.shape[0]} x {feats.shape[1]} pixels do "
                                 f"not match the photo ({H0} x {W0})")
            feats = resize(feats, work.shape[0], work.shape[1], method="bicubic")
    stage(f"segmenting {work.shape[1]}x{work.shape[0]} into {num_layers} layers")
    verbose = progress is not None and progress.enabled
    if verbose:  # the pipeline reports its own stages on stderr
        with contextlib.redirect_stderr(progress.passthrough()):
            seg = _segment(work, feats, num_layers=num_layers, seed=seed, verbose=True,
                           method=method, model=model, num_threads=num_threads, cues=cues,
                           subject_matting=subject_matting, layer_matting=layer_matting)
    else:
        seg = _segment(work, feats, num_layers=num_layers, seed=seed, verbose=False,
                       method=method, model=model, num_threads=num_threads, cues=cues,
                       subject_matting=subject_matting, layer_matting=layer_matting)
    if info is not None:
        info["size"] = (W0, H0)
        info["layers"] = int(np.asarray(seg.alphas).shape[2])
    raw = np.asarray(seg.alphas)  # at the size of `work`
    kept = {key: getattr(seg, key, None) for key in _RESULT_ARRAYS}
    ws = getattr(seg, "working_shape", None)  # the multilevel working level
    kept["working_shape"] = None if ws is None else np.asarray(ws)
    del seg  # and with it the result's own copy of the photo (1 GB at 45 megapixels)
    need_colors = any(f in formats for f in _COLOUR_FORMATS)
    colors = None
    if method == "multilevel":  # float32 colours: half the memory of the largest array
        def estimate(img, a, bands=True):
            # bands: the full-size colours are made a band of rows at a time
            # while the files are rendered, never held whole
            return layer_colors(img, a, dtype=np.float32, bands=bands)
    else:
        def estimate(img, a, bands=True):
            return estimate_layer_colors(img, a)
    # `alphas`: the layers at the written size, normalised once, by save_layers
    # (the colour estimators normalise their own copy), as SoftSegments.save does
    if raw.shape[:2] == (H, W):
        alphas = raw
        if need_colors:
            stage("layer colours")
            colors = estimate(work, raw)
    else:
        stage(f"resizing layers {work.shape[1]}x{work.shape[0]} -> {W}x{H}")
        alphas = resize(raw, H, W, method="bilinear")
        if H * W < work.shape[0] * work.shape[1]:
            # written smaller than computed: the npz's raw layers too (not at the
            # full size the option is there to avoid), colours at the written size
            raw = alphas.astype(np.float32)
            if need_colors:
                stage("layer colours")
                colors = estimate(out_photo, alphas)
        elif need_colors:  # computed on a smaller copy: estimated there, then carried up
            stage("layer colours")
            colors = UpsampledLayerColors(
                np.asarray(estimate(work, raw, bands=False), dtype=np.float64), H, W,
                dtype=np.float32)
    extra = {"working_size": np.array(work.shape[:2]), "photo_size": np.array([H0, W0]),
             "image": np.asarray(out_photo, dtype=np.float32), "method": np.array(method)}
    extra.update(kept)
    return save_layers(outdir, name, out_photo, alphas, colors, formats=formats, raw_alphas=raw,
                       extra=extra, ora_space=ora_space, icc_profile=icc,
                       progress=_writing_stage(stage, progress), png_compression=png_compression,
                       exif=exif, bit_depth=bits)


def _writing_stage(stage, progress=None):
    """save_layers' progress callback: each step of the writing as a stage
    (one line each when not on a terminal) and, on a terminal, how much of
    the files is done while the images are rendered band by band."""
    last = {"step": None}

    def report(step, fraction):
        if step == "done":
            return
        if step != last["step"]:
            last["step"] = step
            stage("writing the files" if step == "writing" else f"rendering {step}")
        elif progress is not None:
            progress.stage_progress(fraction)
    return report


def _unique_names(paths: list[Path]) -> list[str]:
    """Output stems: the photo's stem, or for a repeated stem the first free
    ``stem-N`` (N = 2, 3, ...) that is no other photo's stem either, so that
    no two photos of the batch write the same files (a.png, a.jpg, a-2.png
    -> a, a-3, a-2)."""
    stems = [p.stem or "photo" for p in paths]
    taken = set(stems)
    first: set[str] = set()
    names = []
    for stem in stems:
        if stem not in first:
            first.add(stem)
            names.append(stem)
            continue
        n = 2
        while f"{stem}-{n}" in taken:
            n += 1
        taken.add(f"{stem}-{n}")
        names.append(f"{stem}-{n}")
    return names


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so that partial outputs are cleaned up."""


@contextlib.contextmanager
def _sigterm_raises():
    def handler(signum, frame):
        raise _Terminated()
    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave the default
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# ---------------------------------------------------------------- main
#: file suffixes taken from folders (files named explicitly are always tried);
#: camera raw files (sss.io.RAW_SUFFIXES) too when rawpy is installed
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".heic", ".heif")


def _have_rawpy() -> bool:
    import importlib.util

    return importlib.util.find_spec("rawpy") is not None


def _expand_photos(paths, recursive: bool, skipped: list | None = None,
                   outdir=None, outputs: list | None = None) -> list[Path]:
    """The photos named, with folders replaced by the photos in them (sorted;
    with `recursive`, in their subfolders too). Camera raw files in folders
    are taken when rawpy is installed; otherwise they are appended to
    `skipped` (if given) instead, so that a folder of raw + JPEG pairs
    gives its JPEGs rather than a failure per raw file. Hidden files and
    folders (names starting with a dot, such as macOS's ``._IMG_1.jpg``
    resource forks) are not photos of a folder scan; named explicitly, they
    are taken. Files in the output
    folder `outdir` named as outputs (``*_layer0.png``, ``*_overview.png``...)
    are earlier runs' layers, not photos: a folder scan leaves them out and
    appends them to `outputs` (if given)."""
    from .export.naming import is_output_name

    suffixes = PHOTO_SUFFIXES + (RAW_SUFFIXES if _have_rawpy() else ())
    out_real = None if outdir is None else os.path.realpath(os.fspath(outdir))

    def earlier_output(f: Path) -> bool:
        return (out_real is not None and is_output_name(f.name)
                and os.path.realpath(f.parent) == out_real)

    def hidden(f: Path, top: Path) -> bool:  # .name, or in a .folder below `top`
        return any(part.startswith(".") for part in f.relative_to(top).parts)

    out: list[Path] = []
    for p in (Path(x) for x in paths):
        if p.is_dir():
            found = []
            for f in sorted(p.rglob("*") if recursive else p.iterdir()):
                if not f.is_file() or hidden(f, p):
                    continue
                if earlier_output(f):
                    if outputs is not None:
                        outputs.append(f)
                else:
                    found.append(f)
            out.extend(f for f in found if f.suffix.lower() in suffixes)
            if skipped is not None:
                skipped.extend(f for f in found if f.suffix.lower() in RAW_SUFFIXES
                               and f.suffix.lower() not in suffixes)
        else:
            out.append(p)
    return out


def _raw_skipped_note(skipped: list) -> str:
    return (f"skipped {len(skipped)} camera raw file(s) in the folder(s), e.g. "
            f"{skipped[0]}: reading them needs the optional rawpy package (pip install "
            "rawpy, or pip install 'semantic-soft-segmentation[raw]')")


def _expected_outputs(outdir: Path, name: str, formats, num_layers: int) -> list[Path]:
    return [outdir / f for f in output_names(name, formats, num_layers)]


def _record(photo, name, info, seconds, status, error=""):
    """One photo's line of the summary and the report."""
    size = info.get("size")
    return {"photo": str(photo), "name": name,
            "size": f"{size[0]}x{size[1]}" if size else "",
            "layers": info.get("layers", ""), "seconds": round(float(seconds), 2),
            "status": status, "error": error,
            "host": os.uname().nodename if hasattr(os, "uname") else ""}


def _write_report(path: Path, records: list[dict]) -> None:
    """JSON (a list of records) or CSV, written atomically."""
    import csv
    import io
    import json
    if path.suffix.lower() == ".csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(_record("", "", {}, 0, "")))
        w.writeheader()
        w.writerows(records)
        text = buf.getvalue()
    else:
        text = json.dumps(records, indent=1) + "\n"
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _summary(records: list[dict]) -> str:
    rows = [("photo", "size", "layers", "seconds", "status")]
    rows += [(r["photo"], r["size"], str(r["layers"]), f"{r['seconds']:.1f}", r["status"])
             for r in records]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _run_segment(args) -> int:
    skipped: list[Path] = []
    earlier: list[Path] = []
    photos = _expand_photos(args.photos, args.recursive, skipped, args.output, earlier)
    if skipped:  # shown even with --quiet: photos the user expects are left out
        sys.stderr.write(f"sss: note: {_raw_skipped_note(skipped)}\n")
    if earlier and not args.quiet:
        sys.stderr.write(f"sss: note: left out {len(earlier)} file(s) of earlier runs in the "
                         f"output folder {args.output} (e.g. {earlier[0].name})\n")
    if not photos:
        sys.stderr.write("sss: error: no photos found in " + ", ".join(args.photos) + "\n")
        return 2
    feats = args.features
    if feats is not None and len(feats) != len(photos):
        sys.stderr.write(f"sss: error: --features was given {len(feats)} time(s) for "
                         f"{len(photos)} photo(s); give it once per photo, in order\n")
        return 2
    if args.model is not None and not Path(args.model).is_file():
        sys.stderr.write(f"sss: error: --model {args.model}: no such file\n")
        return 2
    report = Path(args.report) if args.report else None
    if report is not None and report.suffix.lower() not in (".json", ".csv"):
        sys.stderr.write(f"sss: error: --report {report}: give a .json or .csv file\n")
        return 2
    outdir = Path(args.output)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(output_folder(outdir))
        except OSError as e:
            sys.stderr.write(f"sss: error: cannot create the output directory {outdir}: {e}\n")
            return 2
        return _segment_into(args, photos, outdir, feats, report)


def _segment_into(args, photos, outdir, feats, report) -> int:
    """_run_segment once the output folder exists."""
    names = _unique_names(photos)
    records: list[dict | None] = [None] * len(photos)
    todo = []
    for i, (photo, name) in enumerate(zip(photos, names)):
        expected = _expected_outputs(outdir, name, args.format, args.layers)
        if args.skip_existing and expected and all(f.exists() for f in expected):
            records[i] = _record(photo, name, {}, 0.0, "skipped")
        else:
            todo.append(i)
    kwargs = [dict(name=names[i], num_layers=args.layers, max_side=args.max_side,
                   output_max_side=args.output_max_side,
                   png_compression=args.png_compression, metadata=not args.no_metadata,
                   bit_depth=args.bit_depth,
                   seed=args.seed, formats=args.format,
                   features=None if feats is None else feats[i], ora_space=args.ora_space,
                   max_pixels=args.max_pixels, method=args.method, model=args.model,
                   cues=args.cues, subject_matting=not args.no_subject_matting,
                   layer_matting=not args.no_layer_matting)
              for i in range(len(photos))]
    t0 = time.monotonic()
    if args.jobs > 1 and len(todo) > 1:
        code = _run_parallel(args, photos, outdir, kwargs, todo, records)
    else:
        code = _run_serial(args, photos, outdir, kwargs, todo, records)
    if code is not None:
        return code
    took = time.monotonic() - t0
    done = [r for r in records if r is not None]
    if report is not None:
        try:
            _write_report(report, done)
        except OSError as e:
            sys.stderr.write(f"sss: error: cannot write the report {report}: {e}\n")
            return 1
    failed = [r for r in done if r["status"] == "failed"]
    if not args.quiet and len(done) > 1:
        sys.stderr.write(_summary(done) + "\n")
    if failed:
        sys.stderr.write(f"sss: {len(done) - len(failed)} of {len(done)} photo(s) done, "
                         f"{len(failed)} failed ({took:.1f} s):\n")
        for r in failed:
            sys.stderr.write(f"  {r['photo']}: {r['error'].removeprefix(r['photo'] + ': ')}\n")
        return 1
    if not args.quiet:
        skipped = sum(r["status"] == "skipped" for r in done)
        sys.stderr.write(f"sss: {len(done)} photo(s) done in {took:.1f} s"
                         + (f" ({skipped} skipped: outputs exist)" if skipped else "")
                         + f"; outputs in {outdir}\n")
    return 0


def _run_serial(args, photos, outdir, kwargs, todo, records):
    """One photo after the other in this process, with the progress bar;
    returns an exit status if interrupted, else None."""
    progress = BatchProgress(len(todo), enabled=not args.quiet)
    for i in todo:
        photo = photos[i]
        progress.start_file(str(photo))
        info: dict = {}
        t = time.monotonic()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with _sigterm_raises():
                    segment_file(photo, outdir, progress=progress, info=info, **kwargs[i])
                ok, error = True, ""
            except (KeyboardInterrupt, _Terminated) as e:
                progress.close()
                sys.stderr.write("sss: interrupted\n")
                return 143 if isinstance(e, _Terminated) else 130
            except Exception as e:  # one bad photo must not stop the batch
                ok = False
                error = str(e) or type(e).__name__
                if str(photo) not in error:
                    error = f"{photo}: {error}"
                # errors are reported even with --quiet
                progress.close()
                sys.stderr.write(f"sss: error: {error}\n")
                if os.environ.get("SSS_DEBUG"):
                    traceback.print_exc()
        records[i] = _record(photo, kwargs[i]["name"], info, time.monotonic() - t,
                             "ok" if ok else "failed", error)
        for w in caught:
            progress.message(f"sss: warning: {w.message}")
        progress.end_file(ok, "")
    progress.close()
    return None


#: set in a --jobs worker: the batch was interrupted, start no more photos
_STOP = None


def _worker_init(stop) -> None:
    """Initializer of a --jobs worker: `stop` is the batch's interrupt flag. The
    first SIGINT interrupts the photo being made (its files are cleaned up as
    in a single process); later ones are ignored so that the clean-up runs to
    its end (the main process forwards an interrupt to the workers, and a
    terminal's Ctrl-C reaches them too)."""
    global _STOP
    _STOP = stop

    def once(signum, frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, once)


def _worker_segment(photo, outdir, **options):
    """segment_one in a --jobs worker; None (not started) once the batch is interrupted."""
    from .batch import segment_one

    if _STOP is not None and _STOP.is_set():
        return None
    return segment_one(photo, outdir, **options)


def _run_parallel(args, photos, outdir, kwargs, todo, records):
    """`--jobs` worker processes (spawned: no OpenMP state is forked), the
    cores shared between them; one line per finished photo. On Ctrl-C or
    SIGTERM the workers are interrupted too (their photos' files cleaned up)
    and start no more photos."""
    import concurrent.futures as cf
    import multiprocessing as mp

    jobs = min(args.jobs, len(todo))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                                  initargs=(stop,))
    try:
        with _sigterm_raises():
            futures = {pool.submit(_worker_segment, photos[i], outdir,
                                   **dict(kwargs[i], num_threads=threads)): i for i in todo}
            for n, fut in enumerate(cf.as_completed(futures), 1):
                i = futures[fut]
                records[i] = rec = fut.result()
                if rec["status"] == "failed":
                    sys.stderr.write(f"sss: error: {rec['error']}\n")
                elif not args.quiet:
                    sys.stderr.write(f"sss: [{n}/{len(todo)}] {rec['photo']}: done in "
                                     f"{rec['seconds']:.1f} s\n")
    except (KeyboardInterrupt, _Terminated) as e:
        stop.set()  # before the signals: an interrupted worker then starts nothing new
        # the executor keeps no public list of its processes
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            try:
                os.kill(proc.pid, signal.SIGINT)
            except (ProcessLookupError, OSError):
                pass
        pool.shutdown(wait=True, cancel_futures=True)
        sys.stderr.write("sss: interrupted\n")
        return 143 if isinstance(e, _Terminated) else 130
    pool.shutdown(wait=True)
    return None


def main(argv=None) -> int:
    """Entry point of the ``sss`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if args.command == "segment":
        return _run_segment(args)
    if args.command == "view":
        from .viewer import serve
        try:
            serve(args.result, args.port, open_browser=not args.no_browser)
        except (OSError, ValueError) as e:
            sys.stderr.write(f"sss: error: {e}\n")
            return 2
        return 0
    parser.error(f"unknown command {args.command}")  # pragma: no cover
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
