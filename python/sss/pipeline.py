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

import copy
import math
import sys
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import _core
from .params import Params
from ._progress import Cancelled, Progress
from ._validation import as_csr, as_image, as_int, as_photo, as_threads, check_memory, \
    check_segment_args, limited_shape
from .cues import append_cues, check_cues
from .features import compute_features, preprocess_features
from .io import resize
from .multilevel import working_shape
from .superpixels import as_labels

__all__ = ["SoftSegments", "segment", "load", "default_params", "METHODS", "Cancelled"]

#: the methods of :func:`segment`
METHODS = ("multilevel", "reference")
#: each method's semantic cues (sss.cues) when segment computes the features
_DEFAULT_CUES = {"multilevel": ("saliency",), "reference": ()}


@dataclass
class SoftSegments:
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
    matted_subject : tuple of int
        The layers of the salient subject whose boundary stage 11 (subject
        matting, :mod:`sss.subject_matting`) matted; empty when the stage did
        not run or found no clear subject (not stored by ``save``).
    icc_profile : bytes or None
        The photo's RGB ICC colour profile, written into the files by
        ``save`` (None from :func:`segment`, which takes arrays; set it, e.g.
        to :func:`sss.io.read_icc_profile` of the photo's file, or pass it to
        ``save``; :func:`load` restores it).
    exif : bytes or None
        The photo's EXIF metadata (:func:`sss.io.read_exif`), written into
        the PNGs by ``save``; like `icc_profile`, None from :func:`segment`.

    Methods: ``colors`` (cached (H, W, K, 3) layer colours),
    ``composite(layers, background)``, ``layer(i)``, ``subject_layers()`` and
    ``subject()`` (the salient subject cut out, :mod:`sss.subject`), and
    ``save(directory, formats)`` (which writes with :mod:`sss.export`).
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
    matted_subject: tuple = ()
    icc_profile: bytes | None = field(default=None, repr=False)
    exif: bytes | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        h, w, k = self.alphas.shape
        parts = [f"{w}x{h}", f"{k} layers", f"method={self.method!r}"]
        if self.working_shape and tuple(self.working_shape) != (h, w):
            parts.append(f"working {self.working_shape[1]}x{self.working_shape[0]}")
        if self.timings:
            parts.append(f"{sum(self.timings.values()):.2f} s")
        return f"SoftSegments({', '.join(parts)})"

    @property
    def colors(self) -> np.ndarray:
        """(H, W, K, 3) layer colours (:func:`sss.estimate_layer_colors`;
        for a multilevel result :func:`sss.multilevel.layer_colors`, which
        estimates them at the working resolution and fits them exactly to the
        full-size photo), computed on first use and cached."""
        cached = self.__dict__.get("_colors_cache")
        if cached is None:
            if self.image is None:
                raise ValueError("layer colours need the photo: this result has no image")
            if self.method == "multilevel":
                from .multilevel import layer_colors
                cached = layer_colors(self.image, self.alphas)
            else:
                from .colors import estimate_layer_colors
                cached = estimate_layer_colors(self.image, self.alphas)
            cached.setflags(write=False)
            self.__dict__["_colors_cache"] = cached
        return cached

    def _colour_source(self):
        """The layer colours for writing files: :attr:`colors` once computed;
        before that, for a multilevel result, the same values made a band of
        rows at a time while the files are rendered
        (:class:`sss.multilevel.UpsampledLayerColors`), so that saving a
        camera photo never holds them whole."""
        cached = self.__dict__.get("_colors_cache")
        if cached is None and self.method == "multilevel" and self.image is not None:
            from .multilevel import layer_colors
            return layer_colors(self.image, self.alphas, bands=True)
        return self.colors

    def composite(self, layers=None, background=None) -> np.ndarray:
        """Selected layers over a background (see :func:`sss.colors.composite`):
        e.g. ``composite([0, 2], background=new_photo)`` replaces the rest.
        With every layer (the default) this is the photo."""
        from .colors import composite as _composite
        return _composite(self.alphas, self.colors, layers=layers, background=background)

    def save(self, directory, formats=None, *, name: str = "segments",
             ora_space: str = "srgb", icc_profile: bytes | None = None,
             progress=None, exif: bytes | None = None, bit_depth: int = 8) -> dict:
        """Write ``name_overview.png``, ``name_layer{i}.png``, ``name.ora`` and
        ``name_alphas.npz`` (or the chosen `formats`) into `directory` with
        :func:`sss.export.save_layers`, with `icc_profile` (default: the
        result's :attr:`icc_profile`) and `exif` (default: :attr:`exif`)
        embedded; `progress` and `bit_depth` (8 or 16 bits per channel of
        the layer files) as for :func:`sss.export.save_layers`. Returns
        the files written per format."""
        from .export import FORMATS, save_result
        return save_result(self, directory, FORMATS if formats is None else formats,
                           name=name, ora_space=ora_space, icc_profile=icc_profile,
                           progress=progress, exif=exif, bit_depth=bit_depth)

    def subject_layers(self, *, threshold: float = 0.5, min_confidence: float = 0.5) -> list:
        """Indices of the layers that make up the photo's salient subject
        (:func:`sss.subject_layers` on the photo; empty when it has no clear
        subject)."""
        if self.image is None:
            raise ValueError("choosing the subject needs the photo: this result has no image")
        from .subject import subject_layers
        return subject_layers(self.alphas, self.image, threshold=threshold,
                              min_confidence=min_confidence)

    def subject(self, background=None, *, threshold: float = 0.5,
                min_confidence: float = 0.5) -> np.ndarray | None:
        """The salient subject cut out: :meth:`composite` of
        :meth:`subject_layers` (an (H, W, 4) RGBA image in [0, 1] whose colour
        is the layers' own, so the old background does not bleed into soft
        edges; over `background` if given). None when the photo has no clear
        subject; choose layers yourself with :meth:`composite` then."""
        layers = self.subject_layers(threshold=threshold, min_confidence=min_confidence)
        if not layers:
            return None
        return self.composite(layers, background)

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


def _network_kwargs(num_threads, model):
    """Keyword arguments for the feature network: only those given, so that
    a replacement sss.compute_features keeps its own defaults."""
    kw = {}
    if num_threads is not None:
        kw["num_threads"] = num_threads
    if model is not None:
        kw["model"] = model
    return kw


def _feature_stage(image, features, num_threads=None, model=None, cues=()):
    if features is None:
        # the network's raw features (and cues) go through preprocessing below
        features = compute_features(image, **_network_kwargs(num_threads, model))
        if cues:
            features = append_cues(features, image, cues, num_threads=num_threads)
    feat = as_image(features, name="features", channels=None)
    if feat.shape[:2] != image.shape[:2]:
        raise ValueError(f"features of {feat.shape[0]} x {feat.shape[1]} pixels do not match "
                         f"the image's {image.shape[0]} x {image.shape[1]}")
    if feat.shape[2] == 3:
        return feat
    if feat.shape[2] < 3:
        raise ValueError(f"features must have 3 channels (preprocessed) or more (raw), got "
                         f"{feat.shape[2]}")
    if num_threads is None:
        return preprocess_features(feat, image)
    return preprocess_features(feat, image, num_threads=num_threads)


def segment(image: np.ndarray, features: np.ndarray | None = None, *,
            num_layers: int = 5, seed: int = 0, progress: bool = True,
            method: str = "multilevel", max_side: int | None = None,
            num_threads: int | None = None, channel_axis: int | None = -1, model=None,
            cues=None, params: Params | None = None, affinity=None, eigen=None, initial=None,
            constrained=None, grouping=None, relaxed=None, levels=None, layer_matting=None,
            subject=None, superpixels: np.ndarray | None = None, laplacian=None,
            eigensolver: Callable | None = None) -> SoftSegments:
    """Semantic soft segmentation of an image into `num_layers` soft layers.

    The stages after the feature network (superpixels, affinities,
    eigenvectors, constrained sparsification, grouping, relaxed
    sparsification and, for the multilevel method, the guided upsampling)
    run in the C++ core (``sss::segment``); each stage's parameters are an
    object of the core (:class:`sss.Params` and its parts), whose defaults
    are the reference's.

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
        :func:`sss.preprocess_features`; None runs the feature network
        :func:`sss.compute_features`.
    num_layers : int, optional
        Number of output layers (5).
    seed : int, optional
        Seed (>= 0) of the two k-means steps; the result is deterministic for
        it (``numpy.random.default_rng(seed)``'s draws, reproduced in C++).
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
        resized to at most ``levels.working_pixels`` pixels, with a smaller
        spectral basis (50 eigenvectors), 20 constrained iterations on a
        sampled energy and a looser eigensolver tolerance
        (:meth:`sss.Params.multilevel`); the layers are then carried to full
        resolution by :func:`sss.multilevel.guided_upsample`. Its cost is a
        fixed amount of work plus a few operations per pixel, and the layers
        do not depend on the photo's pixel count (see :mod:`sss.multilevel`).
        "reference": every stage on every pixel, as the authors'
        implementation (:meth:`sss.Params.reference`; cost grows faster than
        the pixel count).
    max_side : int, optional
        If given, the photo (and `features`) is first downsized
        (antialiased bicubic) so that its longer side is at most `max_side`
        pixels; the layers are returned at that size. The way to bound the
        memory of very large photos.
    num_threads : int, optional
        Threads (at most 4 per core). Default: all cores, except for the
        multilevel working level (stages 2-10), which runs on one thread
        unless `num_threads` is given. A count given also limits stages 10b
        and 11 (unless ``layer_matting`` / ``subject`` set their own
        ``num_threads``). The layers are bitwise the same for every thread
        count.
    channel_axis : int or None, optional
        Axis of `image` that holds the channels (-1; e.g. 0 for (C, H, W));
        None for a greyscale (H, W) image.
    model : path, optional
        An ONNX feature network to use instead of the shipped one when
        `features` is None (see :func:`sss.compute_features`).
    cues : sequence of str, optional
        Semantic cues appended to the network's features when `features` is
        None (:mod:`sss.cues`): by default ``("saliency",)``, a salient-object
        map, for "multilevel" and ``()`` for "reference" (which stays the
        authors' computation); ``()`` turns them off. Features passed as
        `features` are used as given (:func:`sss.append_cues` adds cues to
        them). The multilevel method also ends with a clean-up of near-0 and
        near-1 alpha, ``levels.alpha_cutoff`` (0.01; see
        :func:`sss.multilevel.clean_alphas`), and, when the saliency cue
        is on, with subject matting (stage 11,
        :func:`sss.subject_matting.matte_subject`): the boundary of the
        salient subject's layers matted at up to 640 x 480 pixels where the
        layers and the map disagree; ``subject=dict(enabled=False)`` turns
        it off alone.
    params : sss.Params, optional
        Every stage's parameters at once, used as given (`method`,
        `num_layers`, `seed` and `num_threads` of this call still apply).
        Default: ``sss.Params.reference()`` or ``sss.Params.multilevel()``.
    affinity, eigen, initial, constrained, grouping, relaxed, levels, layer_matting, subject : optional
        One stage's parameters: an :class:`sss.AffinityParams` (stages 2-6:
        superpixels, matting, semantic and colour affinities, Laplacian),
        :class:`sss.EigenParams` (stage 7), :class:`sss.InitialParams`
        (stage 8's k-means initialisation), :class:`sss.ConstrainedParams`
        (stage 8), :class:`sss.GroupingParams` (stage 9: k-means runs
        ``replicates``, and ``min_mass``, the fraction of the alpha below
        which a layer joins the nearest group instead of taking part),
        :class:`sss.RelaxedParams` (stage 10),
        :class:`sss.MultilevelParams` (working level and upsampling),
        :class:`sss.LayerMattingParams` (stage 10b, below) or
        :class:`sss.SubjectMattingParams` (stage 11, below), used as
        given; or a dict of some of its fields, which change the method's
        defaults only there, e.g. ``eigen=dict(tol=1e-8)``. Print one (e.g.
        ``sss.Params.multilevel().eigen``) to see its fields and defaults;
        docs/algorithm.md explains each.
    superpixels : (H, W) integer ndarray, optional
        Reference only: superpixel labels to use instead of computing SLIC.
    laplacian : sparse matrix or callable, optional
        Reference only: a ready (H*W, H*W) Laplacian, or a callable
        ``(image, features, labels) -> L`` replacing ``sss.affinity_laplacian``.
    eigensolver : callable, optional
        ``(L, k) -> (values, vectors)`` replacing :func:`smallest_eigenvectors`.

    Returns
    -------
    SoftSegments

    Raises
    ------
    ValueError, TypeError
        For bad arguments, before any work starts; see docs/reliability.md.
    MemoryError
        Before anything large is allocated, when the photo needs more memory
        than is available; the message gives the estimate and suggests
        `max_side`.
    Cancelled
        When the progress callback returned False.

    References
    ----------
    .. [1] Y. Aksoy, T.-H. Oh, S. Paris, M. Pollefeys, W. Matusik, "Semantic
           Soft Segmentation", ACM TOG 37(4) (SIGGRAPH), 2018.
    .. [2] K. He, J. Sun, "Fast Guided Filter", arXiv:1505.00996, 2015.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    image = as_photo(image, channel_axis=channel_axis)
    p = _segment_params(method, params, num_layers, seed, num_threads,
                        dict(affinity=affinity, eigen=eigen, initial=initial,
                             constrained=constrained, grouping=grouping, relaxed=relaxed,
                             levels=levels, layer_matting=layer_matting, subject=subject))
    cues = _DEFAULT_CUES[method] if cues is None else check_cues(cues)
    if max_side is not None:
        as_int(max_side, "max_side", minimum=3)
    _check_input_size(image, method, max_side, p.num_layers,
                      cue_networks=len(cues) if features is None else 0, params=p)
    img = check_segment_args(image, features, p, max_side)
    if max_side is not None:
        img, features = _limit_side(img, features, max_side)
    h, w = img.shape[:2]
    prog = Progress(progress)
    maps = {}  # cue maps of the feature stage; the saliency map also drives stage 11

    if method == "multilevel":
        if superpixels is not None or (laplacian is not None and not callable(laplacian)):
            raise ValueError("superpixels= and a ready laplacian= are pixel arrays of the full "
                             "photo: they work with method='reference' only")
        wh, ww = working_shape((h, w), p.levels.working_pixels)
        with prog.stage("features"):
            work, feat = _working_inputs(img, features, (wh, ww), p.levels.feature_pixels,
                                         num_threads, model, cues, maps)
    else:
        wh, ww = h, w
        work = img
        with prog.stage("features"):
            feat = _feature_stage(img, features, num_threads, model, cues)
    feat = np.ascontiguousarray(as_image(feat, name="features", channels=3))
    work = np.ascontiguousarray(work, dtype=np.float64)

    labels = None if superpixels is None else as_labels(superpixels, (wh, ww))
    lap = None
    if laplacian is not None:
        if callable(laplacian):
            with prog.stage("affinities"):
                L = laplacian(work, feat, labels)
        else:
            L = laplacian
        L = as_csr(L, name="laplacian", square=True)
        if L.shape[0] != wh * ww:
            raise ValueError(f"laplacian is {L.shape[0]} x {L.shape[0]}, expected "
                             f"{wh * ww} x {wh * ww}")
        L.sort_indices()
        lap = (np.ascontiguousarray(L.data, dtype=np.float64),
               np.ascontiguousarray(L.indices, dtype=np.int32),
               np.ascontiguousarray(L.indptr, dtype=np.int32))
    res = prog.run(lambda on_stage: _core.segment(
        img, work, feat, p, superpixels=labels, laplacian=lap,
        eigensolver=_checked_eigensolver(eigensolver), on_stage=on_stage,
        saliency=_saliency_input(maps, method)))
    flag, relres, _, run = res["last_cg"]
    if flag != 0 and relres > p.relaxed.tol:
        why = {1: "reached its iteration limit", 3: "stagnated", 4: "broke down"}.get(
            int(flag), f"stopped with flag {int(flag)}")
        warnings.warn(f"relaxed_sparsify: the last CG solve {why} after {int(run)} iterations "
                      f"with relative residual {relres:.3g} > tol={p.relaxed.tol}; the "
                      "layers are approximate", RuntimeWarning, stacklevel=2)
    k, m = np.shape(res["alphas"])[2], np.shape(res["initial_alphas"])[2]
    if k < p.num_layers:  # num_layers is an upper bound
        why = (f"only {m} of the initial.num_layers={p.initial.num_layers} initial layers "
               "survive the constrained sparsification (the others stay below "
               f"constrained.prune_threshold={p.constrained.prune_threshold:g} everywhere)"
               if m <= k else
               f"the {m} initial layers form only {k} distinct groups (layers of the same "
               "features, and those holding less than grouping.min_mass="
               f"{p.grouping.min_mass:g} of the photo, are merged)")
        warnings.warn(f"segment: {k} layers, fewer than num_layers={p.num_layers}: {why}",
                      UserWarning, stacklevel=2)
    if prog.enabled:
        print(f"[sss] total {sum(prog.timings.values()):.2f} s", file=sys.stderr, flush=True)
    return SoftSegments(alphas=res["alphas"], initial_alphas=res["initial_alphas"],
                        grouped_alphas=res["grouped_alphas"],
                        group_ids=np.asarray(res["group_ids"], dtype=np.intp),
                        eigenvalues=np.asarray(res["eigenvalues"]),
                        superpixels=res["superpixels"], features=feat,
                        timings=dict(prog.timings), peak_memory=dict(prog.peak_memory),
                        image=img, method=method, working_shape=tuple(res["working_shape"]),
                        matted_subject=tuple(int(k) for k in res["matted_subject"]))


def _saliency_input(maps, method):
    """The saliency cue's map as stage 11's input ((h, w, 1) float64), or None."""
    m = maps.get("saliency")
    if m is None or method != "multilevel":
        return None
    return np.ascontiguousarray(np.clip(m, 0, 1), dtype=np.float64)[:, :, None]


def default_params(method: str = "multilevel") -> Params:
    """The parameters :func:`segment` uses for `method` (a fresh copy)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return Params.for_method(method)


def _segment_params(method, params, num_layers, seed, num_threads, stages) -> Params:
    """The Params of one segment call: the method's defaults (or `params`),
    the per-stage objects or dicts, and the common knobs."""
    if params is None:
        p = default_params(method)
    elif isinstance(params, Params):
        p = copy.deepcopy(params)
    else:
        raise TypeError(f"params must be an sss.Params, got {type(params).__name__}")
    for name, value in stages.items():
        if value is None:
            continue
        current = getattr(p, name)
        if isinstance(value, dict):
            _update_fields(current, value, name)
        elif isinstance(value, type(current)):
            setattr(p, name, value)
        else:
            raise TypeError(f"{name} must be an sss.{type(current).__name__} or a dict of its "
                            f"fields, got {type(value).__name__}")
    p.method = method
    _set_field(p, "num_layers", as_int(num_layers, "num_layers", minimum=1), "num_layers")
    _set_field(p, "seed", as_int(seed, "seed", minimum=0), "seed")
    if num_threads is not None:
        p.num_threads = as_threads(num_threads)
        # the stages after the working level run on all cores (0) unless told
        # otherwise: a call's thread count limits them too
        for part in (p.layer_matting, p.subject):
            if part.num_threads == 0:
                part.num_threads = p.num_threads
    elif method == "reference":
        p.num_threads = 0
    return p


def _stage_params(cls, params, overrides: dict, path: str):
    """A copy of `params` (an instance of `cls`; None: its defaults) with the
    fields in `overrides` changed: the `params=` and `**overrides` of the
    stage functions (sss.matte_layers, sss.matte_subject, ...)."""
    if params is None:
        p = cls()
    elif isinstance(params, cls):
        p = copy.deepcopy(params)
    else:
        raise TypeError(f"params must be an sss.{cls.__name__}, got {type(params).__name__}")
    _update_fields(p, overrides, path)
    return p


def _update_fields(obj, values: dict, path: str) -> None:
    """Set the fields of a parameter object from a dict (nested dicts update
    nested objects); errors name the dotted field."""
    for key, v in values.items():
        if key not in obj._fields():
            raise TypeError(f"{path}: {type(obj).__name__} has no field {key!r}; its fields "
                            f"are {', '.join(obj._fields())}")
        if isinstance(v, dict) and hasattr(getattr(obj, key), "_fields"):
            _update_fields(getattr(obj, key), v, f"{path}.{key}")
            continue
        _set_field(obj, key, v, f"{path}.{key}")


def _set_field(obj, key: str, value, name: str) -> None:
    """``setattr(obj, key, value)`` on a core parameter object, with errors
    naming `name`; an integer too large for the core's field (pybind11's
    "incompatible function arguments") is a ValueError giving the limit."""
    try:
        setattr(obj, key, value)
    except (TypeError, ValueError) as e:
        if "incompatible function arguments" not in str(e):
            raise type(e)(f"{name}: {e}") from None
        old = getattr(obj, key)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            limit = None  # the largest of these the field takes
            for bound in ((1 << 31) - 1, (1 << 63) - 1, (1 << 64) - 1):
                try:
                    setattr(obj, key, bound)
                    limit = bound
                except TypeError:
                    break
            setattr(obj, key, old)
            if limit is not None and int(value) > limit:
                raise ValueError(f"{name} must be at most {limit}, got {int(value)}") from None
        kind = {bool: "True or False", int: "an integer", float: "a real number",
                str: "a string"}.get(type(old), "of another type")
        raise TypeError(f"{name} must be {kind}, got {type(value).__name__} "
                        f"{value!r}") from None


def _checked_eigensolver(fn):
    """A user eigensolver's results as the core needs them (float64, (k,) and (N, k))."""
    if fn is None:
        return None

    def call(L, k):
        values, vectors = fn(L, k)
        values = np.ascontiguousarray(values, dtype=np.float64).ravel()
        vectors = np.asfortranarray(vectors, dtype=np.float64)
        if vectors.ndim != 2 or vectors.shape != (L.shape[0], values.shape[0]):
            raise ValueError(f"eigensolver returned values {values.shape} and vectors "
                             f"{vectors.shape}; expected (k,) and ({L.shape[0]}, k)")
        return values, vectors
    return call


def _limit_side(img, features, max_side):
    """Downsize `img` (and full-size `features`) so the longer side is <= max_side."""
    h, w = img.shape[:2]
    nh, nw = limited_shape(h, w, max_side)
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


def _check_input_size(image, method, max_side, num_layers, cue_networks=0,
                      params: Params | None = None):
    """Refuse, before any large allocation, a photo that cannot fit in memory
    (`cue_networks`: how many cue networks will run besides the feature network;
    `params`: the run's, for whether stage 10b runs)."""
    shape = getattr(image, "shape", None)
    if shape is None or len(shape) != 3:
        return  # as_image gives the precise error
    h, w = int(shape[0]), int(shape[1])
    ph, pw = limited_shape(h, w, max_side)
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
        # working level) + ~400 MB per cue network (the saliency network's activations at
        # 320 x 320 and onnxruntime's arena for them); the saliency cue also drives
        # stage 11: ~4 bytes a pixel (its matte) + ~150 MB (the matting level's system);
        # stage 10b, where the layers are upsampled: ~800 bytes a pixel of its matting
        # level (two layers' systems at once; ~250 MB at 640 x 480)
        p = params if params is not None else default_params(method)
        matted = p.layer_matting.enabled and n > p.levels.working_pixels
        need = (n * (72 + 4 * k + 4 * cue_networks) + 3e8
                + 800 * min(n, p.layer_matting.max_pixels) * matted
                + 5.5e8 * cue_networks + extra)
    else:
        # Laplacian (~38 nonzeros a row), the eigensolver's factor (~180 a row at
        # 640 x 480, growing with the pixel count) and its basis of 300 vectors
        fill = 180 * math.sqrt(max(n, 1) / 307200.0)
        need = n * (38 * 12 + fill * 12 + 300 * 8 + 41 * 8 * 3) + extra
    try:
        check_memory(need, f"segmenting a {w} x {h} photo" + (
            "" if (ph, pw) == (h, w) else f" at {pw} x {ph} (max_side={max_side})")
            + f" (method={method!r})")
    except MemoryError as e:
        way = ("Pass max_side= (the CLI's --max-side) to segment a smaller copy"
               if (ph, pw) == (h, w) else
               f"Pass a smaller max_side (the CLI's --max-side) than {max_side}")
        raise MemoryError(f"{e}. {way}" + (
            "" if method == "multilevel" else ", or method='multilevel'")) from None


def _working_inputs(img, features, work_shape, feature_pixels, num_threads, model=None,
                    cues=(), maps=None):
    """The photo and its 3-D features at the working resolution; the cue maps
    computed on the way (at the feature network's size) are put in `maps`."""
    h, w = img.shape[:2]
    wh, ww = work_shape
    if features is None:
        fh, fw = working_shape((h, w), feature_pixels)
        src = img if (fh, fw) == (h, w) else np.clip(resize(img, fh, fw, method="bicubic"), 0, 1)
        # the working image from the (smaller) network copy: one pass over a large photo
        work = src if (wh, ww) == src.shape[:2] else resize(src, wh, ww, method="bicubic")
        raw = compute_features(src, **_network_kwargs(num_threads, model))
        if cues:
            raw = append_cues(raw, src, cues, num_threads=num_threads, maps=maps)
        if raw.shape[:2] != (wh, ww):
            raw = resize(raw, wh, ww, method="bilinear").astype(np.float32)
        return work, preprocess_features(raw, np.clip(work, 0, 1))
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
        ``alphas`` are the raw layers of the file (``alphas``, as segment
        returned them) when they are stored at the photo's size, else its
        normalised full-size layers (``layer_alphas``); the photo
        (``image``), the method, the working level's shape and the
        intermediate arrays come back when the file holds them (files written
        before they were stored have no photo: ``colors``, ``composite`` and
        ``save`` then raise). Saving a loaded result writes the same npz, and
        image files equal to the first save's up to one level in rare pixels
        (the photo is stored in float32).

    Raises
    ------
    FileNotFoundError
        For a missing path.
    ValueError
        For a folder without (or with several) result files, or a file that
        is not such a result: not an .npz (zip) file, truncated or corrupt,
        without the ``layer_alphas`` array, or with layers that are empty or
        hold NaN or infinite values. The message names the file and the
        problem.
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
    unreadable = f"{p}: not a readable .npz file"
    try:
        with open(p, "rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise ValueError(f"{unreadable} ({e})") from None
    # what np.load takes for an .npz: a zip's first local header, or the end of
    # an empty zip; anything else it would read as one .npy array or a pickle
    if magic not in (b"PK\x03\x04", b"PK\x05\x06"):
        what = ("the file is empty" if not magic else
                "it holds one .npy array" if magic.startswith(b"\x93NUM") else
                "it is not a zip archive")
        raise ValueError(f"{unreadable}: {what} (a result is the NAME_alphas.npz zip archive "
                         "that SoftSegments.save and sss segment write)")
    # a truncated or damaged file fails in zipfile (BadZipFile, EOFError), zlib
    # (zlib.error) or numpy's .npy header parser (ValueError, even a
    # tokenize.TokenError) depending on where it is cut: any error but running
    # out of memory is the file's
    try:
        z = np.load(p, allow_pickle=False)
    except MemoryError:
        raise
    except Exception as e:
        raise ValueError(f"{unreadable}: truncated or corrupt ({type(e).__name__}: {e})") \
            from None
    with z:
        if "layer_alphas" not in z.files:
            raise ValueError(f"{p}: not a result written by SoftSegments.save or sss segment "
                             "(it has no 'layer_alphas')")
        try:
            get = {k: z[k] for k in z.files}
        except MemoryError:
            raise
        except Exception as e:
            raise ValueError(f"{unreadable}: an array in it cannot be read, the file may be "
                             f"truncated or corrupt ({type(e).__name__}: {e})") from None

    def numbers(key):  # a numeric array, or a ValueError naming the file
        a = get[key]
        if not isinstance(a, np.ndarray) or a.dtype.kind not in "biuf":
            kind = a.dtype if isinstance(a, np.ndarray) else "not an .npy array"
            raise ValueError(f"{p}: {key} must be an array of numbers, got {kind}")
        return a

    alphas = np.asarray(numbers("layer_alphas"), dtype=np.float32)
    if alphas.ndim != 3:
        raise ValueError(f"{p}: layer_alphas must be (H, W, K), got shape {alphas.shape}")
    if alphas.size == 0:
        raise ValueError(f"{p}: layer_alphas is empty (shape {alphas.shape})")
    if not np.all(np.isfinite(alphas)):
        raise ValueError(f"{p}: layer_alphas holds NaN or infinite values (a corrupt file)")
    image = get.get("image")
    if image is not None:
        image = np.asarray(numbers("image"), dtype=np.float64)
        if image.shape != alphas.shape[:2] + (3,):
            raise ValueError(f"{p}: image of shape {image.shape} does not match the layers "
                             f"{alphas.shape}")
        if not np.all(np.isfinite(image)):
            raise ValueError(f"{p}: image holds NaN or infinite values (a corrupt file)")
    # the raw layers as segment returned them, when stored at the same size (the
    # command line stores them at the size segment ran at, which --max-side makes
    # smaller): saving the result again then writes the same layers
    raw = get.get("alphas")
    if isinstance(raw, np.ndarray) and raw.shape == alphas.shape and raw.dtype.kind == "f" \
            and np.all(np.isfinite(raw)):
        alphas = np.asarray(raw, dtype=np.float32)
    empty = np.zeros((0, 0, 0), np.float32)
    ws = get.get("working_shape")
    icc = get.get("icc_profile")
    exif = get.get("exif")
    try:
        return SoftSegments(
            alphas=alphas, initial_alphas=get.get("initial_alphas", empty),
            grouped_alphas=get.get("grouped_alphas", empty),
            group_ids=get.get("group_ids", np.zeros(0, int)),
            eigenvalues=get.get("eigenvalues", np.zeros(0)),
            superpixels=get.get("superpixels"), features=get.get("features"),
            image=image, method=str(get["method"]) if "method" in get else "reference",
            working_shape=tuple(int(v) for v in ws) if ws is not None else alphas.shape[:2],
            icc_profile=(bytes(np.asarray(icc, dtype=np.uint8)) if icc is not None and icc.size
                         else None),
            exif=(bytes(np.asarray(exif, dtype=np.uint8)) if exif is not None and exif.size
                  else None))
    except (TypeError, ValueError, AttributeError) as e:  # a malformed optional array
        raise ValueError(f"{p}: not a result written by SoftSegments.save or sss segment "
                         f"({type(e).__name__}: {e})") from None
