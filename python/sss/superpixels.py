"""Stage 2: SLIC-0 superpixels and the superpixel graph.

``superpixels(image)`` computes the label map the semantic and colour
affinities are built on (docs/algorithm.md, stage 2: 2500 superpixels, compactness ~0,
MATLAB's default SLIC-0 method). ``superpixel_graph(labels, ...)`` gives what
the affinities need from it: which superpixels touch, each one's centroid
pixel and its mean colour / feature.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _defaults as D
from . import _core
from ._validation import as_threads as _threads, as_float, as_image, check_memory

__all__ = ["superpixels", "superpixel_graph", "SuperpixelGraph", "rgb_to_lab", "as_labels"]


def superpixels(image: np.ndarray, n_segments: int = D.SLIC.n_segments,
                compactness: float = D.SLIC.compactness, max_iter: int = D.SLIC.max_iter, *,
                min_size_factor: float = D.SLIC.min_size_factor,
                search_factor: float = D.SLIC.search_factor, num_threads: int | None = None) -> np.ndarray:
    """SLIC-0 superpixels of an RGB image.

    The image is converted to CIELAB (sRGB, D65; values outside [0, 1], e.g.
    from bicubic resizing, are converted as they are, without clipping or
    rescaling). Seeds are placed on a regular grid of step
    S = sqrt(H * W / n_segments) and moved to the lowest colour gradient of
    their 3x3 neighbourhood. Each k-means iteration assigns every pixel to
    the cluster, among those whose centre is within ``search_factor * S``
    pixels along both axes, that minimises

        d_lab^2 / m_k^2 + d_xy^2 / S^2,

    where m_k = `compactness` in the first iteration and afterwards the
    largest Lab distance of cluster k's pixels to its centre seen so far
    (SLIC-0's adaptive compactness).
    Finally each superpixel is made 4-connected: fragments smaller than
    ``min_size_factor * H * W / n_segments`` pixels are merged into the
    touching superpixel with the closest mean colour, larger disconnected
    pieces become superpixels of their own.

    Parameters
    ----------
    image : (H, W, 3) ndarray
        RGB image. uint8 / uint16 are divided by 255 / 65535; float32 and
        float64 are used as they are (nominally in [0, 1]).
    n_segments : int, optional
        Requested number of superpixels (the result has about as many).
    compactness : float, optional
        Initial compactness m, in CIELAB units, used in the first iteration
        only (SLIC-0 adapts it per superpixel afterwards). The reference
        passes 1e-20, i.e. colour alone decides the first assignment. Must
        be > 0.
    max_iter : int, optional
        Maximum number of k-means iterations (it stops early when no pixel
        changes label).
    min_size_factor : float, optional
        Fragments smaller than this fraction of the nominal superpixel area
        H * W / n_segments are merged into a neighbour. In [0, 1].
    search_factor : float, optional
        Half-width of each cluster's search window in units of S (SLIC's
        original 2S x 2S window is 1). In [1, 4]; larger is slower.
    num_threads : int, optional
        Threads to use. Default: all available cores, but at most one per
        half megapixel (each iteration synchronises the threads, which does
        not pay on small images). The result does not depend on it.

    Returns
    -------
    labels : (H, W) ndarray of int32
        Labels 0 .. K-1, numbered in raster order of their first pixel; every
        superpixel is 4-connected.

    Raises
    ------
    TypeError, ValueError
        For a non-array, unsupported dtype, wrong shape, NaN/inf values, or
        bad parameters.

    References
    ----------
    .. [1] R. Achanta, A. Shaji, K. Smith, A. Lucchi, P. Fua, S. Suesstrunk,
           "SLIC Superpixels Compared to State-of-the-art Superpixel Methods",
           IEEE TPAMI 34(11), 2012 (SLIC and its zero-parameter SLICO/SLIC-0).
    .. [2] Y. Aksoy, T.-H. Oh, S. Paris, M. Pollefeys, W. Matusik, "Semantic
           Soft Segmentation", ACM TOG 37(4) (SIGGRAPH), 2018, Sec. 3.3.
    """
    n_segments = _positive_int(n_segments, "n_segments")
    max_iter = _positive_int(max_iter, "max_iter")
    compactness = as_float(compactness, "compactness", minimum=0.0, strict_minimum=True)
    min_size_factor = as_float(min_size_factor, "min_size_factor", minimum=0.0, maximum=1.0)
    img = as_image(image, name="image", channels=3)
    n = img.shape[0] * img.shape[1]
    if n >= 2**31 - 1:
        raise ValueError(f"image of {img.shape[0]} x {img.shape[1]} pixels is too large "
                         "for 32-bit labels")
    check_memory(n * 64, "superpixels")  # Lab (double + float planes), labels, components
    search_factor = as_float(search_factor, "search_factor", minimum=1.0, maximum=4.0)
    labels, _count, _iters = _core.superpixels(img, n_segments, compactness, max_iter,
                                               min_size_factor, search_factor,
                                               _threads(num_threads))
    return labels


def rgb_to_lab(image: np.ndarray, *, num_threads: int | None = None) -> np.ndarray:
    """CIELAB (sRGB with D65 white, 2-degree observer) of an RGB image.

    Same formulas and constants as ``skimage.color.rgb2lab``, but values
    outside [0, 1] are converted as they are (no clipping), as the reference
    pipeline does for its bicubic-resized input.

    Parameters
    ----------
    image : (H, W, 3) ndarray
        sRGB image, nominally in [0, 1] (uint8 / uint16 are scaled).

    Returns
    -------
    lab : (H, W, 3) ndarray of float64
        L* in [0, 100], a*, b* roughly in [-128, 127].

    References
    ----------
    .. [1] CIE 15:2004, Colorimetry; IEC 61966-2-1 (sRGB).
    """
    img = as_image(image, name="image", channels=3)
    return _core.rgb_to_lab(img, _threads(num_threads))


def as_labels(labels, shape: tuple[int, int] | None = None, *,
              name: str = "labels", shape_of: str = "image") -> np.ndarray:
    """Check a superpixel label map and return it as a C-contiguous int32 copy.

    Labels must be integers 0 .. K-1, each present at least once. `shape`
    (H, W), when given, is the size the label map must have (that of the
    array named `shape_of`, for the error message).

    Raises
    ------
    TypeError
        for a non-array or a non-integer dtype.
    ValueError
        for a wrong shape, an empty map, negative or non-consecutive labels.
    """
    if not isinstance(labels, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(labels).__name__}")
    if labels.ndim != 2:
        raise ValueError(f"{name} must have shape (H, W), got shape {labels.shape}")
    if shape is not None and tuple(labels.shape) != tuple(shape):
        raise ValueError(f"{name} of shape {labels.shape} does not match the "
                         f"{shape[0]} x {shape[1]} pixels of the {shape_of}")
    if labels.size == 0:
        raise ValueError(f"{name} is empty (shape {labels.shape})")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, got dtype {labels.dtype}")
    lo, hi = int(labels.min()), int(labels.max())
    if lo < 0:
        idx = np.unravel_index(int(np.argmax(labels < 0)), labels.shape)
        raise ValueError(f"{name} must be >= 0, found {lo}; the first negative label is at "
                         f"({int(idx[0])}, {int(idx[1])}). Labels are 0-based (subtract 1 "
                         "from 1-based labels)")
    if hi >= labels.size or hi >= 2**31 - 1:
        raise ValueError(f"{name} must be consecutive 0..K-1, but the largest label {hi} "
                         f"exceeds the {labels.size} pixels")
    out = np.array(labels, dtype=np.int32, order="C", copy=True)
    counts = np.bincount(out.ravel(), minlength=hi + 1)
    if counts.min() == 0:
        missing = np.flatnonzero(counts == 0)
        raise ValueError(f"{name} must be consecutive 0..K-1, but {missing.size} labels "
                         f"in 0..{hi} are missing (the first is {int(missing[0])})")
    return out


@dataclass(frozen=True)
class SuperpixelGraph:
    """What the affinities need to know about a superpixel label map.

    Attributes
    ----------
    count : int
        Number of superpixels K.
    pairs : (M, 2) ndarray of int32
        Unique pairs (a, b), a < b, of superpixels that touch (8-connected by
        default, as the reference), sorted lexicographically.
    sizes : (K,) ndarray of int32
        Pixels per superpixel.
    centroids : (K, 2) ndarray of int32
        Centroid pixel (row, col): the mean pixel coordinates rounded half
        away from zero (exact: integer sums over the count).
    centroid_index : (K,) ndarray of int64
        Flat index ``row * W + col`` of the centroid pixel.
    mean_color : (K, C) ndarray of float64 or None
        Mean image colour per superpixel (when an image was given).
    mean_feature : (K, D) ndarray of float64 or None
        Mean feature vector per superpixel (when features were given).
    """

    count: int
    pairs: np.ndarray
    sizes: np.ndarray
    centroids: np.ndarray
    centroid_index: np.ndarray
    mean_color: np.ndarray | None = None
    mean_feature: np.ndarray | None = None


def superpixel_graph(labels: np.ndarray, image: np.ndarray | None = None,
                     features: np.ndarray | None = None, *,
                     connectivity: int = 8) -> SuperpixelGraph:
    """Adjacency, centroid pixels and mean colour / feature of superpixels.

    Parameters
    ----------
    labels : (H, W) integer ndarray
        Superpixel labels 0 .. K-1, each present (e.g. from
        :func:`superpixels`).
    image : (H, W, 3) ndarray, optional
        RGB image whose per-superpixel means go to ``mean_color``.
    features : (H, W, D) ndarray, optional
        Per-pixel features whose per-superpixel means go to ``mean_feature``.
    connectivity : {8, 4}, optional
        Pixel neighbourhood that makes two superpixels adjacent. The
        reference (MATLAB ``adjacentRegionsGraph``) uses 8.

    Returns
    -------
    SuperpixelGraph

    References
    ----------
    .. [1] Y. Aksoy et al., "Semantic Soft Segmentation", SIGGRAPH 2018,
           Sec. 3.3 (affinities between neighbouring / nearby superpixels).
    """
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity}")
    lab = as_labels(labels)
    h, w = lab.shape
    g = _core.superpixel_graph(lab, int(connectivity))
    rows, cols = g["centroid_row"], g["centroid_col"]
    mean_color = mean_feature = None
    if image is not None:
        img = as_image(image, name="image", channels=3)
        _same_size(img, (h, w), "image")
        mean_color = _core.region_means(lab, img)
    if features is not None:
        feat = as_image(features, name="features", channels=None)
        _same_size(feat, (h, w), "features")
        mean_feature = _core.region_means(lab, feat)
    return SuperpixelGraph(
        count=int(g["count"]), pairs=g["pairs"], sizes=g["sizes"],
        centroids=np.stack([rows, cols], axis=1).astype(np.int32),
        centroid_index=rows.astype(np.int64) * w + cols,
        mean_color=mean_color, mean_feature=mean_feature)


def _same_size(arr: np.ndarray, shape, name: str) -> None:
    if arr.shape[:2] != tuple(shape):
        raise ValueError(f"{name} of {arr.shape[0]} x {arr.shape[1]} pixels does not match "
                         f"the labels' {shape[0]} x {shape[1]}")


def _positive_int(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    if value >= 2**31:
        raise ValueError(f"{name} is too large: {value}")
    return value

