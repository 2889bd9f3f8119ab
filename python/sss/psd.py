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

__all__ = ["psd_bytes", "PsdWriter", "check_psd_size"]

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

    :class:`PsdWriter` writes the same file a band of rows at a time.
    """
    from .export.compositing import _as_rgba_stack

    rgba = _as_rgba_stack(rgba_top_to_bottom)
    k, h, w = rgba.shape[:3]
    merged = np.asarray(merged)
    if merged.shape != (h, w, 3) or merged.dtype != rgba.dtype:
        raise ValueError(f"merged must be an ({h}, {w}, 3) {rgba.dtype} array (the layers' "
                         f"dtype), got {merged.dtype} {merged.shape}")
    psd = PsdWriter(h, w, names, 8 * rgba.dtype.itemsize, icc_profile=icc_profile,
                    num_layers=k)
    psd.write(0, rgba, merged)
    return bytes(psd.finish())


class PsdWriter:
    """A layered PSD file filled a band of rows at a time.

    The file's size and layout are known from the start (raw, uncompressed
    channels), so it is one buffer of that size: the header, the layer
    records and the compression fields are written on construction, and
    :meth:`write` copies each band's rows into the planes of every layer
    channel and of the merged image. Nothing photo-sized is held besides
    the file itself.

    Parameters
    ----------
    height, width : int
        The document's size (1 to 30000 pixels a side).
    names : sequence of str
        Layer names, top first.
    bits : {8, 16}
    icc_profile : bytes, optional
        As for :func:`psd_bytes`.
    num_layers : int, optional
        Checked against `names` when given.
    """

    def __init__(self, height: int, width: int, names, bits: int, *,
                 icc_profile: bytes | None = None, num_layers: int | None = None):
        from .io import check_icc_profile

        h, w = int(height), int(width)
        if not (1 <= h <= 30000 and 1 <= w <= 30000):
            raise ValueError(f"a PSD file holds 1 to 30000 pixels a side, got {w} x {h}")
        if bits not in (8, 16):
            raise ValueError(f"a PSD file here has 8 or 16 bits per channel, got {bits}")
        names = list(names)
        k = len(names)
        if num_layers is not None and num_layers != k:
            raise ValueError(f"{num_layers} layers but {k} names")
        if k < 1:
            raise ValueError("a PSD file needs at least one layer")
        check_psd_size(h, w, k, bits)
        icc_profile = check_icc_profile(icc_profile)
        self.height, self.width, self.num_layers, self.bits = h, w, k, bits
        self._dtype = np.dtype(np.uint8 if bits == 8 else np.uint16)
        sample = np.dtype(">u2" if bits == 16 else np.uint8)
        plane = h * w * sample.itemsize
        # Photoshop lists layer records bottom first; each record's channels
        # are alpha, R, G, B, and their data follows the records in that order
        bottom_first = list(range(k - 1, -1, -1))
        records = []
        for t in bottom_first:
            rec = struct.pack(">iiiiH", 0, 0, h, w, 4)
            for cid in (-1, 0, 1, 2):
                rec += struct.pack(">hI", cid, 2 + plane)
            extra = struct.pack(">II", 0, 0) + _pascal_name(names[t])  # no mask, no ranges
            rec += b"8BIMnorm" + struct.pack(">BBBB", 255, 0, 0, 0)
            rec += struct.pack(">I", len(extra)) + extra
            records.append(rec)
        head = struct.pack(">h", k) + b"".join(records)
        data_len = 4 * k * (2 + plane)  # each channel: compression 0 (raw), then its plane
        info_len = len(head) + data_len
        pad = info_len % 2 if bits == 8 else -info_len % 4
        info_len += pad
        if bits == 8:
            section_head = struct.pack(">I", info_len)
            section_tail = struct.pack(">I", 0)  # empty global mask info
        else:  # empty layer info and global mask info, then the 'Lr16' block (4-byte aligned)
            section_head = struct.pack(">II", 0, 0) + b"8BIMLr16" + struct.pack(">I", info_len)
            section_tail = b""
        section_len = len(section_head) + info_len + len(section_tail)
        resources = b""
        if icc_profile is not None:
            # 8BIM, ID, empty Pascal name (padded to even), size, data (padded to even)
            resources = (b"8BIM" + struct.pack(">HBBI", 1039, 0, 0, len(icc_profile))
                         + icc_profile + b"\0" * (len(icc_profile) % 2))
        prefix = (b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, h, w, bits, 3)
                  + struct.pack(">I", 0) + struct.pack(">I", len(resources)) + resources
                  + struct.pack(">I", section_len) + section_head + head)
        data_at = len(prefix)
        tail_at = data_at + data_len + pad
        merged_at = tail_at + len(section_tail) + 2  # after the merged image's compression
        total = merged_at + 3 * plane
        buf = bytearray(total)  # zeros: every compression field (raw = 0) and padding
        buf[:data_at] = prefix
        buf[tail_at:tail_at + len(section_tail)] = section_tail
        self._buf = buf

        def view(offset):
            return np.frombuffer(buf, dtype=sample, count=h * w, offset=offset).reshape(h, w)

        # planes[t][c]: layer t (top first), channel c of RGBA (c = 3: alpha)
        self._planes = [[None] * 4 for _ in range(k)]
        at = data_at
        for t in bottom_first:
            for c in (3, 0, 1, 2):
                self._planes[t][c] = view(at + 2)
                at += 2 + plane
        self._merged = [view(merged_at + c * plane) for c in range(3)]

    def write(self, y0: int, rgba_rows: np.ndarray, merged_rows: np.ndarray) -> None:
        """Rows ``y0 : y0 + n`` of every layer ((K, n, W, 4), top first) and of
        the merged image ((n, W, 3)), of the file's sample type."""
        rgba_rows = np.asarray(rgba_rows)
        merged_rows = np.asarray(merged_rows)
        k, w = self.num_layers, self.width
        n = rgba_rows.shape[1] if rgba_rows.ndim == 4 else -1
        if rgba_rows.shape != (k, n, w, 4) or rgba_rows.dtype != self._dtype:
            raise ValueError(f"layer rows must be ({k}, n, {w}, 4) {self._dtype}, got "
                             f"{rgba_rows.dtype} {rgba_rows.shape}")
        if merged_rows.shape != (n, w, 3) or merged_rows.dtype != self._dtype:
            raise ValueError(f"merged rows must be ({n}, {w}, 3) {self._dtype} (the layers' "
                             f"dtype), got {merged_rows.dtype} {merged_rows.shape}")
        if not 0 <= y0 <= self.height - n:
            raise ValueError(f"rows {y0} to {y0 + n} are outside the document's {self.height}")
        for t in range(k):
            for c in range(4):
                self._planes[t][c][y0:y0 + n] = rgba_rows[t, ..., c]
        for c in range(3):
            self._merged[c][y0:y0 + n] = merged_rows[..., c]

    def finish(self) -> bytearray:
        """The file (the buffer itself, not a copy)."""
        return self._buf
