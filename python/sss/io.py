"""Reading and writing photos: :func:`imread`, :func:`imsave`, :func:`resize`.

Photos are read with Pillow. Pillow reads 16-bit RGB(A) files as 8-bit, so
16-bit TIFFs are read with tifffile and 16-bit PNGs with pypng, keeping
their full precision; camera raw files are developed by LibRaw (the optional
rawpy package). Every photo comes back as an (H, W, 3) float array in
[0, 1]:

- grayscale is replicated to three channels;
- an alpha channel that is not fully opaque is composited on white, with a
  warning (an opaque one is dropped silently);
- palette, CMYK and other modes are converted to RGB;
- the EXIF orientation tag is applied, so the array is upright as viewers
  show it.

The values are the file's own, not converted between colour spaces: a photo
with an embedded ICC profile (Display P3, Adobe RGB...) keeps its encoding,
and :func:`read_icc_profile` gives the profile so that the outputs can carry
it (``sss segment`` does).
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import threading
from pathlib import Path

import numpy as np

from ._validation import as_int, available_memory, check_memory, rgb_on_white

__all__ = ["imread", "imsave", "resize", "read_icc_profile", "check_icc_profile", "read_exif",
           "read_bit_depth", "RAW_SUFFIXES",
           "ImageReadError", "PhotoTooLargeError", "apply_orientation", "DEFAULT_MAX_PIXELS"]


class ImageReadError(ValueError):
    """A file that is not an image, or an image that cannot be decoded."""


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: ISO base media file brands of HEIF still images (HEIC from phones and cameras)
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


def _is_heif(p: Path) -> bool:
    try:
        with open(p, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return len(head) == 12 and head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS


def _heif_support(p: Path) -> None:
    """For a HEIF/HEIC file, register pillow-heif's Pillow plugin (an
    optional dependency), or raise an ImageReadError saying how to get it."""
    if not _is_heif(p):
        return
    try:
        import pillow_heif
    except ImportError:
        raise ImageReadError(
            f"{p}: a HEIF/HEIC photo; reading it needs the optional pillow-heif package "
            "(pip install pillow-heif, or pip install 'semantic-soft-segmentation[heif]')"
        ) from None
    pillow_heif.register_heif_opener()  # idempotent; rotations are applied on decode


#: file suffixes of camera raw files, developed with LibRaw through the optional rawpy
RAW_SUFFIXES = (".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2",
                ".raf", ".orf", ".rw2", ".rwl", ".pef", ".ptx", ".srw", ".x3f", ".3fr",
                ".fff", ".iiq", ".erf", ".kdc", ".dcr", ".mos", ".mef", ".mrw")


def _is_raw(p: Path) -> bool:
    return p.suffix.lower() in RAW_SUFFIXES


def _rawpy(name: str):
    try:
        import rawpy
    except ImportError:
        raise ImageReadError(
            f"{name}: a camera raw file; reading it needs the optional rawpy package "
            "(pip install rawpy, or pip install 'semantic-soft-segmentation[raw]')"
        ) from None
    return rawpy


def _read_raw(p: Path, name: str, max_pixels: int | None, max_side: int | None):
    """A camera raw file developed by LibRaw (rawpy): (H, W, 3) uint16 sRGB,
    upright, and False (no alpha)."""
    rawpy = _rawpy(name)
    try:
        with rawpy.imread(str(p)) as raw:  # reads the header; decoding comes later
            w, h = raw.sizes.width, raw.sizes.height
            if max_pixels is not None and w * h > max_pixels:
                raise _too_large(name, w, h, max_pixels)
            # LibRaw's half-size mode skips demosaicing (one pixel per 2x2 block)
            half = max_side is not None and max(w, h) >= 2 * max_side
            s = 4 if half else 1
            # LibRaw's buffers (raw data, 4-channel image, output) and the float copy
            check_memory(w * h * (2 + 8 / s + 6 / s + 3 * 8 * 2 / s), f"reading {name}")
            rgb = raw.postprocess(use_camera_wb=True, output_color=rawpy.ColorSpace.sRGB,
                                  output_bps=16, half_size=half)
    except (rawpy.LibRawError, OSError) as e:
        raise ImageReadError(f"{name}: cannot decode the camera raw file "
                             f"({type(e).__name__}: {e})") from e
    if max_side is not None:
        reduce = max(1, max(rgb.shape[:2]) // max_side)
        if reduce > 1:
            rgb = _reduce_array(rgb, reduce)
    return rgb, False


def apply_orientation(array: np.ndarray, orientation: int | None) -> np.ndarray:
    """Transform an (H, W, ...) array as the EXIF orientation tag (1-8) asks,
    so that it is displayed upright. Unknown values leave it unchanged."""
    a = array
    if orientation == 2:
        return a[:, ::-1]
    if orientation == 3:
        return a[::-1, ::-1]
    if orientation == 4:
        return a[::-1]
    if orientation == 5:
        return np.swapaxes(a, 0, 1)
    if orientation == 6:
        return np.swapaxes(a, 0, 1)[:, ::-1]
    if orientation == 7:
        return np.swapaxes(a, 0, 1)[::-1, ::-1]
    if orientation == 8:
        return np.swapaxes(a, 0, 1)[::-1]
    return a


def _png_bit_depth(path: Path) -> int | None:
    with open(path, "rb") as f:
        head = f.read(26)
    if len(head) < 26 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        return None
    return head[24]


def _read_png16(path: Path, name: str) -> np.ndarray:
    import struct
    import zlib

    import png  # pypng

    # pypng's errors (png.Error: ChunkError, FormatError...) are not
    # ValueErrors; a truncated or corrupt file can also give EOFError,
    # struct.error (a short header) or zlib.error (damaged compressed data)
    try:
        with open(path, "rb") as f:  # closed here: pypng does not close what it opens
            w, h, rows, info = png.Reader(file=f).asDirect()
            arr = np.vstack([np.asarray(r, dtype=np.uint16) for r in rows])
    except (png.Error, EOFError, struct.error, zlib.error) as e:
        # pypng's messages start with the error's name already
        detail = str(e) if isinstance(e, png.Error) else f"{type(e).__name__}: {e}"
        raise ImageReadError(f"{name}: cannot decode the 16-bit PNG, which is truncated or "
                             f"corrupt ({detail})") from e
    return arr.reshape(h, w, info["planes"])


def _to_float(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.dtype == np.bool_:
        return arr.astype(np.float64)
    if arr.dtype == np.uint8:
        return arr / 255.0
    if arr.dtype == np.uint16 or arr.dtype == np.int32:  # Pillow's "I" mode holds 16-bit data
        return np.clip(arr.astype(np.float64) / 65535.0, 0.0, 1.0)
    if arr.dtype.kind == "u":
        return arr / float(np.iinfo(arr.dtype).max)
    if arr.dtype.kind == "f":
        return arr.astype(np.float64)
    raise ImageReadError(f"{name}: unsupported pixel type {arr.dtype}")


def _to_rgb(arr: np.ndarray, alpha_channel: bool, name: str) -> np.ndarray:
    """(H, W[, C]) floats in [0, 1] -> (H, W, 3), compositing alpha on white."""
    arr = rgb_on_white(arr, name=name, alpha_channel=alpha_channel or None, stacklevel=4)
    if arr.shape[2] != 3:
        raise ImageReadError(f"{name}: {arr.shape[2]} colour channels; expected 1 (grey) or "
                             "3 (RGB)")
    return arr


#: the calling thread's count of :func:`_sss_size_limit` blocks it is in
_bomb_check_off = threading.local()
_bomb_check_lock = threading.Lock()


def _install_bomb_check_switch() -> None:
    """Wrap Pillow's ``Image._decompression_bomb_check`` (once per process) so
    that it does nothing in a thread inside :func:`_sss_size_limit` and what
    it always did everywhere else.

    Pillow checks ``Image.MAX_IMAGE_PIXELS`` (about 89 million pixels: a
    warning; twice that: ``DecompressionBombError``) inside ``Image.open``,
    after reading the header, and again while decoding some formats (TIFF
    tiles, GIF frames). Changing that global for sss's reads would change
    it for the user's own threads too; this switch is per thread, and the
    user's code keeps Pillow's limit, whatever its value."""
    from PIL import Image

    with _bomb_check_lock:
        check = getattr(Image, "_decompression_bomb_check", None)
        if check is None or getattr(check, "_sss_switch", False):
            return  # a Pillow without it (its limit stays), or already wrapped

        @functools.wraps(check)
        def switchable_check(*args, **kwargs):
            if getattr(_bomb_check_off, "depth", 0):
                return None
            return check(*args, **kwargs)

        switchable_check._sss_switch = True
        Image._decompression_bomb_check = switchable_check


@contextlib.contextmanager
def _sss_size_limit():
    """Inside this block, in the calling thread only, Pillow does not apply
    its own decompression-bomb limit: sss applies `max_pixels` (from the
    header, before decoding) and its memory check instead, so that the
    limit can be raised and its message is sss's."""
    _install_bomb_check_switch()
    _bomb_check_off.depth = getattr(_bomb_check_off, "depth", 0) + 1
    try:
        yield
    finally:
        _bomb_check_off.depth -= 1


#: the default of imread's max_pixels: above the largest camera photos (45-61
#: megapixels full frame, 100-megapixel medium format), far below the size a
#: decompression bomb decodes to; photos whose files would not fit in memory
#: are refused by the memory check with the way out
DEFAULT_MAX_PIXELS = 120_000_000


def imread(path, *, dtype=np.float64, max_pixels: int | None = DEFAULT_MAX_PIXELS,
           max_side: int | None = None) -> np.ndarray:
    """Read a photo as an upright RGB array in [0, 1].

    Parameters
    ----------
    path : str or os.PathLike
        JPEG, PNG, TIFF (8 or 16 bits per channel, or floating point), HEIF /
        HEIC (with the optional pillow-heif package), camera raw files
        (:data:`RAW_SUFFIXES`: DNG, CR2, CR3, NEF, ARW, RAF...; with the
        optional rawpy package, developed by LibRaw with its defaults and the
        camera's white balance, to 16-bit sRGB) or any other format Pillow
        reads.
    dtype : float32 or float64, optional
        Output type.
    max_pixels : int or None, optional
        Refuse photos with more pixels than this (default 120 million), read
        from the file's header before anything is decoded, so that a small
        file that decodes to a huge image cannot exhaust the memory. None: no
        limit (the available memory is still checked). This replaces
        Pillow's own limit (``PIL.Image.MAX_IMAGE_PIXELS``) for sss's reads,
        which is left as it is for other code.
    max_side : int, optional
        Shrink on load: JPEGs are decoded at a reduced scale (1/2, 1/4 or
        1/8: Pillow's draft mode), raw files at half size (LibRaw's
        half-size mode, no demosaicing) and other images are reduced by an
        integer factor (box filter) before the conversion to floats, so that
        the longer side is at least `max_side` and at most twice it. The
        photo is not shrunk below `max_side`; resize it exactly afterwards.
        None (default): full size.

    Returns
    -------
    (H, W, 3) ndarray of `dtype`
        8-bit values divided by 255, 16-bit by 65535; floating-point files
        (TIFF) must hold values in [0, 1], and values up to 0.1 outside it
        (e.g. the overshoot of a bicubic resize, which :func:`sss.segment`
        accepts too) are clipped to it. Grey is replicated; transparency is
        composited on white (with a ``UserWarning``); the EXIF orientation is
        applied.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ImageReadError (a ValueError)
        If the file is not an image, is truncated or corrupt, or has an
        unsupported layout, or is a floating-point image with NaN or
        infinite values or values outside [0, 1] (e.g. 0-255).
    PhotoTooLargeError (an ImageReadError)
        If the photo has more pixels than `max_pixels`.
    MemoryError
        If the decoded photo would not fit in memory.

    References
    ----------
    .. [1] JEITA CP-3451 (Exif 2.3), tag 0x0112 Orientation.
    """
    from PIL import Image, UnidentifiedImageError

    p = Path(os.fspath(path))
    name = str(p)
    if not p.exists():
        raise FileNotFoundError(f"{name}: no such file")
    if p.is_dir():
        raise ImageReadError(f"{name}: is a directory, not an image")
    if not p.is_file():
        raise ImageReadError(f"{name}: is not a regular file (e.g. a pipe or device)")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    if max_pixels is not None:
        max_pixels = as_int(max_pixels, "max_pixels", minimum=1)
    if max_side is not None:
        max_side = as_int(max_side, "max_side", minimum=1)
    available_memory()  # a malformed SSS_MEMORY_LIMIT is reported as such
    if _is_raw(p):
        return _finish(*_read_raw(p, name, max_pixels, max_side), None, name, dtype)
    _heif_support(p)
    try:
        with _sss_size_limit(), Image.open(p) as im:
            fmt = im.format
            w, h = im.size
            if max_pixels is not None and w * h > max_pixels:
                raise _too_large(name, w, h, max_pixels)
            if max_side is not None and max(w, h) > 2 * max_side and fmt == "JPEG":
                im.draft(im.mode, (max(1, w * max_side // max(w, h)),
                                   max(1, h * max_side // max(w, h))))
                w, h = im.size
            reduce = max(1, max(w, h) // max_side) if max_side is not None else 1
            check_memory(w * h * 3 * 8 * 3 / reduce**2 + w * h * 4, f"reading {name}")
            # after the checks: for a PNG without EXIF before its pixel data,
            # Pillow's getexif decodes the whole image to look after it
            try:
                orientation = im.getexif().get(0x0112)
            except Exception:  # malformed EXIF: ignore it, not the photo
                orientation = None
            bits16_tiff = fmt == "TIFF" and _tiff_bits(im) > 8
            bits16_png = fmt == "PNG" and (_png_bit_depth(p) or 8) > 8
            if bits16_tiff:
                arr, alpha = _read_tiff16(p)
            elif bits16_png:
                arr = _read_png16(p, name)
                alpha = arr.shape[2] in (2, 4)
            else:
                if reduce > 1 and im.mode in ("L", "LA", "RGB", "RGBA", "I", "F"):
                    im = im.reduce(reduce)  # in Pillow, on the 8-bit data
                    reduce = 1
                arr, alpha = _pillow_array(im)
            if reduce > 1:  # on the integer array, before the conversion to floats
                arr = _reduce_array(arr, reduce)
    except UnidentifiedImageError:
        if _is_tiff(p):  # e.g. floating-point RGB TIFFs, which Pillow does not read
            return _finish(*_read_tifffile(p, name, max_pixels, max_side), None, name, dtype)
        raise _not_an_image(name) from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        if isinstance(e, (ImageReadError, FileNotFoundError)):
            raise
        if _is_tiff(p):
            try:
                tiff = _read_tifffile(p, name, max_pixels, max_side)
            except (PhotoTooLargeError, MemoryError):
                raise
            except Exception:
                pass  # Pillow's error, below, says what is wrong
            else:  # _finish's own errors (e.g. values outside [0, 1]) are reported as they are
                return _finish(*tiff, None, name, dtype)
        raise ImageReadError(f"{name}: cannot decode the image ({e})") from e
    except Image.DecompressionBombError as e:  # only if Pillow's check could not be switched off
        raise ImageReadError(f"{name}: {e}") from e
    return _finish(arr, alpha, orientation, name, dtype)


def check_icc_profile(profile) -> bytes | None:
    """`profile` as bytes if it is an RGB ICC profile; None stays None.

    Raises
    ------
    TypeError
        If it is not bytes.
    ValueError
        If it is not an ICC profile (no ``acsp`` signature at byte 36, or
        shorter than the 128-byte header), or its data colour space is not
        RGB (the layers are RGB).

    References
    ----------
    .. [1] International Color Consortium, ICC.1:2022 (profile version 4.4),
           section 7.2, profile header.
    """
    if profile is None:
        return None
    if not isinstance(profile, (bytes, bytearray, memoryview)):
        raise TypeError(f"icc_profile must be bytes, got {type(profile).__name__}")
    profile = bytes(profile)
    if len(profile) < 132 or profile[36:40] != b"acsp":
        raise ValueError(f"icc_profile is not an ICC profile ({len(profile)} bytes without "
                         "the 'acsp' signature of the ICC header)")
    if profile[16:20] != b"RGB ":
        space = profile[16:20].decode("latin-1").strip()
        raise ValueError(f"icc_profile describes {space!r} data, not RGB")
    return profile


def _not_an_image(name) -> ImageReadError:
    return ImageReadError(f"{name}: not an image file, or a format that cannot be read "
                          "(use JPEG, PNG or TIFF)")


@contextlib.contextmanager
def _metadata_source(path):
    """Pillow's (lazy) image of the photo file `path`, for reading its
    metadata; None for a TIFF that only tifffile reads (e.g. floating
    point) or a camera raw file Pillow cannot open (raw files in a TIFF
    container, e.g. DNG, CR2, NEF, ARW, open as TIFFs).
    FileNotFoundError / ImageReadError as :func:`imread`."""
    from PIL import Image, UnidentifiedImageError

    p = Path(os.fspath(path))
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    _heif_support(p)
    try:
        with _sss_size_limit():  # only the header is read: imread applies max_pixels
            im = Image.open(p)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        if not _is_raw(p) and _tiff_icc_profile(p) is False:
            raise _not_an_image(p) from None
        im = None  # a TIFF only tifffile reads, or a raw file not in a TIFF container
    try:
        yield im
    finally:
        if im is not None:
            im.close()


def read_bit_depth(path) -> int:
    """Bits per channel of the samples of a photo file, as stored.

    :func:`imread` returns floats whatever the file holds; this says how many
    levels they came from, e.g. to write the layers of a 16-bit TIFF or PNG
    at 16 bits (``sss segment --bit-depth auto``, :func:`sss.export.save_layers`'s
    `bit_depth`) rather than round them to 8.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    int
        8 for JPEG, HEIF (as decoded) and 8-bit or palette files (PNGs of
        1, 2 or 4 bits too), 16 for 16-bit PNGs and TIFFs and for camera
        raw files (:func:`imread` develops them at 16 bits), 32 for 32-bit
        integer or floating-point TIFFs.

    Raises
    ------
    FileNotFoundError, ImageReadError
        As :func:`imread`.
    """
    p = Path(os.fspath(path))
    with _metadata_source(p) as im:
        if _is_raw(p):
            return 16
        if im is None:  # a TIFF only tifffile reads (e.g. floating point)
            import tifffile

            with tifffile.TiffFile(p) as tf:
                return max(8, int(tf.pages[0].bitspersample))
        if im.format == "PNG":
            return max(8, _png_bit_depth(p) or 8)
        if im.format == "TIFF":
            return max(8, _tiff_bits(im))
        if im.mode.startswith("I;16"):
            return 16
        if im.mode in ("I", "F"):
            return 32
        return 8


def _tiff_icc_profile(p: Path):
    """The ICC profile of a TIFF read with tifffile (for the TIFFs Pillow
    cannot open, e.g. floating point): bytes, None without one, False if it
    is not a readable TIFF."""
    if not _is_tiff(p):
        return False
    try:
        import tifffile

        with tifffile.TiffFile(p) as tf:
            tag = tf.pages[0].tags.get(34675)  # InterColorProfile
            return None if tag is None else bytes(tag.value)
    except Exception:
        return False


def read_icc_profile(path) -> bytes | None:
    """The ICC colour profile embedded in a photo file, if it has an RGB one.

    The values :func:`imread` returns are in the photo's own encoding; this
    profile says what they mean (e.g. Display P3 from a phone, Adobe RGB from
    a camera). Written into the output files beside the layers, it makes
    editors and viewers show them in the photo's colours.

    Parameters
    ----------
    path : str or path
        A photo file :func:`imread` reads.

    Returns
    -------
    bytes or None
        The profile; None if the file has none, or one that is not an RGB
        profile (a grey or CMYK photo is converted to RGB values when read,
        so its profile no longer applies; a malformed one is ignored with a
        ``UserWarning``). None for a camera raw file: :func:`imread`
        develops it to sRGB, whatever its container holds.

    Raises
    ------
    FileNotFoundError, ImageReadError
        As :func:`imread` for a missing file or one that is not an image.
    """
    import warnings

    p = Path(os.fspath(path))
    with _metadata_source(p) as im:
        if _is_raw(p):
            return None
        # a TIFF Pillow cannot open (imread reads it with tifffile): tifffile's tag
        prof = im.info.get("icc_profile") if im is not None else _tiff_icc_profile(p)
    if not prof:
        return None
    prof = bytes(prof)
    if len(prof) >= 20 and prof[16:20] in (b"GRAY", b"CMYK"):
        return None
    try:
        return check_icc_profile(prof)
    except ValueError as e:
        warnings.warn(f"{p}: ignoring its colour profile: {e}", UserWarning, stacklevel=2)
        return None


#: IFD0 tags that describe the photo rather than its file or the program that
#: wrote it (a TIFF's IFD0 also holds its strips, sizes and sample format; its
#: description and software are often a writer's own, e.g. tifffile's): make,
#: model, orientation, resolution, date, artist, copyright; the Exif and GPS
#: sub-IFDs are added separately
_EXIF_IFD0_TAGS = (0x010F, 0x0110, 0x0112, 0x011A, 0x011B, 0x0128, 0x0132, 0x013B, 0x8298)


def read_exif(path) -> bytes | None:
    """The photo's EXIF metadata (capture date, camera, lens, exposure, GPS...)
    as bytes to embed in files written from it, or None if it has none.

    The orientation tag is set to 1 (upright), since :func:`imread` applies
    it to the pixels. Kept: the descriptive tags of the main image (make,
    model, date, artist, copyright, resolution) and
    the whole Exif and GPS sub-IFDs (capture date, exposure, lens, GPS
    position...; ``sss segment --no-metadata`` leaves the metadata out). Not
    kept: tags of the file's layout (a TIFF's strips, sizes, sample format),
    the writing program's description and name, and the embedded thumbnail.
    A TIFF that only tifffile reads (e.g. floating point) gives None, and
    so does a camera raw file that is not in a TIFF container (e.g. CR3,
    RAF); those in one (DNG, CR2, NEF, ARW...) give their main EXIF tags.
    Malformed EXIF is ignored with a
    ``UserWarning``.

    Raises
    ------
    FileNotFoundError, ImageReadError
        As :func:`imread` for a missing file or one that is not an image.

    References
    ----------
    .. [1] JEITA CP-3451 (Exif 2.3).
    """
    import warnings

    from PIL import Image

    p = Path(os.fspath(path))
    with _metadata_source(p) as im:
        if im is None and not _is_raw(p):  # a TIFF only tifffile reads
            return None
        try:
            if im is None:
                src = _raw_exif(p)
            elif im.format == "PNG" and "exif" not in im.info:
                src = _png_exif(p, im.info)  # Pillow's getexif would decode the pixels
            else:
                src = im.getexif()
            if src is None:
                return None
            out = Image.Exif()
            for tag in _EXIF_IFD0_TAGS:
                if tag in src:
                    out[tag] = src[tag]
            for ifd in (0x8769, 0x8825):  # the Exif and GPS sub-IFDs
                sub = src.get_ifd(ifd)
                if sub:
                    out.get_ifd(ifd).update(sub)
            if not out:
                return None
            if 0x0112 in out:
                out[0x0112] = 1
            return out.tobytes()
        except Exception as e:  # malformed EXIF: the photo is still read
            warnings.warn(f"{p}: ignoring its EXIF metadata, which cannot be read ({e})",
                          UserWarning, stacklevel=2)
            return None


def _png_exif(p: Path, info: dict):
    """The EXIF of a PNG whose eXIf chunk was not before its pixel data, found
    by skipping over the chunks, not decoding them: Pillow's getexif would
    decode the whole image to find it (with no size limit, for a file whose
    header claims billions of pixels). Also an ImageMagick "Raw profile type
    exif" text chunk before the pixel data, as Pillow reads it. None without
    either."""
    import struct

    from PIL import Image

    data = None
    with open(p, "rb") as f:
        if f.read(8) == _PNG_SIGNATURE:
            while True:
                head = f.read(8)
                if len(head) < 8:
                    break
                length, kind = struct.unpack(">I4s", head)
                if kind == b"eXIf":
                    data = f.read(length)
                    break
                if kind == b"IEND":
                    break
                f.seek(length + 4, os.SEEK_CUR)  # the chunk's data and CRC
    if not data and "Raw profile type exif" in info:
        data = bytes.fromhex("".join(info["Raw profile type exif"].split("\n")[3:]))
    if not data:
        return None
    src = Image.Exif()
    src.load(data)
    return src


#: bytes read from the start of a raw file for its EXIF (the main IFD and the
#: Exif sub-IFD come before the raw data in TIFF-based raw formats)
_RAW_EXIF_BYTES = 1 << 22


def _raw_exif(p: Path):
    """The EXIF of a camera raw file in a TIFF container (DNG, CR2, NEF,
    ARW, PEF...) that Pillow cannot open as an image: its main IFD parsed
    from the file's start; None for the other raw formats."""
    from PIL import Image

    with open(p, "rb") as f:
        head = f.read(_RAW_EXIF_BYTES)
    if head[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    src = Image.Exif()
    src.load(head)
    return src


class PhotoTooLargeError(ImageReadError):
    """A photo with more pixels than the `max_pixels` limit of :func:`imread`."""


def _too_large(name, w: int, h: int, max_pixels: int) -> PhotoTooLargeError:
    return PhotoTooLargeError(
        f"{name}: {w} x {h} = {w * h / 1e6:.1f} million pixels is more than the limit of "
        f"max_pixels={max_pixels} ({max_pixels / 1e6:g} million); raise the limit "
        "(sss segment --max-pixels N) to read it")


#: how far outside [0, 1] the values of a floating-point file may be and still
#: be read (clipped to [0, 1]): the tolerance sss.segment has for float photos
#: (_validation.as_photo), e.g. for the overshoot of a bicubic resize; further
#: out (a 0-255 or HDR file) imread refuses the file rather than guess its scale
_FLOAT_OVERSHOOT = 0.1


def _finish(arr, alpha, orientation, name, dtype):
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ImageReadError(f"{name}: has NaN or infinite pixel values")
        lo, hi = float(arr.min()), float(arr.max())
        if lo < -_FLOAT_OVERSHOOT or hi > 1.0 + _FLOAT_OVERSHOOT:
            raise ImageReadError(
                f"{name}: a floating-point image with values in [{lo:.4g}, {hi:.4g}]; "
                "sss reads floating-point images as values in [0, 1]: save it with values "
                "in [0, 1], or as an 8- or 16-bit integer image")
    flt = _to_float(arr, name)
    if arr.dtype.kind == "f":
        np.clip(flt, 0.0, 1.0, out=flt)  # a copy: _to_float's astype
    out = _to_rgb(flt, alpha, name)
    out = apply_orientation(out, orientation)
    return np.ascontiguousarray(out, dtype=dtype)


def _is_tiff(p: Path) -> bool:
    with open(p, "rb") as f:
        return f.read(4) in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def _reduce_array(arr: np.ndarray, factor: int) -> np.ndarray:
    """Box-filter an (H, W[, C]) integer or float array by `factor` (edges cropped)."""
    h, w = arr.shape[0] // factor * factor, arr.shape[1] // factor * factor
    a = arr[:h, :w].reshape(h // factor, factor, w // factor, factor, *arr.shape[2:])
    mean = a.mean(axis=(1, 3))
    # integers are rounded; floats (a float TIFF) are not, which would make them 0 or 1
    return (mean if arr.dtype.kind == "f" else np.round(mean)).astype(arr.dtype)


def _tiff_bits(im) -> int:
    try:
        bps = im.tag_v2.get(258, 8)
    except AttributeError:
        return 8
    if isinstance(bps, (tuple, list)):
        return int(max(bps))
    return int(bps)


def _read_tifffile(p: Path, name: str, max_pixels: int | None, max_side: int | None):
    """A TIFF that Pillow cannot read (e.g. floating-point RGB), read with
    tifffile as :func:`imread` reads the others: `max_pixels` and the memory
    checked from its header, reduced for `max_side`, and a file tifffile
    cannot decode reported as an ImageReadError."""
    try:
        arr, alpha = _read_tiff16(p, name=name, max_pixels=max_pixels, check=True)
    except (ImageReadError, MemoryError):
        raise
    except Exception as e:  # tifffile's TiffFileError, a codec's error, a short file...
        raise ImageReadError(f"{name}: cannot decode the TIFF ({type(e).__name__}: {e})") from e
    if max_side is not None:
        reduce = max(1, max(arr.shape[:2]) // max_side)
        if reduce > 1:
            arr = _reduce_array(arr, reduce)
    return arr, alpha


def _read_tiff16(p: Path, *, name: str | None = None, max_pixels: int | None = None,
                 check: bool = False):
    """The first page of a TIFF with tifffile, and whether it has alpha;
    `check`: refuse more pixels than `max_pixels` and check the memory,
    from the header (the caller has not)."""
    import tifffile

    with tifffile.TiffFile(p) as tf:
        page = tf.pages[0]
        if check:
            w, h = int(page.imagewidth), int(page.imagelength)
            if max_pixels is not None and w * h > max_pixels:
                raise _too_large(name, w, h, max_pixels)
            check_memory(w * h * 3 * 8 * 3 + 2 * page.nbytes, f"reading {name}")
        arr = page.asarray()
        extra = page.extrasamples or ()
        photometric = page.photometric
    if arr.ndim == 3 and arr.shape[0] in (1, 2, 3, 4) and arr.shape[2] not in (1, 2, 3, 4):
        arr = np.moveaxis(arr, 0, -1)  # planar configuration
    if int(photometric) not in (0, 1, 2):  # MINISWHITE, MINISBLACK, RGB
        raise ImageReadError(f"{p}: 16-bit TIFF with photometric {photometric!s} is not "
                             "supported (use RGB or greyscale)")
    if int(photometric) == 0:
        arr = np.iinfo(arr.dtype).max - arr if arr.dtype.kind == "u" else 1.0 - arr
    alpha = len(extra) > 0 or (arr.ndim == 3 and arr.shape[2] in (2, 4))
    if arr.ndim == 3 and arr.shape[2] > 4:
        arr = arr[..., :4]
    return arr, alpha


def _pillow_array(im):
    mode = im.mode
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "PA":
        im = im.convert("RGBA")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        im = im.convert("RGB")
    elif mode == "1":
        im = im.convert("L")
    elif mode.startswith("I;16"):
        return np.asarray(im).astype(np.uint16), False
    elif mode == "La":
        im = im.convert("LA")
    elif mode == "RGBa":
        im = im.convert("RGBA")
    arr = np.asarray(im)
    return arr, im.mode in ("RGBA", "LA")


def imsave(path, image: np.ndarray, *, bits: int = 8) -> None:
    """Write an image; the format follows the file extension.

    Parameters
    ----------
    path : str or os.PathLike
    image : (H, W), (H, W, 3) or (H, W, 4) ndarray
        Floats are taken as [0, 1] and clipped; uint8/uint16 written as they are.
    bits : {8, 16}, optional
        Bits per channel for float input. 16 bits needs .png or .tif/.tiff.

    Notes
    -----
    The file is written atomically, as :meth:`sss.SoftSegments.save` writes
    its files: the image is encoded in memory, written to a hidden temporary
    file in the same folder and renamed onto `path` only once complete. If
    anything fails (a full disk, an encoder error, an interruption), an
    existing file at `path` is left as it was and no temporary file remains.
    An existing file is replaced, not written into: the new file gets the
    permissions of any new file (the umask's), and a symlink at `path` is
    replaced by the file, not followed.

    Raises
    ------
    TypeError
        For an image that is not an array, or of an unsupported dtype.
    ValueError
        For a bad shape, NaN values, an unknown file extension, or 16 bits
        with another format than PNG or TIFF.
    OSError
        If the file cannot be written (e.g. a missing folder, a full disk;
        IsADirectoryError if `path` is a folder); `path` is then unchanged.
    """
    from ._files import atomic_write

    p = Path(os.fspath(path))
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array, got {type(image).__name__}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise ValueError(f"image must be (H, W), (H, W, 3) or (H, W, 4), got {image.shape}")
    if image.size == 0:
        raise ValueError(f"image is empty (shape {image.shape})")
    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 or 16, got {bits}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.dtype.kind == "f":
        if not np.all(np.isfinite(image)):
            raise ValueError("image contains NaN or infinite values")
        scale = 255.0 if bits == 8 else 65535.0
        arr = np.round(np.clip(image, 0.0, 1.0) * scale).astype(np.uint8 if bits == 8
                                                                  else np.uint16)
    elif image.dtype in (np.uint8, np.uint16):
        arr = image
    else:
        raise TypeError(f"image has unsupported dtype {image.dtype}")
    atomic_write(p, _encode_image(arr, p))


def _encode_image(arr: np.ndarray, p: Path) -> bytes:
    """The bytes of the file `p` holding the uint8 or uint16 image `arr`, in
    the format of its extension (encoded in memory, for an atomic write)."""
    from PIL import Image

    ext = p.suffix.lower()
    buf = io.BytesIO()
    if arr.dtype == np.uint16:
        if ext in (".tif", ".tiff"):
            import tifffile

            tifffile.imwrite(buf, arr, photometric="rgb" if arr.ndim == 3 else "minisblack")
        elif ext == ".png":
            import png

            h, w = arr.shape[:2]
            planes = 1 if arr.ndim == 2 else arr.shape[2]
            writer = png.Writer(w, h, greyscale=planes == 1, alpha=planes == 4, bitdepth=16)
            writer.write(buf, arr.reshape(h, w * planes))
        else:
            raise ValueError(f"16-bit output needs a .png or .tif file, got {p.name}")
        return buf.getvalue()
    fmt = Image.registered_extensions().get(ext)  # what Image.save(path) would choose
    if fmt is None:
        raise ValueError(f"{p}: unknown image file extension {ext!r} (use e.g. .png, .jpg "
                         "or .tif)")
    Image.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


def resize(image: np.ndarray, height: int, width: int, *, method: str = "bicubic") -> np.ndarray:
    """Resize an (H, W[, C]) float image channel by channel with Pillow.

    Downsizing is antialiased (the filter widens with the scale, like
    MATLAB's ``imresize``). Values are not clipped: bicubic may overshoot.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
    height, width : int
        Output size in pixels.
    method : {"bicubic", "bilinear", "lanczos", "nearest"}

    Returns
    -------
    (height, width[, C]) ndarray, float64
    """
    _pil_filter(method)
    height, width = int(height), int(width)
    if height < 1 or width < 1:
        raise ValueError(f"output size must be at least 1 x 1, got {height} x {width}")
    a = np.asarray(image)
    squeeze = a.ndim == 2
    if squeeze:
        a = a[..., None]
    if a.shape[:2] == (height, width):
        out = a.astype(np.float32).astype(np.float64)
    else:
        # one pass over the input: float32 planes, one per channel
        out = _resize_planes(np.moveaxis(a, -1, 0).astype(np.float32, order="C"),
                             height, width, method)
    return out[..., 0] if squeeze else out


def _resize_planes(planes: np.ndarray, height: int, width: int, method: str) -> np.ndarray:
    """:func:`resize` of (C, H, W) float32 planes to (height, width, C) float64."""
    from PIL import Image

    height, width = int(height), int(width)
    out = np.empty((height, width, planes.shape[0]), dtype=np.float64)
    for c, plane in enumerate(planes):
        out[..., c] = np.asarray(Image.fromarray(np.ascontiguousarray(plane))
                                 .resize((width, height), _pil_filter(method)))
    return out


def _pil_filter(method: str):
    """Pillow's resampling filter named `method` (ValueError for another name)."""
    from PIL import Image

    filters = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR,
               "lanczos": Image.Resampling.LANCZOS, "nearest": Image.Resampling.NEAREST}
    if method not in filters:
        raise ValueError(f"method must be one of {sorted(filters)}, got {method!r}")
    return filters[method]
