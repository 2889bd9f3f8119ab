"""8-bit layers that recompose the photo, and their composites.

Two compositing rules, both exact up to 8-bit rounding:

Additive (:func:`layer_rgba`, the ``NAME_layer{i}.png`` files)
    The soft segments are additive: ``photo = sum_i a_i * c_i`` with a_i the
    PNG's alpha and c_i its colour. Alphas are quantised so that the K
    8-bit alphas of a pixel sum to exactly 255, and colours are then
    re-fitted to the quantised alphas (:func:`sss.project_layer_colors`)
    before rounding, so recomposing the 8-bit files is off by at most half
    a level (0.5/255) plus the photo's own rounding.

'Over' (:func:`ora_layers`, the ``NAME.ora`` OpenRaster and ``NAME.psd`` stacks)
    Editors stack layers with ordinary 'normal' (Porter-Duff source-over)
    blending, so the stack uses ``svg:src-over`` for every layer and
    converts the alphas. With layers ordered top (t = 0) to bottom
    (t = K-1) and R_t = prod_{s<t} (1 - b_s) the coverage left by the
    layers above, layer t gets alpha ``b_t = a_t / R_t`` (0 where
    R_t = 0) and the bottom layer ``b = 1``. Then ordinary 'over'
    compositing, ``out = b_t c_t + (1 - b_t) out`` from bottom to top,
    gives ``sum_t a_t c_t``: the photo. Each b_t is quantised to 8 bits
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

__all__ = ["quantize_alphas", "layer_rgba", "ora_layers", "composite_additive",
           "composite_over"]


def quantize_alphas(alphas: np.ndarray) -> np.ndarray:
    """Normalised alphas as uint8 levels that sum to exactly 255 per pixel.

    Largest-remainder rounding of ``255 * normalize_alphas(alphas)``: every
    level is the floor or the ceiling of its exact value.

    Returns
    -------
    (H, W, K) ndarray, uint8
    """
    return _core.quantize_alphas(normalize_alphas(alphas), 0)


def _check_space(space: str) -> str:
    if space not in ("srgb", "linear"):
        raise ValueError(f"space must be 'srgb' or 'linear', got {space!r}")
    return space


def _round8(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def layer_rgba(image: np.ndarray, alphas: np.ndarray, colors: np.ndarray) -> np.ndarray:
    """8-bit RGBA layers for additive recomposition (``sum_i a_i c_i = photo``).

    Parameters
    ----------
    image : (H, W, 3) ndarray, the photo in [0, 1]
    alphas : (H, W, K) ndarray, the soft layers (normalised here)
    colors : (H, W, K, 3) ndarray, layer colours for the normalised alphas

    Returns
    -------
    (K, H, W, 4) ndarray, uint8
        Per layer: colour re-fitted to the quantised alphas, then rounded;
        alpha from :func:`quantize_alphas`.
    """
    return _layer_rgba(image, normalize_alphas(alphas), colors)


def _layer_rgba(image, a, colors):
    """:func:`layer_rgba` of alphas `a` that are normalised already."""
    q = _core.quantize_alphas(np.ascontiguousarray(a, dtype=np.float64), 0)
    return _rgba(image, q / 255.0, q, colors, range(q.shape[2]))


def _rgba(image, weights, levels, colors, order):
    """(K, H, W, 4) uint8: the colours of the layers `order` projected onto
    `weights` (by position) and rounded, with alpha `levels` (the core's
    rgba_layers: one pass, no full-size copy of the colours)."""
    img = as_image(image, name="image", channels=3, copy=False)
    _check_sizes(img, weights)
    c = _as_colors(colors, weights.shape)
    return _core.rgba_layers(img, np.ascontiguousarray(weights), levels, c,
                             [int(i) for i in order], 0)


def _stack_order(alphas: np.ndarray) -> list[int]:
    """Top-to-bottom order: the largest layer at the bottom, then by
    decreasing area upwards (ties by index)."""
    area = alphas.reshape(-1, alphas.shape[2]).sum(0)
    bottom_up = sorted(range(alphas.shape[2]), key=lambda k: (-area[k], k))
    return bottom_up[::-1]


def ora_layers(image: np.ndarray, alphas: np.ndarray, colors: np.ndarray, order=None, *,
               space: str = "srgb"):
    """8-bit RGBA layers converted for ordinary 'over' blending.

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

    Returns
    -------
    order : list of int
        Top-to-bottom layer indices.
    rgba : (K, H, W, 4) ndarray, uint8
        ``rgba[t]`` is the layer at stack position t (0 = top); the last is opaque.
    """
    return _ora_layers(image, normalize_alphas(alphas), colors, order, space)


def _ora_layers(image, a, colors, order, space):
    """:func:`ora_layers` of alphas `a` that are normalised already."""
    k = a.shape[2]
    order = list(_stack_order(a) if order is None else order)
    if sorted(order) != list(range(k)):
        raise ValueError(f"order must be a permutation of 0..{k - 1}, got {order}")
    b8, eff = _core.over_alphas(a, [int(i) for i in order], 0)
    if _check_space(space) == "srgb":
        return order, _rgba(image, eff, b8, colors, order)
    c = np.ascontiguousarray(colors[..., order, :])
    c = linear_to_srgb(project_layer_colors(srgb_to_linear(image), eff, srgb_to_linear(c)))
    out = np.empty((k,) + a.shape[:2] + (4,), np.uint8)
    for t in range(k):
        out[t, ..., :3] = _round8(c[..., t, :])
        out[t, ..., 3] = b8[..., t]
    return order, out


def composite_additive(rgba: np.ndarray) -> np.ndarray:
    """``sum_i (A_i / 255) (C_i / 255)`` of (K, H, W, 4) uint8 layers -> (H, W, 3) floats."""
    f = rgba.astype(np.float64) / 255.0
    return (f[..., :3] * f[..., 3:]).sum(0)


def _as_rgba_stack(rgba) -> np.ndarray:
    """`rgba` as a (K, H, W, 4) uint8 array of 8-bit layers, or a ValueError."""
    rgba = np.asarray(rgba)
    if rgba.dtype != np.uint8 or rgba.ndim != 4 or rgba.shape[3] != 4:
        raise ValueError(f"layers must be a (K, H, W, 4) uint8 array, got "
                         f"{rgba.dtype} of shape {rgba.shape}")
    return rgba


def composite_over(rgba_top_to_bottom: np.ndarray, *, space: str = "srgb") -> np.ndarray:
    """Porter-Duff 'over' of (K, H, W, 4) uint8 layers given top first, on
    black: ``out = a c + (1 - a) out`` from the bottom layer up, on the sRGB
    values or (``space="linear"``) on linearised colours, re-encoded at the end."""
    if _check_space(space) == "srgb":  # the core, without a float copy of the stack
        return _core.composite_over(np.ascontiguousarray(_as_rgba_stack(rgba_top_to_bottom)), 0)
    f = rgba_top_to_bottom.astype(np.float64) / 255.0
    col = srgb_to_linear(f[..., :3])
    out = np.zeros(f.shape[1:3] + (3,))
    for t in range(f.shape[0] - 1, -1, -1):
        out = f[t, ..., 3:] * col[t] + (1.0 - f[t, ..., 3:]) * out
    return linear_to_srgb(out)
