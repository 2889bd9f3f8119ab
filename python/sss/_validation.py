"""Input checks shared by every stage.

Every public function converts its inputs here, so that bad input raises a
clear ``TypeError`` / ``ValueError`` naming the problem before any C++ code
runs, and so that the caller's arrays are never modified (conversions copy).
"""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp

__all__ = ["as_image", "as_csr", "as_points", "check_memory", "available_memory", "as_int",
           "as_float", "as_threads", "max_threads", "check_finite_result", "check_symmetric"]

_UINT_SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def _first_bad(mask: np.ndarray) -> str:
    idx = np.unravel_index(int(np.argmax(mask)), mask.shape)
    return "(" + ", ".join(str(int(i)) for i in idx) + ")"


def as_image(image, *, name: str = "image", channels: int | None = 3,
             min_size: int = 1, copy: bool = True) -> np.ndarray:
    """Return `image` as a C-contiguous float64 (H, W, C) array.

    uint8 and uint16 images are scaled to [0, 1] (divided by 255 or 65535);
    float32 and float64 images are taken as they are (values slightly outside
    [0, 1], e.g. from bicubic resizing, are kept). The input is never modified:
    the result is a copy, except with ``copy=False`` for a C-contiguous
    float64 input, which is then returned itself (for callers that only read
    it, e.g. the core's functions taking const views: no copy of a
    photo-sized array).

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
    if dt.byteorder not in "=|" and dt.kind in "uf":
        dt = dt.newbyteorder("=")  # big-endian data (e.g. from another machine): same values
    if dt in _UINT_SCALE:
        out = np.ascontiguousarray(image, dtype=np.float64) / _UINT_SCALE[dt]
    elif dt == np.float32 or dt == np.float64:
        out = np.array(image, dtype=np.float64, order="C", copy=True if copy else None)
        if not np.isfinite(out).all():
            bad = ~np.isfinite(out)
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
    if sp.issparse(matrix):
        _check_sparse_structure(matrix, name)
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


def _check_sparse_structure(matrix, name: str) -> None:
    """Raise ValueError for a malformed compressed sparse matrix (scipy's own
    routines may read and write out of bounds on one: never pass it on)."""
    if matrix.format not in ("csr", "csc"):
        if matrix.format == "coo":
            r, c = matrix.coords if hasattr(matrix, "coords") else (matrix.row, matrix.col)
            if r.size and (r.min() < 0 or c.min() < 0 or r.max() >= matrix.shape[0]
                           or c.max() >= matrix.shape[1]):
                raise ValueError(f"{name} is not a valid COO matrix: indices out of range")
        return
    ptr, idx = np.asarray(matrix.indptr), np.asarray(matrix.indices)
    major = matrix.shape[0] if matrix.format != "csc" else matrix.shape[1]
    minor = matrix.shape[1] if matrix.format != "csc" else matrix.shape[0]
    problem = None
    if ptr.ndim != 1 or ptr.size != major + 1:
        problem = f"indptr has {ptr.size} entries, expected {major + 1}"
    elif ptr.size and ptr[0] != 0:
        problem = f"indptr starts at {ptr[0]}, expected 0"
    elif np.any(np.diff(ptr) < 0):
        problem = "indptr is not non-decreasing"
    elif ptr[-1] > idx.size or ptr[-1] > np.asarray(matrix.data).shape[0]:
        problem = (f"indptr ends at {ptr[-1]} but there are {idx.size} indices and "
                   f"{np.asarray(matrix.data).shape[0]} values")
    elif idx.size and (idx[:ptr[-1]].min() < 0 or idx[:ptr[-1]].max() >= minor):
        problem = f"an index is outside [0, {minor - 1}]"
    if problem:
        raise ValueError(f"{name} is not a valid {matrix.format.upper()} matrix: {problem}")


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
    big = float(np.abs(arr).max())
    if big > 1e150:
        raise ValueError(f"{name} has values up to {big:.3g}, beyond +-1e150, where squared "
                         "distances overflow; rescale it")
    return arr


def available_memory() -> int:
    """Bytes of memory available to this process (MemAvailable), or a large
    number when it cannot be read. Override with SSS_MEMORY_LIMIT (bytes)."""
    env = os.environ.get("SSS_MEMORY_LIMIT")
    if env:
        try:
            limit = float(env)
        except ValueError:
            limit = float("nan")
        if not (np.isfinite(limit) and limit > 0):
            raise ValueError(f"the environment variable SSS_MEMORY_LIMIT must be a positive "
                             f"number of bytes (e.g. 4e9), got {env!r}")
        return int(limit)
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


def check_memory(nbytes: float, what: str,
                 way_out: str = "use a smaller image (e.g. downscale it)") -> None:
    """Raise MemoryError naming `what`, the estimate, the available memory and
    `way_out` if it needs more than the available memory."""
    avail = available_memory()
    if nbytes > avail:
        raise MemoryError(f"{what} needs about {nbytes / 2**30:.1f} GiB but only "
                          f"{avail / 2**30:.1f} GiB is available; {way_out}")


def from_core_csr(parts) -> sp.csr_matrix:
    """Wrap the (data, indices, indptr, shape) arrays returned by the C++ core
    in a scipy CSR matrix without copying."""
    data, indices, indptr, shape = parts
    m = sp.csr_matrix((data, indices, indptr), shape=tuple(int(s) for s in shape), copy=False)
    m.has_sorted_indices = True
    m.has_canonical_format = True
    return m


def max_threads() -> int:
    """Largest accepted `num_threads`: 4 threads per core, at least 16
    (more only adds overhead; thousands of threads can exhaust the address
    space and kill the process inside OpenMP or ONNX Runtime)."""
    return max(16, 4 * (os.cpu_count() or 1))


def as_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """`value` as a Python int, refusing bools, non-integral floats, NaN and
    values outside [minimum, maximum] with an error naming `name`."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, (int, np.integer)):
        v = int(value)
    elif isinstance(value, (float, np.floating)):
        if not np.isfinite(value) or not float(value).is_integer():
            raise ValueError(f"{name} must be an integer, got {value!r}")
        v = int(value)
    else:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {v}")
    return v


def as_float(value, name: str, *, minimum: float | None = None, maximum: float | None = None,
             strict_minimum: bool = False) -> float:
    """`value` as a finite Python float in [minimum, maximum] (or (minimum,
    maximum] with `strict_minimum`), else an error naming `name`."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                         np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if minimum is not None and (v <= minimum if strict_minimum else v < minimum):
        raise ValueError(f"{name} must be {'>' if strict_minimum else '>='} {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {v}")
    return v


def as_threads(num_threads: int | None) -> int:
    """Thread count for the core: 0 (all cores) for None, else an int in
    [1, max_threads()]."""
    if num_threads is None:
        return 0
    return as_int(num_threads, "num_threads", minimum=1, maximum=max_threads())


def as_trimap(trimap, shape) -> np.ndarray:
    """`trimap` as a finite float64 (H, W) array of the image's `shape` (H, W),
    else a ValueError (0 background, 1 foreground, anything else unknown)."""
    t = np.asarray(trimap, dtype=np.float64)
    if t.shape != tuple(shape) or not np.all(np.isfinite(t)):
        raise ValueError(f"trimap must be a finite (H, W) array of the image's size "
                         f"{tuple(shape)}, got shape {t.shape}")
    return t


def check_unit_map(m: np.ndarray, name: str) -> None:
    """Raise ValueError unless the map `m` holds only finite values in [0, 1]."""
    if not np.all(np.isfinite(m)) or m.min() < 0 or m.max() > 1:
        raise ValueError(f"{name} must hold finite values in [0, 1]")


def check_finite_result(array: np.ndarray, what: str) -> np.ndarray:
    """Raise FloatingPointError if a stage's result holds NaN or infinity."""
    bad = ~np.isfinite(array)
    if bad.any():
        raise FloatingPointError(f"{what} produced {int(bad.sum())} NaN or infinite values "
                                 f"(of {bad.size}); the input is numerically degenerate")
    return array


def check_symmetric(L: sp.csr_matrix, name: str = "L", rtol: float = 1e-8) -> None:
    """Raise ValueError unless the CSR matrix `L` is symmetric to `rtol`
    relative to its largest entry.

    A cheap test first: (L - L^T) y for a fixed random y (two sparse products,
    no new matrix); only when it is not ~0 is the difference formed, to
    report it."""
    if L.nnz == 0:
        return
    y = np.random.default_rng(12345).standard_normal(L.shape[0])
    gap = np.abs(L @ y - L.T @ y).max()  # rounding: ~(entries per row) x 1e-16 x scale
    if gap <= 1e-11 * float(np.abs(L.data).max()) * float(np.abs(y).max()):
        return
    diff = abs(L - L.T)
    worst = diff.max() if diff.nnz else 0.0
    scale = float(np.abs(L.data).max())
    if worst > rtol * scale:
        raise ValueError(f"{name} must be symmetric, but |{name} - {name}^T| reaches {worst:.3g} "
                         f"(largest entry {scale:.3g})")


# sss.segment's parameters (fields of sss.Params, dotted): integers with their
# minimum, reals with their minimum (None: any finite value) and whether the
# minimum is excluded.
_SEGMENT_INTS = {"num_layers": 1, "affinity.superpixels.n_segments": 1,
                 "affinity.superpixels.max_iter": 1, "affinity.matting.radius": 1,
                 "eigen.num_vectors": 1, "initial.num_layers": 1,
                 "initial.kmeans.start_clusters": 1, "initial.kmeans.replicates": 1,
                 "initial.kmeans.rerun_below": 0, "initial.kmeans.max_iter": 1,
                 "constrained.max_iter": 0, "constrained.prune_every": 0,
                 "constrained.sample_stride": 0, "relaxed.max_iter": 0,
                 "relaxed.cg_max_iter": 1, "relaxed.final_cg_max_iter": 0,
                 "levels.working_pixels": 64, "levels.feature_pixels": 64,
                 "levels.upsample.radius": 0, "grouping.replicates": 1}
_SEGMENT_FLOATS = {"affinity.superpixels.compactness": (0.0, False),
                   "affinity.matting.eps": (0.0, False),
                   "affinity.semantic_weight": (0.0, False), "affinity.color_weight": (0.0, False),
                   "affinity.semantic.steepness": (None, False),
                   "affinity.semantic.center": (None, False),
                   "affinity.color.steepness": (None, False),
                   "affinity.color.center": (None, False), "affinity.color.radius": (0.0, False),
                   "eigen.tol": (0.0, True), "constrained.gamma": (0.0, True),
                   "grouping.min_mass": (0.0, False),
                   "constrained.sparsity_weight": (0.0, True), "constrained.clamp": (0.0, True),
                   "constrained.prune_threshold": (0.0, False), "relaxed.tol": (0.0, True),
                   "relaxed.sparsity_sigma": (0.0, False),
                   "relaxed.fidelity_sigma": (0.0, True),
                   "relaxed.constraint_delta": (0.0, False), "relaxed.low": (None, False),
                   "relaxed.high": (None, False), "relaxed.gamma_base": (0.0, True),
                   "relaxed.gradient_cap": (0.0, False), "relaxed.clamp": (0.0, True),
                   "levels.upsample.eps": (0.0, True)}


def _field(params, dotted: str):
    value = params
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def limited_shape(h: int, w: int, max_side) -> tuple[int, int]:
    """(h, w) downsized so that the longer side is at most `max_side` (>= 3,
    checked by the caller); unchanged if it already is, or for None."""
    if max_side is None or max(h, w) <= int(max_side):
        return h, w
    s = int(max_side) / max(h, w)
    return max(3, round(h * s)), max(3, round(w * s))


def check_segment_args(image, features, params, max_side=None) -> np.ndarray:
    """Check the arguments of :func:`sss.segment` (the photo, the features,
    the sss.Params of the call and `max_side`) before any work starts; return
    the image as :func:`as_image` gives it.

    Every error names the parameter, its value and what is allowed."""
    img = as_image(image, name="image", channels=3, min_size=3)
    h, w = img.shape[:2]
    size = f"image of {h} x {w} = {h * w} pixels"
    lh, lw = limited_shape(h, w, max_side)
    if (lh, lw) != (h, w):  # segmented at that size
        h, w = lh, lw
        size = f"image of {h} x {w} = {h * w} pixels (the photo downsized by max_side={max_side})"
    ints = {name: as_int(_field(params, name), name, minimum=lo)
            for name, lo in _SEGMENT_INTS.items()}
    for name, (lo, strict) in _SEGMENT_FLOATS.items():
        as_float(_field(params, name), name, minimum=lo, strict_minimum=strict)
    as_float(params.levels.alpha_cutoff, "levels.alpha_cutoff", minimum=0.0, maximum=0.25)
    low, high = params.relaxed.low, params.relaxed.high
    if not low < high:
        raise ValueError(f"relaxed.low must be smaller than relaxed.high, got low={low}, "
                         f"high={high}")
    k, m = ints["num_layers"], ints["initial.num_layers"]
    if k > m:
        raise ValueError(f"num_layers={k} is more than initial.num_layers={m}, the layers that "
                         f"are grouped into the output; use num_layers <= {m}")
    ne = ints["eigen.num_vectors"]
    if params.method == "multilevel":
        from .multilevel import working_shape
        wh, ww = working_shape((h, w), ints["levels.working_pixels"])
    else:
        wh, ww = h, w
    # more pixels than eigenvectors, and about 5 a cluster for the k-means that splits
    # the photo into the initial layers (measured: 14 x 14 pixels give 40 clusters,
    # flat or random, 13 x 13 do not)
    least = max(ne + 1, 5 * m - 4)
    if wh * ww < least:
        side = int(np.ceil(np.sqrt(least)))
        raise ValueError(f"{size} is too small for eigen.num_vectors={ne} and "
                         f"initial.num_layers={m}: it needs at least {least} pixels (e.g. "
                         f"{side} x {side}); use a larger "
                         f"{'image' if size.endswith('pixels') else 'max_side'} or smaller "
                         "values")
    feats = features
    if isinstance(feats, np.ndarray) and feats.ndim == 3 and feats.shape[2] == 3 \
            and feats.dtype.kind == "f" and feats.size and np.isfinite(feats).all():
        lo_v, hi_v = float(feats.min()), float(feats.max())
        if lo_v < -1.0 or hi_v > 2.0:
            raise ValueError(f"features with 3 channels are used as preprocessed features, "
                             f"which lie in [0, 1] (sss.preprocess_features); got values in "
                             f"[{lo_v:.3g}, {hi_v:.3g}]")
    return img


def as_photo(image, *, channel_axis: int | None = -1, name: str = "image") -> np.ndarray:
    """What users pass as a photo, as an (H, W, 3) array of the same dtype.

    Accepts what :func:`sss.imread` and scikit-image return: greyscale
    (H, W) or (H, W, 1) (repeated to RGB), grey + alpha (H, W, 2) and RGBA
    (H, W, 4) (composited on a white background with a warning when
    transparent, as the command line does), and RGB. `channel_axis` says
    where the channels are (-1, the default, or e.g. 0 for (C, H, W));
    None means a greyscale (H, W) image. A float image must lie in [0, 1]
    (within 0.1: bicubic resizing overshoots a little and such values are
    used as they are): values such as 0-255 raise with a hint. Integer images of dtype uint8 / uint16 are
    scaled by :func:`as_image` later. The input is not modified.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(image).__name__}")
    a = image
    if channel_axis is None:
        if a.ndim != 2:
            raise ValueError(f"{name} with channel_axis=None must be (H, W), got shape {a.shape}")
        a = a[..., None]
    elif a.ndim == 2:
        a = a[..., None]
    elif a.ndim == 3:
        ax = as_int(channel_axis, "channel_axis", minimum=-3, maximum=2)
        a = np.moveaxis(a, ax, -1)
    else:
        raise ValueError(f"{name} must have shape (H, W) or (H, W, C), got shape {a.shape}")
    c = a.shape[2]
    if c not in (1, 2, 3, 4):
        raise ValueError(f"{name} has {c} channels along channel_axis={channel_axis}; "
                         "expected 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA)")
    if a.dtype.kind == "f" and a.size:
        finite = a[np.isfinite(a)]
        if finite.size and (finite.min() < -0.1 or finite.max() > 1.1):
            raise ValueError(
                f"{name} is a float image with values in [{finite.min():.4g}, "
                f"{finite.max():.4g}]; float photos must lie in [0, 1] (divide 8-bit "
                "values by 255, or pass the uint8 array itself)")
    if c == 3:
        return a
    if a.dtype not in _UINT_SCALE and a.dtype.kind != "f":
        return a  # as_image names the unsupported dtype
    scale = _UINT_SCALE.get(a.dtype, 1.0)
    return rgb_on_white(a.astype(np.float64) / scale, name=name, stacklevel=4)


def rgb_on_white(arr: np.ndarray, *, name: str, alpha_channel: bool | None = None,
                 stacklevel: int = 3) -> np.ndarray:
    """(H, W[, C]) floats in [0, 1] -> (H, W, 3): the last channel is alpha
    when `alpha_channel` (default: for 2 or 4 channels) and is composited on
    a white background, with a warning where it is transparent; grey is
    repeated to RGB. Other channel counts are returned as they are, for the
    caller to refuse. `stacklevel` is the warning's, counted from here."""
    if arr.ndim == 2:
        arr = arr[..., None]
    if alpha_channel or (alpha_channel is None and arr.shape[2] in (2, 4)):
        colour, alpha = arr[..., :-1], arr[..., -1:]
        if np.any(alpha < 1.0):
            import warnings
            warnings.warn(f"{name}: has transparency; composited on a white background",
                          UserWarning, stacklevel=stacklevel)
            colour = colour * alpha + (1.0 - alpha)
        arr = colour
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    return arr
