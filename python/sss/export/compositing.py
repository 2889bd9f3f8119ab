"""8- and 16-bit layers that recompose the photo, and their composites.

Every function here works with 8-bit levels (uint8, 0..255; the default) or,
with ``bits=16``, 16-bit levels (uint16, 0..65535) for photos of more than 8
bits per channel: the same computation with 65535 in the place of 255, so
the rounding errors below shrink 257-fold.

Two compositing rules, both exact up to the rounding to levels:

Additive (:func:`layer_rgba`, the ``NAME_layer{i}.png`` files)
    The soft segments are additive: ``photo = sum_i a_i * c_i`` with a_i the
    PNG's alpha and c_i its colour. Alphas are quantised so that the K
    alphas of a pixel sum to exactly 255 (65535), and colours are then
    re-fitted to the quantised alphas (:func:`sss.project_layer_colors`)
    before rounding, so recomposing the files is off by at most half
    a level (0.5/255 or 0.5/65535) plus the photo's own rounding.

'Over' (:func:`ora_layers`, the ``NAME.ora`` OpenRaster and ``NAME.psd`` stacks)
    Editors stack layers with ordinary 'normal' (Porter-Duff source-over)
    blending, so the stack uses ``svg:src-over`` for every layer and
    converts the alphas. With layers ordered top (t = 0) to bottom
    (t = K-1) and R_t = prod_{s<t} (1 - b_s) the coverage left by the
    layers above, layer t gets alpha ``b_t = a_t / R_t`` (0 where
    R_t = 0) and the bottom layer ``b = 1``. Then ordinary 'over'
    compositing, ``out = b_t c_t + (1 - b_t) out`` from bottom to top,
    gives ``sum_t a_t c_t``: the photo. Each b_t is quantised to levels
    before the next one is computed, and colours are re-fitted to the
    effective alphas ``b_t R_t`` of the quantised values, so the stack
    reproduces the photo to within half a level. The top layer's alpha is
    exactly its soft segment; lower layers extend under the layers above
    them (invisible while those are shown). The layer with the largest
    area goes to the bottom, the others above it by decreasing area.

    Blending space. The default ``space="srgb"`` fits the colours for
    blending on the stored sRGB values, as the OpenRaster specification
    (W3C compositing), Krita and MyPaint do. GIMP's OpenRaster loader gives
    ``svg:src-over`` layers its *Normal* mode, which blends in linear light;
    ``space="linear"`` (``--ora-space linear``) re-fits the colours for
    linear-light blending instead. No stack of 'normal' layers can be exact
    in both: at a pixel where layers of different colours mix, sRGB and
    linear-light blending of the same layers differ (the sRGB curve is
    strictly convex above 0.04, Jensen's inequality), and GIMP reads no
    per-layer attribute that selects the composite space. How each editor
    shows the stacks is measured by ``tools/check_ora_in_editors.py``
    (docs/outputs.md).
"""

from __future__ import annotations

import numpy as np

from .. import _core
from .._validation import as_image
from ..colors import _as_colors, _check_sizes, normalize_alphas, project_layer_colors
from .srgb import linear_to_srgb, srgb_to_linear

__all__ = ["BIT_DEPTHS", "quantize_alphas", "layer_rgba", "ora_layers", "composite_additive",
           "composite_over"]

#: the bit depths of the layer files: 8 (uint8) and 16 (uint16) bits per channel
BIT_DEPTHS = (8, 16)
_LEVEL_TYPES = {8: np.uint8, 16: np.uint16}


def check_bits(bits) -> int:
    """`bits` as 8 or 16, or a ValueError naming the choices."""
    if isinstance(bits, (bool, np.bool_)) or bits not in BIT_DEPTHS:
        raise ValueError(f"bits must be 8 or 16 (bits per channel of the layers), got {bits!r}")
    return int(bits)


def _top(bits: int) -> float:
    return float(2 ** bits - 1)


def quantize_alphas(alphas: np.ndarray, *, bits: int = 8) -> np.ndarray:
    """Normalised alphas as integer levels that sum to exactly 2**bits - 1 per pixel.

    Largest-remainder rounding of ``(2**bits - 1) * normalize_alphas(alphas)``:
    every level is the floor or the ceiling of its exact value.

    Parameters
    ----------
    alphas : (H, W, K) ndarray
    bits : {8, 16}, optional
        Levels 0..255 (uint8, default) or 0..65535 (uint16).

    Returns
    -------
    (H, W, K) ndarray, uint8 or uint16
    """
    return _core.quantize_alphas(normalize_alphas(alphas), 0, check_bits(bits))


def _check_space(space: str) -> str:
    if space not in ("srgb", "linear"):
        raise ValueError(f"space must be 'srgb' or 'linear', got {space!r}")
    return space


def _to_levels(x: np.ndarray, bits: int) -> np.ndarray:
    """Values in [0, 1] (clipped) rounded to levels of `bits` bits (half to even)."""
    return np.round(np.clip(x, 0.0, 1.0) * _top(bits)).astype(_LEVEL_TYPES[bits])


def layer_rgba(image: np.ndarray, alphas: np.ndarray, colors: np.ndarray, *,
               bits: int = 8) -> np.ndarray:
    """RGBA layers for additive recomposition (``sum_i a_i c_i = photo``).

    Parameters
    ----------
    image : (H, W, 3) ndarray, the photo in [0, 1]
    alphas : (H, W, K) ndarray, the soft layers (normalised here)
    colors : (H, W, K, 3) ndarray, layer colours for the normalised alphas
    bits : {8, 16}, optional
        Bits per channel of the result: 8 (uint8, default) or 16 (uint16,
        for photos of more than 8 bits per channel).

    Returns
    -------
    (K, H, W, 4) ndarray, uint8 or uint16
        Per layer: colour re-fitted to the quantised alphas, then rounded;
        alpha from :func:`quantize_alphas`.
    """
    return _layer_rgba(image, normalize_alphas(alphas), colors, check_bits(bits))


def _layer_rgba(image, a, colors, bits=8):
    """:func:`layer_rgba` of alphas `a` that are normalised already."""
    q = _core.quantize_alphas(np.ascontiguousarray(a, dtype=np.float64), 0, bits)
    return _rgba(image, q / _top(bits), q, colors, range(q.shape[2]))


def _rgba(image, weights, levels, colors, order):
    """(K, H, W, 4) levels of `levels`' type: the colours of the layers `order` projected onto
    `weights` (by position) and rounded, with alpha `levels` (the core's
    rgba_layers: one pass, no full-size copy of the colours)."""
    img = as_image(image, name="image", channels=3, copy=False)
    _check_sizes(img, weights)
    c = _as_colors(colors, weights.shape, keep_float32=True)  # the core reads either
    return _core.rgba_layers(img, np.ascontiguousarray(weights), levels, c,
                             [int(i) for i in order], 0)


def _stack_order(alphas: np.ndarray) -> list[int]:
    """Top-to-bottom order: the largest layer at the bottom, then by
    decreasing area upwards (ties by index). `alphas`: an array or a
    :class:`sss.colors.NormalizedLayers` (areas summed band by band)."""
    sums = getattr(alphas, "layer_sums", None)
    area = sums() if callable(sums) else alphas.reshape(-1, alphas.shape[2]).sum(0)
    bottom_up = sorted(range(alphas.shape[2]), key=lambda k: (-area[k], k))
    return bottom_up[::-1]


def ora_layers(image: np.ndarray, alphas: np.ndarray, colors: np.ndarray, order=None, *,
               space: str = "srgb", bits: int = 8):
    """RGBA layers converted for ordinary 'over' blending.

    Parameters
    ----------
    image, alphas, colors
        As for :func:`layer_rgba`.
    order : sequence of int, optional
        Layer indices from top to bottom; default: largest area at the bottom.
    space : {"srgb", "linear"}, optional
        Where the editor blends: on the stored sRGB values (Krita, MyPaint,
        the OpenRaster specification; the default) or in linear light
        (GIMP, whose OpenRaster loader gives the layers its *Normal*
        mode). With "linear" the colours are re-fitted so that blending the
        linearised colours gives the linearised photo. See the module
        docstring.
    bits : {8, 16}, optional
        Bits per channel of the result: 8 (uint8, default) or 16 (uint16).

    Returns
    -------
    order : list of int
        Top-to-bottom layer indices.
    rgba : (K, H, W, 4) ndarray, uint8 or uint16
        ``rgba[t]`` is the layer at stack position t (0 = top); the last is opaque.
    """
    return _ora_layers(image, normalize_alphas(alphas), colors, order, space, check_bits(bits))


def _ora_layers(image, a, colors, order, space, bits=8):
    """:func:`ora_layers` of alphas `a` that are normalised already."""
    k = a.shape[2]
    order = list(_stack_order(a) if order is None else order)
    if sorted(order) != list(range(k)):
        raise ValueError(f"order must be a permutation of 0..{k - 1}, got {order}")
    levels, eff = _core.over_alphas(a, [int(i) for i in order], 0, bits)
    if _check_space(space) == "srgb":
        return order, _rgba(image, eff, levels, colors, order)
    c = np.ascontiguousarray(colors[..., order, :])
    c = linear_to_srgb(project_layer_colors(srgb_to_linear(image), eff, srgb_to_linear(c)))
    out = np.empty((k,) + a.shape[:2] + (4,), levels.dtype)
    for t in range(k):
        out[t, ..., :3] = _to_levels(c[..., t, :], bits)
        out[t, ..., 3] = levels[..., t]
    return order, out


def composite_additive(rgba: np.ndarray) -> np.ndarray:
    """``sum_i (A_i / m) (C_i / m)`` of (K, H, W, 4) uint8 (m = 255) or uint16
    (m = 65535) layers -> (H, W, 3) floats."""
    rgba = _as_rgba_stack(rgba)
    f = rgba.astype(np.float64) / float(np.iinfo(rgba.dtype).max)
    return (f[..., :3] * f[..., 3:]).sum(0)


def _as_rgba_stack(rgba) -> np.ndarray:
    """`rgba` as a (K, H, W, 4) uint8 or uint16 array of layers, or a ValueError."""
    rgba = np.asarray(rgba)
    if rgba.dtype not in (np.uint8, np.uint16) or rgba.ndim != 4 or rgba.shape[3] != 4:
        raise ValueError(f"layers must be a (K, H, W, 4) uint8 or uint16 array, got "
                         f"{rgba.dtype} of shape {rgba.shape}")
    return rgba


def composite_over(rgba_top_to_bottom: np.ndarray, *, space: str = "srgb") -> np.ndarray:
    """Porter-Duff 'over' of (K, H, W, 4) uint8 or uint16 layers given top
    first, on black: ``out = a c + (1 - a) out`` from the bottom layer up, on
    the sRGB values or (``space="linear"``) on linearised colours, re-encoded
    at the end."""
    rgba = _as_rgba_stack(rgba_top_to_bottom)
    if _check_space(space) == "srgb":  # the core, without a float copy of the stack
        return _core.composite_over(np.ascontiguousarray(rgba), 0)
    f = rgba.astype(np.float64) / float(np.iinfo(rgba.dtype).max)
    col = srgb_to_linear(f[..., :3])
    out = np.zeros(f.shape[1:3] + (3,))
    for t in range(f.shape[0] - 1, -1, -1):
        out = f[t, ..., 3:] * col[t] + (1.0 - f[t, ..., 3:]) * out
    return linear_to_srgb(out)
