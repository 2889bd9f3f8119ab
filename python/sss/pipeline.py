"""The whole pipeline: ``segment(image, features)`` -> ``SoftSegments``.

Stages (docs/algorithm.md): features (1), superpixels + affinities + Laplacian (2-6),
eigenvectors (7), constrained sparsification (8), grouping (9), relaxed
sparsification (10). Each stage is a function of its own module; the
eigensolver and the Laplacian can be replaced by passing callables.

Two methods run these stages: ``"multilevel"`` (the default) at a working
resolution of a fixed pixel budget, followed by a guided upsampling to the
photo's size (:mod:`sss.multilevel`), and ``"reference"``, every stage on
every pixel as in the authors' implementation.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ._progress import Cancelled, Progress
from ._validation import as_csr, as_float, as_image, as_photo, check_memory, check_segment_args
from .export import LayerEditing
from .constrained import constrained_sparsify, group_layers
from .eigensolver import smallest_eigenvectors
from .io import resize
from .cues import append_cues, check_cues
from .multilevel import clean_alphas, guided_upsample, working_shape
from .relaxed import image_gradient, relaxed_sparsify

__all__ = ["SoftSegments", "segment", "load", "METHODS", "Cancelled"]

#: the methods of :func:`segment`
METHODS = ("multilevel", "reference")

#: pixel budget of the multilevel working level (160 x 120)
WORKING_PIXELS = 19200
#: pixel budget of the copy the feature network sees in the multilevel method
FEATURE_PIXELS = 640 * 480
#: per-method defaults of the parameters whose default depends on the method
_METHOD_DEFAULTS = {
    "reference": dict(num_eigenvectors=100, constrained_iterations=40,
                      constrained_sample_stride="auto", eigensolver_tol=1e-10,
                      cues=(), alpha_cutoff=0.0),
    "multilevel": dict(num_eigenvectors=50, constrained_iterations=20,
                       constrained_sample_stride=2, eigensolver_tol=1e-6,
                       cues=("saliency",), alpha_cutoff=0.01),
}


@dataclass
class SoftSegments(LayerEditing):
    """Result of :func:`segment`.

    Attributes
    ----------
    alphas : (H, W, K) float32 ndarray
        The final soft layers; they sum to ~1 per pixel. With the multilevel
        method they lie in [0, 1]; the reference method does not clip them
        (values slightly outside [0, 1] occur as in the authors' code).
    initial_alphas : (h, w, M) float32 ndarray
        The M layers surviving constrained sparsification (step 8), at the
        working resolution `working_shape`.
    grouped_alphas : (h, w, K) float32 ndarray
        Their grouping into K layers (step 9), the input of step 10, at the
        working resolution.
    group_ids : (M,) int ndarray
        Group of each initial layer.
    eigenvalues : (m,) float64 ndarray
        Eigenvalues of the Laplacian used (ascending).
    superpixels : (h, w) int ndarray or None
        Superpixel labels at the working resolution (None when a ready
        Laplacian was given).
    features : (h, w, 3) float64 ndarray
        The 3-D semantic features used, at the working resolution.
    timings : dict
        Seconds per stage.
    peak_memory : dict
        Peak resident memory of the process (MiB, high-water mark) at the end
        of each stage (Linux/macOS; empty elsewhere).
    image : (H, W, 3) float64 ndarray or None
        The photo that was segmented (needed by ``colors`` and ``save``).
    method : str
        "multilevel" or "reference".
    working_shape : tuple (h, w)
        Size at which stages 2-10 ran: (H, W) for the reference method.

    Methods (from :class:`sss.export.LayerEditing`): ``colors`` (cached
    (H, W, K, 3) layer colours, :func:`sss.estimate_layer_colors`),
    ``composite(layers, background)`` and ``save(directory, formats)``.
    """

    alphas: np.ndarray
    initial_alphas: np.ndarray
    grouped_alphas: np.ndarray
    group_ids: np.ndarray
    eigenvalues: np.ndarray
    superpixels: np.ndarray | None
    features: np.ndarray
    timings: dict = field(default_factory=dict)
    peak_memory: dict = field(default_factory=dict)
    image: np.ndarray | None = field(default=None, repr=False)
    method: str = "reference"
    working_shape: tuple = ()

    def __repr__(self) -> str:
        h, w, k = self.alphas.shape
        parts = [f"{w}x{h}", f"{k} layers", f"method={self.method!r}"]
        if self.working_shape and tuple(self.working_shape) != (h, w):
            parts.append(f"working {self.working_shape[1]}x{self.working_shape[0]}")
        if self.timings:
            parts.append(f"{sum(self.timings.values()):.2f} s")
        return f"SoftSegments({', '.join(parts)})"

    def layer(self, i: int) -> np.ndarray:
        """Layer `i` as an (H, W, 4) float32 RGBA image in [0, 1]: its colours
        (:attr:`colors`) with its soft segment as alpha. The layers composited
        additively (sum of colour x alpha) give back the photo."""
        k = self.alphas.shape[2]
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)) \
                or not -k <= i < k:
            raise IndexError(f"layer index must be an integer in [-{k}, {k - 1}], got {i!r}")
        from .colors import normalize_alphas
        a = normalize_alphas(self.alphas)[..., i]
        rgba = np.empty(a.shape + (4,), dtype=np.float32)
        rgba[..., :3] = self.colors[:, :, i, :]
        rgba[..., 3] = a
        return rgba


def _feature_network():
    """sss.compute_features, looked up late: the feature stage is optional."""
    fn = getattr(sys.modules[__package__], "compute_features", None)
    if fn is None:
        raise RuntimeError("features=None needs the feature network (sss.compute_features), "
                           "which is not available in this installation; pass "
                           "precomputed (H, W, D) features instead")
    return fn


def _network_kwargs(num_threads, model):
    """Keyword arguments for the feature network: only those given, so that
    a replacement sss.compute_features keeps its own defaults."""
    kw = {}
    if num_threads is not None:
        kw["num_threads"] = num_threads
    if model is not None:
        kw["model"] = model
    return kw


def _feature_stage(image, features, num_threads=None, model=None, cues=(), cue_weight=8.0):
    pkg = sys.modules[__package__]  # late lookup: the feature stage is optional
    if features is None:
        fn = _feature_network()
        raw = fn(image, **_network_kwargs(num_threads, model))
        if not cues:
            return raw
        features = append_cues(raw, image, cues, weight=cue_weight, num_threads=num_threads)
    feat = as_image(features, name="features", channels=None)
    if feat.shape[:2] != image.shape[:2]:
        raise ValueError(f"features of {feat.shape[0]} x {feat.shape[1]} pixels do not match "
                         f"the image's {image.shape[0]} x {image.shape[1]}")
    if feat.shape[2] == 3:
        return feat
    if feat.shape[2] < 3:
        raise ValueError(f"features must have 3 channels (preprocessed) or more (raw), got "
                         f"{feat.shape[2]}")
    fn = getattr(pkg, "preprocess_features", None)
    if fn is None:
        raise RuntimeError(f"features with {feat.shape[2]} channels need "
                           "sss.preprocess_features, which is not available in this "
                           "installation; pass 3-D preprocessed features")
    return fn(feat, image) if num_threads is None else fn(feat, image, num_threads=num_threads)


def segment(image: np.ndarray, features: np.ndarray | None = None, *,
            num_layers: int = 5, seed: int = 0, progress: bool = True,
            method: str = "multilevel", max_side: int | None = None,
            channel_axis: int | None = -1, model=None, cues=None,
            cue_weight: float = 8.0, alpha_cutoff: float | None = None,
            working_pixels: int = WORKING_PIXELS, feature_pixels: int = FEATURE_PIXELS,
            upsample_radius: int = 1, upsample_eps: float = 1e-4,
            superpixels: np.ndarray | None = None, laplacian=None,
            eigensolver: Callable | None = None,
            # steps 2-6: superpixels and affinities
            n_segments: int = 2500, compactness: float = 1e-20,
            matting_radius: int = 1, matting_eps: float = 1e-7,
            semantic_weight: float = 0.01, color_weight: float = 0.01,
            semantic_steepness: float = 20.0, semantic_center: float = 0.85,
            color_steepness: float = 50.0, color_center: float = 0.95,
            color_radius: float = 0.2, normalized_laplacian: bool = False,
            # step 7
            num_eigenvectors: int | None = None, eigensolver_tol: float | None = None,
            # step 8
            initial_layers: int = 40, constrained_iterations: int | None = None,
            sparsity_exponent: float = 0.8, sparsity_weight: float = 0.3,
            constrained_clamp: float = 1e-10, prune_threshold: float = 0.1,
            prune_every: int | None = None, kmeans_start_clusters: int = 5,
            kmeans_replicates: int = 7, kmeans_rerun_below: int = 13,
            constrained_sample_stride: int | str | None = None,
            # step 10
            relaxed_iterations: int = 20, cg_iterations: int = 100,
            final_cg_iterations: int = 1000, cg_tol: float = 1e-6,
            relaxed_sparsity_weight: float = 1.0, fidelity_weight: float = 1.0,
            constraint_weight: float = 100.0, low: float = 0.1, high: float = 0.9,
            gamma_base: float = 0.9, gradient_cap: float = 0.1, relaxed_clamp: float = 1e-2,
            preconditioner: str = "block_jacobi",
            num_threads: int | None = None) -> SoftSegments:
    """Semantic soft segmentation of an image into `num_layers` soft layers.

    Parameters
    ----------
    image : (H, W, 3) ndarray
        RGB photo: uint8 / uint16 (scaled to [0, 1]) or float in [0, 1]
        (values further than 0.1 outside raise, e.g. a float image in
        0-255; smaller overshoots, as from bicubic resizing, are used as
        they are). Also accepted,
        as :func:`sss.imread` and scikit-image give them: greyscale (H, W)
        or (H, W, 1), repeated to RGB; grey + alpha (H, W, 2) and RGBA
        (H, W, 4), composited on white (with a warning where transparent),
        as the command line does. The array is not modified.
    features : (H, W, D) ndarray, optional
        Semantic features: D = 3 are used as they are; D > 3 go through
        ``sss.preprocess_features``; None runs the feature network
        ``sss.compute_features`` (an error if it is not available).
    num_layers : int, optional
        Number of output layers (5).
    seed : int, optional
        Seed of the two k-means steps; the result is deterministic for it.
    progress : bool or callable, optional
        True (default): report each stage and its time on stderr (``[sss]
        stage... 1.23 s``), with the fraction done while the eigensolver and
        the two sparsification stages run. False: silent. A callable
        ``(stage, fraction_done)``: called at the start (0.0) and end (1.0)
        of each stage and about four times a second within the long ones;
        returning False cancels the computation, which raises
        :class:`sss.Cancelled`.
    method : {"multilevel", "reference"}, optional
        "multilevel" (default): stages 2-10 run on a copy of the photo
        resized to at most `working_pixels` pixels, with a smaller spectral
        basis (`num_eigenvectors` 50), 20 constrained iterations on a
        sampled energy and a looser eigensolver tolerance; the layers are
        then carried to full resolution by :func:`sss.multilevel.guided_upsample`.
        Its cost is a fixed amount of work plus a few operations per pixel,
        and the layers do not depend on the photo's pixel count (see
        :mod:`sss.multilevel`). "reference": every stage on every pixel, as
        the authors' implementation (cost grows faster than the pixel count).
    model : path, optional
        An ONNX feature network to use instead of the shipped one when
        `features` is None (see :func:`sss.compute_features`).
    cues : sequence of str, optional
        Semantic cues appended to the network's features when `features` is
        None (see :mod:`sss.cues`): ``("saliency",)``, a salient-object map,
        by default for "multilevel"; ``()`` turns cues off (the default for
        "reference", which stays the authors' computation). Features passed
        as `features` are used as given.
    cue_weight : float, optional
        Scale of each cue against the strongest feature channel (8).
    alpha_cutoff : float, optional
        Final clean-up of the layers: alpha is mapped to
        ``clip((alpha - t) / (1 - 2 t), 0, 1)`` and the layers renormalised,
        so values below t become exactly 0 and above 1 - t exactly 1 (see
        :func:`sss.multilevel.clean_alphas`). Default 0.01 (2.5 levels of
        8 bits) for "multilevel", 0 (off) for "reference".
    channel_axis : int or None, optional
        Axis of `image` that holds the channels (-1; e.g. 0 for (C, H, W));
        None for a greyscale (H, W) image.
    max_side : int, optional
        If given, the photo (and `features`) is first downsized
        (antialiased bicubic) so that its longer side is at most `max_side`
        pixels; the layers are returned at that size. The way to bound the
        memory of very large photos.
    working_pixels : int, optional
        Multilevel only: pixel budget of the working level (19200, i.e.
        160 x 120; the aspect ratio is kept).
    feature_pixels : int, optional
        Multilevel only: pixel budget of the copy the feature network sees
        (640 x 480); its features are resized to the working level.
    upsample_radius, upsample_eps : optional
        Multilevel only: window radius (1 working pixel, i.e. 3 x 3 windows)
        and regulariser (1e-4) of the guided upsampling.
    superpixels : (H, W) integer ndarray, optional
        Reference only: superpixel labels to use instead of computing SLIC.
    laplacian : sparse matrix or callable, optional
        Reference only: a ready (H*W, H*W) Laplacian, or a callable
        ``(image, features, labels) -> L`` replacing ``sss.affinity_laplacian``.
    eigensolver : callable, optional
        ``(L, k) -> (values, vectors)`` replacing :func:`smallest_eigenvectors`.
        The default is called with ``image_shape=(h, w)``, which lets its
        factorisation use the grid nested-dissection ordering.
    n_segments, compactness : optional
        SLIC superpixels (2500, 1e-20), used when `superpixels` is None.
    matting_radius, matting_eps : optional
        Matting affinity window radius (1) and epsilon (1e-7).
    semantic_weight, color_weight : float, optional
        Weights of the semantic and colour affinities (0.01, 0.01).
    semantic_steepness, semantic_center : float, optional
        Semantic affinity erf(a (1 - ||df|| - c)) parameters (20, 0.85).
    color_steepness, color_center, color_radius : float, optional
        Colour affinity parameters (50, 0.95) and centroid radius (0.2).
    normalized_laplacian : bool, optional
        Use the paper's normalised Laplacian (Eq. 3) instead of the
        reference's D - W.
    num_eigenvectors : int, optional
        Eigenvectors used (reference 100, multilevel 50).
    eigensolver_tol : float, optional
        Relative tolerance of the eigensolver (reference 1e-10, multilevel
        1e-6), see :func:`smallest_eigenvectors`.
    initial_layers, constrained_iterations : int, optional
        Constrained sparsification: initial layers (40) and iterations
        (reference 40, multilevel 20).
    sparsity_exponent, sparsity_weight, constrained_clamp, prune_threshold : optional
        gamma (0.8), w0 = w1 (0.3), weight clamp (1e-10) and pruning
        threshold (0.1) of constrained sparsification.
    prune_every : int, optional
        Pruning period (default ceil(constrained_iterations / 4)).
    constrained_sample_stride : int or "auto", optional
        Evaluate the sparsity energy of constrained sparsification on every
        s-th pixel in each direction (``sample_stride`` of
        :func:`sss.constrained_sparsify`). Reference default "auto": 1, i.e.
        exactly the authors' computation, below 512 x 512 pixels; 2 from
        640 x 480 up (~3x faster; on the reference image the final layers
        are the same, see bench/README.md). Multilevel default: 2.
    kmeans_start_clusters, kmeans_replicates, kmeans_rerun_below : int, optional
        Splitting k-means initialisation: 5 clusters, 7 replicates, full
        re-runs below 13 clusters.
    relaxed_iterations, cg_iterations, final_cg_iterations, cg_tol : optional
        Relaxed sparsification: reweighted solves (20), CG caps (100, 1000)
        and relative tolerance (1e-6).
    relaxed_sparsity_weight, fidelity_weight, constraint_weight : float, optional
        sigma_S (1), sigma_F (1), delta (100).
    low, high, gamma_base, gradient_cap, relaxed_clamp : float, optional
        Input thresholds (0.1, 0.9), gamma_p = gamma_base (0.9) +
        min(gradient, gradient_cap (0.1)), weight clamp (1e-2).
    preconditioner : {'block_jacobi', 'jacobi', 'none'}, optional
        CG preconditioner of the relaxed stage ('none' is the reference's
        plain CG, ~3x slower).
    num_threads : int, optional
        Threads (at most 4 per core). Default: all cores, except for the
        multilevel working level (stages 2-10), which runs on one thread
        unless `num_threads` is given. The layers are bitwise the same for
        every thread count. Bad parameters raise before any work starts; see
        docs/reliability.md.

    Returns
    -------
    SoftSegments

    Raises
    ------
    MemoryError
        Before anything large is allocated, when the photo needs more memory
        than is available; the message gives the estimate and suggests
        `max_side`.

    References
    ----------
    .. [1] Y. Aksoy, T.-H. Oh, S. Paris, M. Pollefeys, W. Matusik, "Semantic
           Soft Segmentation", ACM TOG 37(4) (SIGGRAPH), 2018.
    .. [2] K. He, J. Sun, "Fast Guided Filter", arXiv:1505.00996, 2015.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    image = as_photo(image, channel_axis=channel_axis)
    defaults = _METHOD_DEFAULTS[method]
    if num_eigenvectors is None:
        num_eigenvectors = defaults["num_eigenvectors"]
    if constrained_iterations is None:
        constrained_iterations = defaults["constrained_iterations"]
    if constrained_sample_stride is None:
        constrained_sample_stride = defaults["constrained_sample_stride"]
    if eigensolver_tol is None:
        eigensolver_tol = defaults["eigensolver_tol"]
    cues = defaults["cues"] if cues is None else check_cues(cues)
    cue_weight = as_float(cue_weight, "cue_weight", minimum=0.0)
    if alpha_cutoff is None:
        alpha_cutoff = defaults["alpha_cutoff"]
    alpha_cutoff = as_float(alpha_cutoff, "alpha_cutoff", minimum=0.0, maximum=0.25)
    _check_multilevel_args(max_side, working_pixels, feature_pixels, upsample_radius,
                           upsample_eps, eigensolver_tol)
    _check_input_size(image, method, max_side, num_layers)
    img = check_segment_args(locals())
    num_layers = int(num_layers)
    if max_side is not None:
        img, features = _limit_side(img, features, max_side)
    h, w = img.shape[:2]
    rng = np.random.default_rng(seed)
    prog = Progress(progress)

    # The multilevel working level is a small problem of fixed size: one thread
    # unless asked otherwise (on a busy 2-core machine its stages ran 2-6x
    # slower on two threads than on one; see docs/multilevel.md).
    work_threads = num_threads if (num_threads is not None or method == "reference") else 1
    if method == "multilevel":
        if superpixels is not None or (laplacian is not None and not callable(laplacian)):
            raise ValueError("superpixels= and a ready laplacian= are pixel arrays of the full "
                             "photo: they work with method='reference' only")
        wh, ww = working_shape((h, w), working_pixels)
        with prog.stage("features"):
            work, feat = _working_inputs(img, features, (wh, ww), feature_pixels, num_threads,
                                         model, cues, cue_weight)
    else:
        wh, ww = h, w
        work = img
        with prog.stage("features"):
            feat = _feature_stage(img, features, num_threads, model, cues, cue_weight)

    labels = None
    with prog.stage("affinities"):
        if laplacian is not None and not callable(laplacian):
            L = as_csr(laplacian, name="laplacian", square=True)
            if L.shape[0] != h * w:
                raise ValueError(f"laplacian is {L.shape[0]} x {L.shape[0]}, expected "
                                 f"{h * w} x {h * w}")
            labels = None if superpixels is None else np.asarray(superpixels)
        else:
            fn = laplacian
            if fn is None:
                fn = getattr(sys.modules[__package__], "affinity_laplacian", None)
                if fn is None:
                    raise RuntimeError("sss.affinity_laplacian is not available in this "
                                       "installation; pass laplacian=")
                params = dict(semantic_weight=semantic_weight, color_weight=color_weight,
                              semantic_steepness=semantic_steepness,
                              semantic_center=semantic_center,
                              color_steepness=color_steepness, color_center=color_center,
                              color_radius=color_radius, matting_radius=matting_radius,
                              matting_eps=matting_eps, n_segments=n_segments,
                              compactness=compactness, normalized=normalized_laplacian,
                              num_threads=work_threads)
                L, parts = fn(work, feat, superpixels, return_affinities=True, **params)
                labels = parts["labels"]
            else:
                L = fn(work, feat, superpixels)
                labels = None if superpixels is None else np.asarray(superpixels)

    with prog.stage("eigenvectors", fractions=True):
        if eigensolver is None:
            values, vectors = smallest_eigenvectors(L, num_eigenvectors, image_shape=(wh, ww),
                                                    tol=eigensolver_tol,
                                                    num_threads=work_threads)
        else:
            values, vectors = eigensolver(L, num_eigenvectors)

    with prog.stage("constrained sparsification", fractions=True):
        init = constrained_sparsify(vectors, values, L, (wh, ww), features=feat,
                                    num_layers=initial_layers,
                                    iterations=constrained_iterations, gamma=sparsity_exponent,
                                    weight=sparsity_weight, clamp=constrained_clamp,
                                    prune_threshold=prune_threshold, prune_every=prune_every,
                                    kmeans_start_clusters=kmeans_start_clusters,
                                    kmeans_replicates=kmeans_replicates,
                                    kmeans_rerun_below=kmeans_rerun_below, seed=rng,
                                    sample_stride=constrained_sample_stride,
                                    num_threads=work_threads)
    del vectors

    with prog.stage("grouping"):
        grouped, ids = group_layers(init, feat, num_layers, seed=rng, return_ids=True)

    with prog.stage("relaxed sparsification", fractions=True):
        alphas = relaxed_sparsify(grouped, L, gradient=image_gradient(work),
                                  iterations=relaxed_iterations, cg_iterations=cg_iterations,
                                  final_cg_iterations=final_cg_iterations, cg_tol=cg_tol,
                                  sparsity_weight=relaxed_sparsity_weight,
                                  fidelity_weight=fidelity_weight,
                                  constraint_weight=constraint_weight, low=low, high=high,
                                  gamma_base=gamma_base, gradient_cap=gradient_cap,
                                  clamp=relaxed_clamp, preconditioner=preconditioner,
                                  num_threads=work_threads)
    del L
    if method == "multilevel":
        if (wh, ww) != (h, w):
            with prog.stage("upsampling"):
                alphas = guided_upsample(alphas, np.clip(work, 0, 1), img,
                                         radius=upsample_radius, eps=upsample_eps)
        else:
            alphas = _clip_to_simplex(alphas)
    if alpha_cutoff > 0:
        alphas = clean_alphas(alphas, alpha_cutoff)
    if prog.enabled:
        print(f"[sss] total {sum(prog.timings.values()):.2f} s", file=sys.stderr, flush=True)
    return SoftSegments(alphas=np.asarray(alphas, dtype=np.float32),
                        initial_alphas=init.astype(np.float32),
                        grouped_alphas=grouped.astype(np.float32),
                        group_ids=np.asarray(ids), eigenvalues=np.asarray(values),
                        superpixels=labels, features=feat, timings=dict(prog.timings),
                        peak_memory=dict(prog.peak_memory),
                        image=img, method=method, working_shape=(wh, ww))


def _clip_to_simplex(alphas):
    """Layers clipped to [0, 1] and renormalised to sum to one (float32)."""
    a = np.clip(np.asarray(alphas, dtype=np.float32), 0.0, 1.0)
    s = a.sum(axis=2, keepdims=True)
    np.maximum(s, 1e-12, out=s)
    return a / s


def _check_multilevel_args(max_side, working_pixels, feature_pixels, upsample_radius,
                           upsample_eps, eigensolver_tol):
    from ._validation import as_float, as_int
    if max_side is not None:
        as_int(max_side, "max_side", minimum=3)
    as_int(working_pixels, "working_pixels", minimum=64)
    as_int(feature_pixels, "feature_pixels", minimum=64)
    as_int(upsample_radius, "upsample_radius", minimum=0)
    as_float(upsample_eps, "upsample_eps", minimum=0.0, strict_minimum=True)
    as_float(eigensolver_tol, "eigensolver_tol", minimum=0.0, strict_minimum=True)


def _limited_shape(h, w, max_side):
    """(h, w) downsized so that the longer side is at most `max_side` (>= 3,
    checked by the caller); unchanged if it already is, or for None."""
    if max_side is None or max(h, w) <= int(max_side):
        return h, w
    s = int(max_side) / max(h, w)
    return max(3, round(h * s)), max(3, round(w * s))


def _limit_side(img, features, max_side):
    """Downsize `img` (and full-size `features`) so the longer side is <= max_side."""
    h, w = img.shape[:2]
    nh, nw = _limited_shape(h, w, max_side)
    if (nh, nw) == (h, w):
        return img, features
    out = resize(img, nh, nw, method="bicubic")
    if features is not None:
        f = as_image(features, name="features", channels=None)
        if f.shape[:2] != (h, w):
            raise ValueError(f"features of {f.shape[0]} x {f.shape[1]} pixels do not match "
                             f"the image's {h} x {w}")
        features = resize(f, nh, nw, method="bilinear")
    return out, features


def _check_input_size(image, method, max_side, num_layers):
    """Refuse, before any large allocation, a photo that cannot fit in memory."""
    shape = getattr(image, "shape", None)
    if shape is None or len(shape) != 3:
        return  # as_image gives the precise error
    h, w = int(shape[0]), int(shape[1])
    ph, pw = _limited_shape(h, w, max_side)
    # downsizing costs the float64 copy and its resized version
    extra = 0 if (ph, pw) == (h, w) else h * w * 8 * 3 * 2
    n = ph * pw
    try:
        k = max(1, int(num_layers))
    except (TypeError, ValueError, OverflowError):
        return  # check_segment_args names the problem
    if method == "multilevel":
        # measured peaks: ~70 bytes a pixel (the float64 photo and its copies, float32
        # resizing buffers) + 4 per layer (the float32 output) + ~300 MB (network,
        # working level)
        need = n * (72 + 4 * k) + 3e8 + extra
    else:
        # Laplacian (~38 nonzeros a row), the eigensolver's factor (~180 a row at
        # 640 x 480, growing with the pixel count) and its basis of 300 vectors
        fill = 180 * math.sqrt(max(n, 1) / 307200.0)
        need = n * (38 * 12 + fill * 12 + 300 * 8 + 41 * 8 * 3) + extra
    try:
        check_memory(need, f"segmenting a {pw} x {ph} photo (method={method!r})")
    except MemoryError as e:
        raise MemoryError(f"{e}. Pass max_side= (the CLI's --max-side) to segment a smaller "
                          "copy" + ("" if method == "multilevel" else
                                    ", or method='multilevel'")) from None


def _working_inputs(img, features, work_shape, feature_pixels, num_threads, model=None,
                    cues=(), cue_weight=8.0):
    """The photo and its 3-D features at the working resolution."""
    pkg = sys.modules[__package__]
    h, w = img.shape[:2]
    wh, ww = work_shape
    if features is None:
        fn = _feature_network()
        fh, fw = working_shape((h, w), feature_pixels)
        src = img if (fh, fw) == (h, w) else np.clip(resize(img, fh, fw, method="bicubic"), 0, 1)
        # the working image from the (smaller) network copy: one pass over a large photo
        work = src if (wh, ww) == src.shape[:2] else resize(src, wh, ww, method="bicubic")
        raw = fn(src, **_network_kwargs(num_threads, model))
        if cues:
            raw = append_cues(raw, np.clip(src, 0, 1), cues, weight=cue_weight,
                              num_threads=num_threads)
        if raw.shape[:2] != (wh, ww):
            raw = resize(raw, wh, ww, method="bilinear").astype(np.float32)
        return work, pkg.preprocess_features(raw, np.clip(work, 0, 1))
    work = img if (wh, ww) == (h, w) else resize(img, wh, ww, method="bicubic")
    feat = as_image(features, name="features", channels=None)
    if feat.shape[:2] != (h, w):
        raise ValueError(f"features of {feat.shape[0]} x {feat.shape[1]} pixels do not match "
                         f"the image's {h} x {w}")
    if feat.shape[2] < 3:
        raise ValueError(f"features must have 3 channels (preprocessed) or more (raw), got "
                         f"{feat.shape[2]}")
    if (wh, ww) != (h, w):
        feat = resize(feat, wh, ww, method="bilinear")
    if feat.shape[2] == 3:
        return work, feat
    return work, _feature_stage(work, feat)


def load(path) -> SoftSegments:
    """Read a result written by :meth:`SoftSegments.save` or ``sss segment``.

    Parameters
    ----------
    path : str or path
        The ``NAME_alphas.npz`` file, or a folder that holds exactly one.

    Returns
    -------
    SoftSegments
        ``alphas`` are the normalised full-size layers of the file; the photo
        (``image``), the method and the intermediate arrays come back when the
        file holds them (files written before they were stored have no photo:
        ``colors``, ``composite`` and ``save`` then raise).

    Raises
    ------
    FileNotFoundError, ValueError
        For a missing path, a folder without (or with several) result files,
        or a file that is not such a result.
    """
    import os
    from pathlib import Path
    p = Path(os.fspath(path))
    if p.is_dir():
        found = sorted(p.glob("*_alphas.npz"))
        if len(found) != 1:
            raise ValueError(f"{p}: expected one *_alphas.npz result file, found {len(found)}"
                             + (": " + ", ".join(f.name for f in found) if found else ""))
        p = found[0]
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    try:
        z = np.load(p, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ValueError(f"{p}: not a readable .npz file ({e})") from None
    with z:
        if not hasattr(z, "files") or "layer_alphas" not in z.files:
            raise ValueError(f"{p}: not a result written by SoftSegments.save or sss segment "
                             "(it has no 'layer_alphas')")
        get = {k: z[k] for k in z.files}
    alphas = np.asarray(get["layer_alphas"], dtype=np.float32)
    if alphas.ndim != 3:
        raise ValueError(f"{p}: layer_alphas must be (H, W, K), got shape {alphas.shape}")
    image = get.get("image")
    if image is not None:
        image = np.asarray(image, dtype=np.float64)
        if image.shape != alphas.shape[:2] + (3,):
            raise ValueError(f"{p}: image of shape {image.shape} does not match the layers "
                             f"{alphas.shape}")
    empty = np.zeros((0, 0, 0), np.float32)
    ws = get.get("working_shape")
    return SoftSegments(
        alphas=alphas, initial_alphas=get.get("initial_alphas", empty),
        grouped_alphas=get.get("grouped_alphas", empty),
        group_ids=get.get("group_ids", np.zeros(0, int)),
        eigenvalues=get.get("eigenvalues", np.zeros(0)),
        superpixels=get.get("superpixels"), features=get.get("features"),
        image=image, method=str(get["method"]) if "method" in get else "reference",
        working_shape=tuple(int(v) for v in ws) if ws is not None else alphas.shape[:2])
