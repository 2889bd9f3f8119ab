"""Semantic cues beside the feature network: a salient-object map.

The feature network (:func:`sss.compute_features`) describes what each pixel
looks like; it does not say which region is *the* subject of the photo. On
photos where the subject has the colour of its surroundings (a blond doll in
front of a wooden hut, green hair in front of foliage) the layers then follow
colour and the subject shares a layer with the background. A salient-object
network answers exactly that question, and its map is appended to the raw
features as extra channels before preprocessing (stage 1), so that it acts
through the semantic affinity and the layer initialisation like any other
feature direction.

The map is the network's own probability (a sigmoid output), not rescaled per
photo. When a photo has no salient object (a landscape, a texture) the map is
close to zero everywhere: the appended channels are then nearly constant, carry
no variance into the feature PCA, and the cue falls away by itself instead of
forcing a split.

Available cues (``CUES``):

``"saliency"``
    U2-Net-P salient-object detection (Qin et al. 2020), 4.6 MB, shipped as
    ``models/u2netp.onnx`` (source, licence and hash in models/README.md).

References
----------
.. [1] X. Qin, Z. Zhang, C. Huang, M. Dehghan, O. R. Zaiane, M. Jagersand,
       "U2-Net: Going deeper with nested U-structure for salient object
       detection", Pattern Recognition 106, 2020.
.. [2] Aksoy et al., "Semantic Soft Segmentation", SIGGRAPH 2018, Sec. 3.4.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from ._validation import as_float, as_image, as_int, as_threads, check_finite_result
from .features import session_options, shipped_model_path

__all__ = ["CUES", "saliency_map", "append_cues", "check_cues", "cue_confidence",
           "SALIENCY_MODEL"]

CUES = ("saliency",)
SALIENCY_MODEL = "u2netp.onnx"
_SALIENCY_SIDE = 320                     # the network's training resolution
_MEAN = np.array([0.485, 0.456, 0.406], np.float32)   # ImageNet normalisation
_STD = np.array([0.229, 0.224, 0.225], np.float32)

_SESSIONS: dict = {}
_LOCK = threading.Lock()


def _model_path(name: str) -> Path:
    return shipped_model_path(name, "pass cues=()")


def _session(num_threads: int):
    path = _model_path(SALIENCY_MODEL)
    key = (str(path), num_threads)
    with _LOCK:
        s = _SESSIONS.get(key)
        if s is None:
            import onnxruntime as ort
            s = ort.InferenceSession(str(path), sess_options=session_options(num_threads),
                                     providers=["CPUExecutionProvider"])
            _SESSIONS[key] = s
    return s


def check_cues(cues) -> tuple[str, ...]:
    """Validate a cue selection: None, a cue name, or a sequence of names."""
    if cues is None:
        return ()
    if isinstance(cues, str):
        cues = (cues,)
    try:
        out = tuple(cues)
    except TypeError:
        raise TypeError(f"cues must be a sequence of cue names from {CUES} (or () for none), "
                        f"got {type(cues).__name__}") from None
    for c in out:
        if not isinstance(c, str) or c not in CUES:
            raise ValueError(f"unknown cue {c!r}; available cues: {', '.join(CUES)} "
                             "(pass cues=() for none)")
    if len(set(out)) != len(out):
        raise ValueError(f"cues lists a cue twice: {out}")
    return out


def saliency_map(image: np.ndarray, *, num_threads: int | None = None) -> np.ndarray:
    """Probability that each pixel belongs to the photo's salient object.

    The photo is resized to 320 x 320 (the network's training size; bilinear),
    normalised with ImageNet statistics, and the first U2-Net-P output (a
    sigmoid probability) is resized back bilinearly to the photo's size.

    Parameters
    ----------
    image : (H, W, 3) ndarray
        RGB photo; uint8 / uint16 are scaled to [0, 1], float is taken as it is.
        Not modified.
    num_threads : int, optional
        onnxruntime intra-op threads; default all cores.

    Returns
    -------
    saliency : (H, W) float32 ndarray in [0, 1]
        Not rescaled per photo: a photo without a salient object gives a map
        close to zero everywhere.

    References
    ----------
    .. [1] X. Qin et al., "U2-Net: Going deeper with nested U-structure for
           salient object detection", Pattern Recognition 106, 2020.
    """
    from .io import resize

    img = as_image(image, name="image", channels=3)
    nt = as_threads(num_threads)
    h, w = img.shape[:2]
    x = np.clip(resize(img, _SALIENCY_SIDE, _SALIENCY_SIDE, method="bilinear"), 0, 1)
    x = ((x.astype(np.float32) - _MEAN) / _STD).transpose(2, 0, 1)[None]
    s = _session(nt)
    y = s.run(None, {s.get_inputs()[0].name: np.ascontiguousarray(x, dtype=np.float32)})[0]
    y = np.asarray(y[0, 0], dtype=np.float64)
    out = resize(y[:, :, None], h, w, method="bilinear")[:, :, 0]
    return check_finite_result(np.clip(out, 0, 1).astype(np.float32), "saliency_map")


def cue_confidence(cue_map: np.ndarray, *, certain: float = 0.1,
                   uncertain: float = 0.2) -> float:
    """How decided a cue map is: 1 for a clear figure/ground map, 0 for a vague one.

    The map's mean uncertainty ``u = mean(4 m (1 - m))`` is 0 where the map is
    0 or 1 and 1 where it is 0.5 everywhere. Confidence is 1 for ``u <=
    certain``, 0 for ``u >= uncertain`` and linear in between. On the 14
    photos it was set on, clear subjects give u = 0.02-0.10 and the two maps
    that pick no object cleanly give 0.19 (a cat's face filling the frame) and
    0.23 (a bonsai in front of clutter, where the map picks the clutter).

    Parameters
    ----------
    cue_map : ndarray
        Values in [0, 1].
    certain, uncertain : float
        The two ends of the linear ramp, in units of u.

    Returns
    -------
    float in [0, 1]
    """
    m = np.asarray(cue_map, dtype=np.float64)
    u = float(np.mean(4.0 * m * (1.0 - m))) if m.size else 1.0
    if not uncertain > certain:
        raise ValueError(f"uncertain ({uncertain}) must be larger than certain ({certain})")
    return float(np.clip((uncertain - u) / (uncertain - certain), 0.0, 1.0))


def append_cues(features: np.ndarray, image: np.ndarray, cues=CUES, *,
                weight: float = 3.0, channels: int = 4,
                num_threads: int | None = None, maps: dict | None = None) -> np.ndarray:
    """Append cue maps to raw features as extra channels (before preprocessing).

    Each cue map ``m`` in [0, 1] becomes `channels` identical channels
    ``weight * c * s * (m - 0.5)``, where ``s`` is the standard deviation of
    the strongest raw feature channel and ``c`` the map's
    :func:`cue_confidence`: a vague map (the network did not find one clear
    object) fades out instead of forcing a split. `channels` copies give the cue that many
    dimensions' worth of weight in the feature PCA (preprocessing keeps the
    directions of largest variance), `weight` sets its scale against the
    network's features.

    Parameters
    ----------
    features : (H, W, D) ndarray
        Raw features, e.g. from :func:`sss.compute_features`. Not modified.
    image : (H, W, 3) ndarray
        The photo the features belong to.
    cues : sequence of str
        Cue names from ``CUES``; empty returns `features` unchanged.
    weight : float
        Cue scale in units of the strongest feature channel's standard
        deviation (3). Weights 3 to 8 score the same on matting_dev's
        ground truth; above 3 the cue also moves parts of the background
        between layers (rocket's lit ground), away from the reference
        method's layers (docs/cues.md).
    channels : int
        Copies of each cue map (4).
    num_threads : int, optional
        Threads for the cue networks.
    maps : dict, optional
        Cue maps already computed for `image` (name -> (H, W) map), used
        instead of running their network again; the maps computed here are
        added to it.

    Returns
    -------
    features : (H, W, D + channels * len(cues)) float32 ndarray
    """
    cues = check_cues(cues)
    feats = as_image(features, name="features", channels=None)
    img = as_image(image, name="image", channels=3)
    if feats.shape[:2] != img.shape[:2]:
        raise ValueError(f"features of {feats.shape[0]} x {feats.shape[1]} pixels do not match "
                         f"the image's {img.shape[0]} x {img.shape[1]}")
    weight = as_float(weight, "weight", minimum=0.0)
    channels = as_int(channels, "channels", minimum=1)
    if not cues:
        return features
    scale = float(feats.reshape(-1, feats.shape[2]).std(axis=0).max())
    if not np.isfinite(scale) or scale <= 0:
        scale = 1.0
    parts = [np.asarray(feats, dtype=np.float32)]
    for c in cues:
        if maps is not None and c in maps:
            m = np.asarray(maps[c], dtype=np.float32)
            if m.shape != img.shape[:2]:
                raise ValueError(f"maps[{c!r}] of shape {m.shape} does not match the image's "
                                 f"{img.shape[0]} x {img.shape[1]} pixels")
        elif c == "saliency":
            m = saliency_map(img, num_threads=num_threads)
        if maps is not None:
            maps[c] = m
        c_map = (weight * cue_confidence(m) * scale * (m - 0.5)).astype(np.float32)
        parts.extend([c_map[:, :, None]] * channels)
    return np.concatenate(parts, axis=2)
