"""Input checks shared by every stage.

Every public function converts its inputs here, so that bad input raises a
clear ``TypeError`` / ``ValueError`` naming the problem before any C++ code
runs, and so that the caller's arrays are never modified (conversions copy).
"""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp

__all__ = ["as_image", "as_csr", "as_points", "check_memory", "available_memory"]

_UINT_SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def _first_bad(mask: np.ndarray) -> str:
    idx = np.unravel_index(int(np.argmax(mask)), mask.shape)
    return "(" + ", ".join(str(int(i)) for i in idx) + ")"


def as_image(image, *, name: str = "image", channels: int | None = 3,
             min_size: int = 1) -> np.ndarray:
    """Return `image` as a C-contiguous float64 (H, W, C) array.

    uint8 and uint16 images are scaled to [0, 1] (divided by 255 or 65535);
    float32 and float64 images are taken as they are (values slightly outside
    [0, 1], e.g. from bicubic resizing, are kept). The input is never modified.

    Raises
    ------
    TypeError
        if `image` is not a numpy array or has an unsupported dtype.
    ValueError
        if it is not (H, W, C) with the expected C, is smaller than
        `min_size` pixels on a side, or holds NaN or infinite values.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(image).__name__}")
    if image.ndim != 3:
        want = f"(H, W, {channels})" if channels else "(H, W, C)"
        raise ValueError(f"{name} must have shape {want}, got shape {image.shape}")
    if channels is not None and image.shape[2] != channels:
        raise ValueError(f"{name} must have {channels} channels (shape (H, W, {channels})), "
                         f"got {image.shape[2]} (shape {image.shape})")
    if image.shape[0] == 0 or image.shape[1] == 0 or image.shape[2] == 0:
        raise ValueError(f"{name} is empty (shape {image.shape})")
    if image.shape[0] < min_size or image.shape[1] < min_size:
        raise ValueError(f"{name} of {image.shape[0]} x {image.shape[1]} pixels is smaller "
                         f"than the minimum of {min_size} x {min_size}")
    dt = image.dtype
    if dt in _UINT_SCALE:
        out = np.ascontiguousarray(image, dtype=np.float64) / _UINT_SCALE[dt]
    elif dt == np.float32 or dt == np.float64:
        out = np.array(image, dtype=np.float64, order="C", copy=True)
        bad = ~np.isfinite(out)
        if bad.any():
            raise ValueError(f"{name} contains NaN or infinite values "
                             f"({int(bad.sum())} of them, the first at index {_first_bad(bad)})")
    else:
        raise TypeError(f"{name} has unsupported dtype {dt}; expected uint8, uint16, "
                        "float32 or float64")
    return out


def as_csr(matrix, *, name: str = "matrix", square: bool = True) -> sp.csr_matrix:
    """Return `matrix` as a canonical float64 CSR matrix with int32 indices.

    Canonical means sorted column indices and no duplicates. The input is
    copied whenever it has to change, so the caller's matrix is never modified;
    a matrix that is already in that form is returned as it is (callers only
    read it).
    """
    if not (sp.issparse(matrix) or isinstance(matrix, np.ndarray)):
        raise TypeError(f"{name} must be a scipy.sparse matrix or a numpy array, "
                        f"got {type(matrix).__name__}")
    if matrix.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got {matrix.ndim} dimensions")
    if square and matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"{name} must be square, got shape {matrix.shape}")
    if matrix.dtype.kind not in "fiub":
        raise TypeError(f"{name} has unsupported dtype {matrix.dtype}; expected real numbers")
    if max(matrix.shape) >= 2**31 - 1:
        raise ValueError(f"{name} of shape {matrix.shape} is too large for 32-bit indices")
    if (sp.isspmatrix_csr(matrix) or isinstance(matrix, sp.csr_array)) \
            and matrix.dtype == np.float64 and matrix.indices.dtype == np.int32 \
            and matrix.indptr.dtype == np.int32 and matrix.has_canonical_format:
        out = matrix  # already what the core reads; it is only read, never written
    else:
        out = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
        out.sum_duplicates()
        out.sort_indices()
        if out.nnz >= 2**31 - 1:
            raise ValueError(f"{name} has {out.nnz} nonzeros, too many for 32-bit indices")
        out.indices = out.indices.astype(np.int32, copy=False)
        out.indptr = out.indptr.astype(np.int32, copy=False)
    if not np.isfinite(out.data).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return out


def as_points(points, *, name: str = "X") -> np.ndarray:
    """Return `points` as a C-contiguous float64 (n, d) array with n, d >= 1.

    Accepts any real array-like (a copy is made when a conversion is needed;
    the result is only read). Raises TypeError for non-real data, ValueError
    for a wrong number of dimensions, an empty array or NaN/infinite values.
    """
    arr = np.asarray(points)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} has unsupported dtype {arr.dtype}; expected real numbers")
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"{name} contains NaN or infinite values "
                         f"({int(bad.sum())} of them, the first at index {_first_bad(bad)})")
    return arr


def available_memory() -> int:
    """Bytes of memory available to this process (MemAvailable), or a large
    number when it cannot be read. Override with SSS_MEMORY_LIMIT (bytes)."""
    env = os.environ.get("SSS_MEMORY_LIMIT")
    if env:
        return int(float(env))
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def check_memory(nbytes: float, what: str) -> None:
    """Raise MemoryError naming `what` if it needs more than the available memory."""
    avail = available_memory()
    if nbytes > avail:
        raise MemoryError(f"{what} needs about {nbytes / 2**30:.1f} GiB but only "
                          f"{avail / 2**30:.1f} GiB is available; use a smaller image "
                          "(e.g. downscale it)")


def from_core_csr(parts) -> sp.csr_matrix:
    """Wrap the (data, indices, indptr, shape) arrays returned by the C++ core
    in a scipy CSR matrix without copying."""
    data, indices, indptr, shape = parts
    m = sp.csr_matrix((data, indices, indptr), shape=tuple(int(s) for s in shape), copy=False)
    m.has_sorted_indices = True
    m.has_canonical_format = True
    return m


def as_threads(num_threads: int | None) -> int:
    """Thread count for the core: 0 (all cores) for None, else an int >= 1."""
    if num_threads is None:
        return 0
    num_threads = int(num_threads)
    if num_threads < 1:
        raise ValueError(f"num_threads must be >= 1, got {num_threads}")
    return num_threads
