"""Layered Photoshop (PSD) files of soft layers, for Photoshop, Photopea, GIMP, Krita.

No maintained Python library writes layered PSD files from pixel data (psd-tools
reads them and edits existing files), so this module writes the small subset of
the format that a stack of 8- or 16-bit RGBA pixel layers needs (Adobe Photoshop
File Formats Specification, "Layer and Mask Information Section"):

- header: signature ``8BPS``, version 1, 3 channels, 8 or 16 bits, RGB mode;
- empty colour-mode data; as image resources, the ICC profile (resource
  1039) when one is given;
- layer info: one full-size layer record per soft layer (channels -1 = alpha,
  0, 1, 2 = R, G, B; blend mode ``norm``; opacity 255; the layer's name),
  then each channel's raw (uncompressed) data, 16-bit samples big-endian. A
  16-bit file holds this layer info in the additional layer information
  block ``Lr16`` after an empty layer info, where Photoshop puts it;
- the merged image (raw, planar), which readers show as a preview.

The layers are those of the OpenRaster stack (:func:`sss.export.ora_layers`):
ordinary "normal" blending of the stack, top over bottom, gives the photo.
"""

from __future__ import annotations

import struct

import numpy as np

__all__ = ["psd_bytes"]

#: the largest PSD file (Photoshop's limit for the PSD format; larger
#: documents need its PSB format, which this writer does not write)
_PSD_MAX_BYTES = 2**31 - 1


def check_psd_size(height: int, width: int, num_layers: int, bits: int = 8) -> None:
    """Raise a ValueError, naming the way out, if the layers do not fit in a
    PSD file (2 GiB; checked before any work by ``sss segment --format psd``)."""
    need = height * width * (bits // 8) * (4 * num_layers + 3)  # the layers, the merged image
    if need > _PSD_MAX_BYTES:
        raise ValueError(f"{num_layers} layers of {width} x {height} pixels at {bits} bits need "
                         f"{need / 2**30:.1f} GiB, more than a PSD file holds (2 GiB); write an "
                         "OpenRaster file instead (--format ora), or fewer or smaller layers "
                         "(--layers, --output-max-side, --bit-depth 8)")


def _pascal_name(name: str) -> bytes:
    raw = name.encode("latin-1", "replace")[:255]
    b = bytes([len(raw)]) + raw
    return b + b"\0" * (-len(b) % 4)  # padded to a multiple of 4 bytes


def psd_bytes(rgba_top_to_bottom: np.ndarray, merged: np.ndarray, names, *,
              icc_profile: bytes | None = None) -> bytes:
    """The bytes of a layered PSD file.

    Parameters
    ----------
    rgba_top_to_bottom : (K, H, W, 4) uint8 or uint16 ndarray
        The layers, top first (as :func:`sss.export.ora_layers` returns them);
        uint16 gives a 16-bit file.
    merged : (H, W, 3) ndarray of the layers' dtype
        The composite shown as the file's preview.
    names : sequence of str
        Layer names, top first.
    icc_profile : bytes, optional
        RGB ICC profile the pixel values are encoded in (see
        :func:`sss.io.read_icc_profile`), stored as image resource 1039.

    Returns
    -------
    bytes
    """
    from .export.compositing import _as_rgba_stack

    rgba = _as_rgba_stack(rgba_top_to_bottom)
    k, h, w = rgba.shape[:3]
    if not (1 <= h <= 30000 and 1 <= w <= 30000):
        raise ValueError(f"a PSD file holds 1 to 30000 pixels a side, got {w} x {h}")
    merged = np.asarray(merged)
    if merged.shape != (h, w, 3) or merged.dtype != rgba.dtype:
        raise ValueError(f"merged must be an ({h}, {w}, 3) {rgba.dtype} array (the layers' "
                         f"dtype), got {merged.dtype} {merged.shape}")
    depth = 8 * rgba.dtype.itemsize
    check_psd_size(h, w, k, depth)
    sample = ">u2" if depth == 16 else np.uint8
    from .io import check_icc_profile

    icc_profile = check_icc_profile(icc_profile)
    names = list(names)
    if len(names) != k:
        raise ValueError(f"{k} layers but {len(names)} names")
    plane = h * w * rgba.dtype.itemsize
    # Photoshop lists layer records bottom first.
    bottom_first = list(range(k - 1, -1, -1))
    records, data = [], []
    for t in bottom_first:
        rec = struct.pack(">iiiiH", 0, 0, h, w, 4)
        for cid in (-1, 0, 1, 2):
            rec += struct.pack(">hI", cid, 2 + plane)
        extra = struct.pack(">II", 0, 0) + _pascal_name(names[t])  # no mask, no ranges
        rec += b"8BIMnorm" + struct.pack(">BBBB", 255, 0, 0, 0)
        rec += struct.pack(">I", len(extra)) + extra
        records.append(rec)
        for c in (3, 0, 1, 2):  # alpha, R, G, B
            data.append(struct.pack(">H", 0)
                        + np.ascontiguousarray(rgba[t, ..., c], dtype=sample).tobytes())
    layer_info = struct.pack(">h", k) + b"".join(records) + b"".join(data)
    if depth == 8:
        layer_info += b"\0" * (len(layer_info) % 2)  # even length
        layer_section = struct.pack(">I", len(layer_info)) + layer_info + struct.pack(">I", 0)
    else:  # empty layer info and global mask info, then the 'Lr16' block (4-byte aligned)
        layer_info += b"\0" * (-len(layer_info) % 4)
        layer_section = (struct.pack(">II", 0, 0) + b"8BIMLr16"
                         + struct.pack(">I", len(layer_info)) + layer_info)
    resources = b""
    if icc_profile is not None:
        # 8BIM, ID, empty Pascal name (padded to even), size, data (padded to even)
        resources = (b"8BIM" + struct.pack(">HBBI", 1039, 0, 0, len(icc_profile))
                     + icc_profile + b"\0" * (len(icc_profile) % 2))
    out = [b"8BPS", struct.pack(">H6xHIIHH", 1, 3, h, w, depth, 3),
           struct.pack(">I", 0), struct.pack(">I", len(resources)), resources,
           struct.pack(">I", len(layer_section)), layer_section,
           struct.pack(">H", 0)]
    out += [np.ascontiguousarray(merged[..., c], dtype=sample).tobytes() for c in range(3)]
    return b"".join(out)
