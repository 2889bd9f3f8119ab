"""The whole pipeline: ``segment(image, features)`` -> ``SoftSegments``.

Stages (docs/algorithm.md): features (1), superpixels + affinities + Laplacian (2-6),
eigenvectors (7), constrained sparsification (8), grouping (9), relaxed
sparsification (10). Each stage is a function of its own module; the
eigensolver and the Laplacian can be replaced by passing callables.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ._progress import Progress
from ._validation import as_csr, as_image
from .export import LayerEditing
from .constrained import constrained_sparsify, group_layers
from .eigensolver import smallest_eigenvectors
from .relaxed import image_gradient, relaxed_sparsify

__all__ = ["SoftSegments", "segment"]


@dataclass
class SoftSegments(LayerEditing):
    """Result of :func:`segment`.

    Attributes
    ----------
    alphas : (H, W, K) float32 ndarray
        The final soft layers; they sum to ~1 per pixel (not clipped, values
        slightly outside [0, 1] occur as in the reference).
    initial_alphas : (H, W, M) float32 ndarray
        The M layers surviving constrained sparsification (step 8).
    grouped_alphas : (H, W, K) float32 ndarray
        Their grouping into K layers (step 9), the input of step 10.
    group_ids : (M,) int ndarray
        Group of each initial layer.
    eigenvalues : (m,) float64 ndarray
        Eigenvalues of the Laplacian used (ascending).
    superpixels : (H, W) int ndarray or None
        Superpixel labels (None when a ready Laplacian was given).
    features : (H, W, 3) float64 ndarray
        The 3-D semantic features used.
    timings : dict
        Seconds per stage.
    peak_memory : dict
        Peak resident memory of the process (MiB, high-water mark) at the end
        of each stage (Linux/macOS; empty elsewhere).
    image : (H, W, 3) float64 ndarray or None
        The photo that was segmented (needed by ``colors`` and ``save``).

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


def _feature_stage(image, features):
    pkg = sys.modules[__package__]  # late lookup: the feature stage is optional
    if features is None:
        fn = getattr(pkg, "compute_features", None)
        if fn is None:
            raise RuntimeError("features=None needs the feature network (sss.compute_features), "
                               "which is not available in this installation; pass "
                               "precomputed (H, W, D) features instead")
        return fn(image)
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
    return fn(feat, image)


def segment(image: np.ndarray, features: np.ndarray | None = None, *,
            num_layers: int = 5, seed: int = 0, progress: bool = True,
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
            num_eigenvectors: int = 100,
            # step 8
            initial_layers: int = 40, constrained_iterations: int = 40,
            sparsity_exponent: float = 0.8, sparsity_weight: float = 0.3,
            constrained_clamp: float = 1e-10, prune_threshold: float = 0.1,
            prune_every: int | None = None, kmeans_start_clusters: int = 5,
            kmeans_replicates: int = 7, kmeans_rerun_below: int = 13,
            constrained_sample_stride: int | str = "auto",
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
        RGB image (uint8/uint16 scaled to [0, 1]; float used as is).
    features : (H, W, D) ndarray, optional
        Semantic features: D = 3 are used as they are; D > 3 go through
        ``sss.preprocess_features``; None runs the feature network
        ``sss.compute_features`` (an error if it is not available).
    num_layers : int, optional
        Number of output layers (5).
    seed : int, optional
        Seed of the two k-means steps; the result is deterministic for it.
    progress : bool, optional
        Report each stage and its time on stderr (``[sss] stage... 1.23 s``).
    superpixels : (H, W) integer ndarray, optional
        Superpixel labels to use instead of computing SLIC.
    laplacian : sparse matrix or callable, optional
        A ready (H*W, H*W) Laplacian, or a callable ``(image, features,
        labels) -> L`` replacing ``sss.affinity_laplacian``.
    eigensolver : callable, optional
        ``(L, k) -> (values, vectors)`` replacing :func:`smallest_eigenvectors`.
        The default is called with ``image_shape=(H, W)``, which lets its
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
        Eigenvectors used (100).
    initial_layers, constrained_iterations : int, optional
        Constrained sparsification: initial layers (40) and iterations (40).
    sparsity_exponent, sparsity_weight, constrained_clamp, prune_threshold : optional
        gamma (0.8), w0 = w1 (0.3), weight clamp (1e-10) and pruning
        threshold (0.1) of constrained sparsification.
    prune_every : int, optional
        Pruning period (default ceil(constrained_iterations / 4)).
    constrained_sample_stride : int or "auto", optional
        Evaluate the sparsity energy of constrained sparsification on every
        s-th pixel in each direction (``sample_stride`` of
        :func:`sss.constrained_sparsify`). "auto" (default): 1, i.e. exactly
        the reference, below 512 x 512 pixels; 2 at 640 x 480, which makes
        the stage ~3x faster; on the reference image the final layers are
        the same (see bench/README.md and :func:`sss.constrained_sparsify`).
        Pass 1 for the reference's computation at every size.
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
        Threads (default all cores).

    Returns
    -------
    SoftSegments

    References
    ----------
    .. [1] Y. Aksoy, T.-H. Oh, S. Paris, M. Pollefeys, W. Matusik, "Semantic
           Soft Segmentation", ACM TOG 37(4) (SIGGRAPH), 2018.
    """
    img = as_image(image, name="image", channels=3, min_size=3)
    h, w = img.shape[:2]
    num_layers = int(num_layers)
    if num_layers < 1:
        raise ValueError(f"num_layers must be >= 1, got {num_layers}")
    if preconditioner not in ("block_jacobi", "jacobi", "none"):
        raise ValueError("preconditioner must be 'block_jacobi', 'jacobi' or 'none', got "
                         f"{preconditioner!r}")
    rng = np.random.default_rng(seed)
    prog = Progress(progress)

    with prog.stage("features"):
        feat = _feature_stage(img, features)

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
                              num_threads=num_threads)
                L, parts = fn(img, feat, superpixels, return_affinities=True, **params)
                labels = parts["labels"]
            else:
                L = fn(img, feat, superpixels)
                labels = None if superpixels is None else np.asarray(superpixels)

    with prog.stage("eigenvectors"):
        if eigensolver is None:
            values, vectors = smallest_eigenvectors(L, num_eigenvectors, image_shape=(h, w))
        else:
            values, vectors = eigensolver(L, num_eigenvectors)

    with prog.stage("constrained sparsification"):
        init = constrained_sparsify(vectors, values, L, (h, w), features=feat,
                                    num_layers=initial_layers,
                                    iterations=constrained_iterations, gamma=sparsity_exponent,
                                    weight=sparsity_weight, clamp=constrained_clamp,
                                    prune_threshold=prune_threshold, prune_every=prune_every,
                                    kmeans_start_clusters=kmeans_start_clusters,
                                    kmeans_replicates=kmeans_replicates,
                                    kmeans_rerun_below=kmeans_rerun_below, seed=rng,
                                    sample_stride=constrained_sample_stride,
                                    num_threads=num_threads)
    del vectors

    with prog.stage("grouping"):
        grouped, ids = group_layers(init, feat, num_layers, seed=rng, return_ids=True)

    with prog.stage("relaxed sparsification"):
        alphas = relaxed_sparsify(grouped, L, gradient=image_gradient(img),
                                  iterations=relaxed_iterations, cg_iterations=cg_iterations,
                                  final_cg_iterations=final_cg_iterations, cg_tol=cg_tol,
                                  sparsity_weight=relaxed_sparsity_weight,
                                  fidelity_weight=fidelity_weight,
                                  constraint_weight=constraint_weight, low=low, high=high,
                                  gamma_base=gamma_base, gradient_cap=gradient_cap,
                                  clamp=relaxed_clamp, preconditioner=preconditioner,
                                  num_threads=num_threads)
    if progress:
        print(f"[sss] total {sum(prog.timings.values()):.2f} s", file=sys.stderr, flush=True)
    return SoftSegments(alphas=alphas.astype(np.float32),
                        initial_alphas=init.astype(np.float32),
                        grouped_alphas=grouped.astype(np.float32),
                        group_ids=np.asarray(ids), eigenvalues=np.asarray(values),
                        superpixels=labels, features=feat, timings=dict(prog.timings),
                        peak_memory=dict(prog.peak_memory),
                        image=img)
