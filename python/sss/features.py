"""Stage 1: semantic features and their preprocessing.

``compute_features(image)`` runs the embedded feature network (an ONNX model,
executed with onnxruntime, fully offline) and returns raw D-dimensional
per-pixel features. ``preprocess_features(features, image)`` turns raw
features into the 3-D features the rest of the pipeline uses (docs/algorithm.md, stage 1:
clip, guided filter, PCA to 3, rescale to [0, 1]).

Feature model contract
----------------------
Any ONNX file that follows this contract can be passed as ``model=`` (for
example a stronger semantic segmentation network):

- exactly one input, float32, shape ``(1, 3, H, W)`` (H and W may be fixed
  or symbolic): an RGB image with values in [0, 1], H and W multiples of 32.
  The model does its own normalisation.
- at least one output; the first is used: float32, shape ``(1, D, H/s, W/s)``
  for a whole stride s >= 1 (the same along both axes) and any D >= 1.

``compute_features`` pads the image (mirror) to multiples of 32, runs the model,
upsamples the output bilinearly by s and crops it to the input size.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from ._validation import as_float, as_image, as_int, as_threads, check_finite_result, \
    check_memory

__all__ = ["compute_features", "preprocess_features", "default_model_path",
           "MODEL_CONTRACT", "DEFAULT_MODEL"]

DEFAULT_MODEL = "efficientnet_lite0_hypercolumn.onnx"
MODEL_CONTRACT = ("feature model contract: one float32 input of shape (1, 3, H, W) holding an "
                  "RGB image in [0, 1] with H and W multiples of 32, and a float32 first output "
                  "of shape (1, D, H/s, W/s) for a whole stride s >= 1 (see sss.features)")
_PAD = 32


# ------------------------------------------------------------------------ model loading
def shipped_model_path(name: str, way_out: str) -> Path:
    """Path of the model file `name` shipped with the package.

    Installed packages carry it as ``sss/models/<name>``; in a source
    checkout (``PYTHONPATH=python``) it is ``models/<name>`` at the root.
    `way_out` ends the error message when it is missing (e.g. "pass model=").
    """
    here = Path(__file__).resolve().parent
    for p in (here / "models" / name, here.parents[1] / "models" / name):
        if p.is_file():
            return p
    raise FileNotFoundError(
        f"the model {name} is not installed (looked in {here / 'models'} and "
        f"{here.parents[1] / 'models'}); reinstall sss or {way_out}")


def default_model_path() -> Path:
    """Path of the feature model shipped with the package (see
    :func:`shipped_model_path`)."""
    return shipped_model_path(DEFAULT_MODEL, "pass model=")


def session_options(num_threads: int):
    """onnxruntime options for sss's networks: `num_threads` intra-op threads,
    sequential, full graph optimisation, quiet, no idle spinning."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = num_threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    # do not keep idle threads spinning (the machine may be shared)
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


class _Model:
    """An onnxruntime session whose input/output match MODEL_CONTRACT."""

    def __init__(self, path: Path, num_threads: int):
        try:
            import onnxruntime as ort
        except ImportError as e:  # pragma: no cover - onnxruntime is a dependency
            raise ImportError("sss.compute_features needs onnxruntime (pip install onnxruntime)") from e
        opts = session_options(num_threads)
        try:
            self.session = ort.InferenceSession(str(path), sess_options=opts,
                                                providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise ValueError(f"{path} could not be loaded as an ONNX model ({type(e).__name__}: "
                             f"{str(e).strip()[:300]}); expected a {MODEL_CONTRACT}") from None
        inputs = self.session.get_inputs()
        outputs = self.session.get_outputs()
        if len(inputs) != 1:
            raise ValueError(f"{path} has {len(inputs)} inputs "
                             f"({', '.join(i.name for i in inputs)}); expected a {MODEL_CONTRACT}")
        inp = inputs[0]
        if inp.type != "tensor(float)":
            raise ValueError(f"{path}: input '{inp.name}' has type {inp.type}, not float32; "
                             f"expected a {MODEL_CONTRACT}")
        shape = list(inp.shape)
        if len(shape) != 4 or not _dim_ok(shape[0], 1) or not _dim_ok(shape[1], 3):
            raise ValueError(f"{path}: input '{inp.name}' has shape {_fmt(shape)}, not (1, 3, H, W); "
                             f"expected a {MODEL_CONTRACT}")
        self.fixed_hw = tuple(d if isinstance(d, int) else None for d in shape[2:])
        for d in self.fixed_hw:
            if d is not None and d % _PAD:
                raise ValueError(f"{path}: input '{inp.name}' has fixed shape {_fmt(shape)} whose "
                                 f"H, W are not multiples of 32; expected a {MODEL_CONTRACT}")
        if not outputs:
            raise ValueError(f"{path} has no outputs; expected a {MODEL_CONTRACT}")
        out = outputs[0]
        if out.type != "tensor(float)":
            raise ValueError(f"{path}: output '{out.name}' has type {out.type}, not float32; "
                             f"expected a {MODEL_CONTRACT}")
        oshape = list(out.shape) if out.shape is not None else None
        if oshape is not None and (len(oshape) != 4 or not _dim_ok(oshape[0], 1)):
            raise ValueError(f"{path}: output '{out.name}' has shape {_fmt(oshape)}, not "
                             f"(1, D, H/s, W/s); expected a {MODEL_CONTRACT}")
        self.input_name, self.output_name = inp.name, out.name
        self.path = path

    def run(self, x: np.ndarray) -> np.ndarray:
        """Run the network on a worker thread so that Ctrl-C in the calling
        thread stops it (onnxruntime's RunOptions.terminate) and raises
        KeyboardInterrupt once the worker has ended."""
        import onnxruntime as ort

        opts = ort.RunOptions()
        box: dict = {}

        def work():
            try:
                box["y"] = self.session.run([self.output_name], {self.input_name: x},
                                            run_options=opts)[0]
            except BaseException as e:  # handed to the calling thread
                box["error"] = e

        worker = threading.Thread(target=work, name="sss-features", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.05)
        except KeyboardInterrupt:
            opts.terminate = True
            worker.join()
            raise
        e = box.get("error")
        if e is None:
            return box["y"]
        try:
            raise e
        except Exception as e:
            raise ValueError(f"{self.path} failed on an input of shape {x.shape} "
                             f"({type(e).__name__}: {str(e).strip()[:300]}); expected a "
                             f"{MODEL_CONTRACT}") from None


def _dim_ok(d, value: int) -> bool:
    return not isinstance(d, int) or d == value


def _fmt(shape) -> str:
    return "(" + ", ".join(str(d) if d is not None else "?" for d in shape) + ")"


_CACHE: dict = {}
_CACHE_LOCK = threading.Lock()


def _load(model, num_threads: int) -> _Model:
    if model is None:
        path = default_model_path()
    elif isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if not path.exists():
            raise FileNotFoundError(f"feature model file {path} does not exist")
        if not path.is_file():
            kind = "a directory" if path.is_dir() else "not a regular file (e.g. a pipe or device)"
            raise ValueError(f"feature model {path} is {kind}; model must be the path of an "
                             "ONNX file")
    else:
        raise TypeError(f"model must be a path to an ONNX file or None, got {type(model).__name__}")
    path = path.resolve()
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size, num_threads)
    with _CACHE_LOCK:
        m = _CACHE.get(key)
        if m is None:
            m = _Model(path, num_threads)
            if len(_CACHE) >= 4:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = m
    return m


# ------------------------------------------------------------------------ resizing
def _linear_weights(n_out: int, scale: int, n_in: int):
    """Source indices and weights of half-pixel-centred linear upsampling by `scale`
    (the same as torch/onnx 'bilinear', align_corners=False), edges clamped."""
    x = (np.arange(n_out) + 0.5) / scale - 0.5
    x = np.clip(x, 0.0, None)
    i0 = np.minimum(np.floor(x).astype(np.intp), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    t = (x - i0).astype(np.float32)
    return i0, i1, t


def _upsample(y: np.ndarray, scale: int, h: int, w: int) -> np.ndarray:
    """(D, h_in, w_in) -> (h, w, D) float32, bilinear upsampling by `scale`, cropped.

    Columns are interpolated on the low-resolution rows, then rows with a sparse
    (h x h_in) interpolation matrix, which writes the (h, w, D) result in one pass.
    """
    import scipy.sparse as sp

    D, h_in, w_in = y.shape
    y = np.ascontiguousarray(y.transpose(1, 2, 0))  # (h_in, w_in, D)
    if scale == 1:
        return np.ascontiguousarray(y[:h, :w])
    c0, c1, tc = _linear_weights(w, scale, w_in)
    tc = tc[None, :, None]
    a = y[:, c0] * (1 - tc)
    a += y[:, c1] * tc                                     # (h_in, w, D)
    r0, r1, tr = _linear_weights(h, scale, h_in)
    rows = np.arange(h)
    R = sp.csr_matrix((np.concatenate([1 - tr, tr]), (np.concatenate([rows, rows]),
                                                       np.concatenate([r0, r1]))),
                      shape=(h, h_in), dtype=np.float32)  # duplicates (edges) are summed
    out = R @ a.reshape(h_in, w * D)
    return np.ascontiguousarray(out, dtype=np.float32).reshape(h, w, D)


# ------------------------------------------------------------------------ public API
def compute_features(image: np.ndarray, model: str | os.PathLike | None = None, *,
                     num_threads: int | None = None) -> np.ndarray:
    """Per-pixel semantic features from the embedded (or a given) ONNX network.

    Parameters
    ----------
    image : (H, W, 3) ndarray
        RGB image. uint8 / uint16 are scaled to [0, 1]; float images are taken
        as they are (nominally in [0, 1]). Not modified.
    model : path, optional
        An ONNX file that follows the feature model contract in the module
        docstring (``sss.features.MODEL_CONTRACT``). Default: the model shipped
        with the package, EfficientNet-Lite0 ImageNet hypercolumns (D = 32,
        stride 4; see models/README.md).
    num_threads : int, optional
        onnxruntime intra-op threads; default all cores.

    Returns
    -------
    features : (H, W, D) float32 ndarray
        Raw features, to be reduced by :func:`preprocess_features`.

    Raises
    ------
    TypeError, ValueError
        For a bad image (see ``sss._validation.as_image``), a file that is not
        an ONNX model, or a model that does not follow the contract.
    FileNotFoundError
        If `model` does not exist.

    References
    ----------
    .. [1] Aksoy et al., "Semantic Soft Segmentation", SIGGRAPH 2018, Sec. 3.4
           (the authors' network is not available; see models/README.md).
    .. [2] M. Tan, Q. Le, "EfficientNet: Rethinking Model Scaling for
           Convolutional Neural Networks", ICML 2019 (Lite variants, 2020).
    """
    nt = as_threads(num_threads)
    img = as_image(image, name="image", channels=3)
    m = _load(model, nt)
    h, w = img.shape[:2]
    H = -(-h // _PAD) * _PAD
    W = -(-w // _PAD) * _PAD
    fh, fw = m.fixed_hw
    if (fh is not None and fh != H) or (fw is not None and fw != W):
        raise ValueError(f"{m.path} takes only {fh} x {fw} inputs but the padded image is "
                         f"{H} x {W}; expected a {MODEL_CONTRACT} with dynamic H, W")
    check_memory(H * W * 3 * 4 * 8, "compute_features")
    x = img.astype(np.float32).transpose(2, 0, 1)
    if (H, W) != (h, w):
        x = np.pad(x, ((0, 0), (0, H - h), (0, W - w)), mode="symmetric")
    y = m.run(np.ascontiguousarray(x[None]))
    if not isinstance(y, np.ndarray) or y.dtype != np.float32 or y.ndim != 4 or y.shape[0] != 1:
        raise ValueError(f"{m.path} returned {getattr(y, 'dtype', type(y))} of shape "
                         f"{getattr(y, 'shape', '?')}; expected a {MODEL_CONTRACT}")
    _, D, oh, ow = y.shape
    if D < 1 or oh < 1 or ow < 1 or H % oh or W % ow or H // oh != W // ow:
        raise ValueError(f"{m.path} returned features of shape {y.shape} for an input of "
                         f"shape (1, 3, {H}, {W}), which is not (1, D, H/s, W/s) for a whole "
                         f"stride s; expected a {MODEL_CONTRACT}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{m.path} returned NaN or infinite features")
    check_memory(h * w * D * 4 * 3, "compute_features (upsampling)")
    return _upsample(y[0], H // oh, h, w)


def preprocess_features(features: np.ndarray, image: np.ndarray, *,
                        clip: float = 5.0, neighborhood_size: int = 10,
                        degree_of_smoothing: float = 0.01, num_components: int = 3,
                        num_threads: int | None = None) -> np.ndarray:
    """Reduce raw D-dimensional features to the 3-D features of the pipeline.

    Stage 1 of docs/algorithm.md, as the reference's ``preprocessFeatures``: clip to
    [-clip, clip]; guided-filter every channel with the RGB image as the guide
    (MATLAB ``imguidedfilter(F, I, 'NeighborhoodSize', 10)`` with the default
    DegreeOfSmoothing 0.01); PCA to `num_components` (top eigenvectors of the
    feature covariance after mean removal); rescale each component to [0, 1]
    by its min and max.

    The guided filter (He et al.) is built from O(N) box means with MATLAB's
    conventions: an even neighbourhood size n spans offsets -(n-1)//2 .. n//2
    around a pixel (-4..+5 for n = 10; MATLAB's kernel centre is
    floor((n+1)/2)), and the image is padded by repeating its edge pixels
    ('replicate').

    The guides are the authors': their code calls ``imguidedfilter`` on
    groups of three feature channels with the RGB image, and for equal channel
    counts MATLAB filters channel c of the group with image channel c alone as
    a grey-level guide; the D mod 3 remaining channels are filtered one by one
    with the colour guided filter (3x3 colour covariance). All D channels are
    filtered, then reduced by PCA. On docia (320x320, the default model), k-means
    on the result agrees with k-means on the authors' features with ARI 0.826.

    Parameters
    ----------
    features : (H, W, D) ndarray, float32 or float64
        Raw features, e.g. from :func:`compute_features`. Not modified.
    image : (H, W, 3) ndarray
        The RGB guide image in [0, 1] (uint8/uint16 are scaled).
    clip : float, optional
        Features are clipped to [-clip, clip] first (5 in the reference).
    neighborhood_size : int, optional
        Side of the guided filter's square window, in pixels (10).
    degree_of_smoothing : float, optional
        Guided filter regulariser epsilon, added to the guide's 3x3 window
        covariance (0.01 = MATLAB's default for images in [0, 1]).
    num_components : int, optional
        Output dimension (3).
    num_threads : int, optional
        Threads; default all cores.

    Returns
    -------
    features3 : (H, W, num_components) float64 ndarray
        Each component scaled to [0, 1] (a constant component becomes 0).
        Component signs are fixed so that the largest loading is positive.

    References
    ----------
    .. [1] Aksoy et al., "Semantic Soft Segmentation", SIGGRAPH 2018, Sec. 3.4.
    .. [2] K. He, J. Sun, X. Tang, "Guided Image Filtering", IEEE TPAMI 35(6), 2013.
    """
    from . import _core

    feats = as_image(features, name="features", channels=None)
    img = as_image(image, name="image", channels=3)
    if feats.shape[:2] != img.shape[:2]:
        raise ValueError(f"features of shape {feats.shape} and image of shape {img.shape} "
                         "must have the same height and width")
    D = feats.shape[2]
    k = as_int(num_components, "num_components")
    if k < 1 or k > D:
        raise ValueError(f"num_components must be between 1 and the feature dimension {D}, got {k}")
    clip = as_float(clip, "clip", minimum=0.0, strict_minimum=True)
    n = as_int(neighborhood_size, "neighborhood_size", minimum=1)
    eps = as_float(degree_of_smoothing, "degree_of_smoothing", minimum=0.0, strict_minimum=True)
    nt = as_threads(num_threads)
    npx = img.shape[0] * img.shape[1]
    check_memory(npx * 8 * (D * 3 + 30), "preprocess_features")
    return check_finite_result(_core.preprocess_features(feats, img, clip, n, eps, k, nt),
                               "preprocess_features")
