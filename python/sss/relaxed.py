"""Stage 10: relaxed sparsification of the grouped soft layers.

``relaxed_sparsify(layers, L, image)`` refines K soft layers by iteratively
reweighted least squares (paper Eq. 7-17): each reweighted system
(blockdiag(L) + delta C^T C + diag(u) + diag(v) + I) on all K*N alphas is solved
by conjugate gradients in C++, with the operator applied matrix-free.
``image_gradient(image)`` gives the gradient magnitude that sets the per-pixel
sparsity exponent.
"""

from __future__ import annotations

import warnings

import numpy as np

from . import _defaults as D
from . import _core
from ._validation import as_threads as _threads, as_csr, as_float, as_image, as_int, \
    check_finite_result, check_memory, check_symmetric

__all__ = ["relaxed_sparsify", "image_gradient"]

_PRECONDITIONERS = tuple(_core.relaxed_preconditioners())  # registered in relaxed.cpp


def image_gradient(image: np.ndarray) -> np.ndarray:
    """Gradient magnitude of an image with Farid-Simoncelli 13-tap filters.

    Each channel is differentiated along rows and columns with the separable
    13-tap derivative/prefilter pair (replicate padding at the border); the
    x and y derivatives are reduced over channels by their L2 norm, and the
    magnitude is sqrt(gx^2 + gy^2).

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
        Image, uint8/uint16 (scaled to [0, 1]) or float.

    Returns
    -------
    magnitude : (H, W) ndarray, float64
        Gradient magnitude, in image units per pixel.

    References
    ----------
    .. [1] H. Farid, E. P. Simoncelli, "Differentiation of Discrete
           Multidimensional Signals", IEEE TIP 13(4), 2004.
    .. [2] Aksoy et al., "Semantic Soft Segmentation", SIGGRAPH 2018, Sec. 3.4.
    """
    if isinstance(image, np.ndarray) and image.ndim == 2:
        image = image[:, :, None]
    img = as_image(image, name="image", channels=None)
    return _core.image_gradient(np.ascontiguousarray(img))


def relaxed_sparsify(layers: np.ndarray, L, image: np.ndarray | None = None, *,
                     gradient: np.ndarray | None = None, max_iter: int = D.RELAXED.max_iter,
                     cg_max_iter: int = D.RELAXED.cg_max_iter,
                     final_cg_max_iter: int = D.RELAXED.final_cg_max_iter,
                     tol: float = D.RELAXED.tol, sparsity_sigma: float = D.RELAXED.sparsity_sigma,
                     fidelity_sigma: float = D.RELAXED.fidelity_sigma,
                     constraint_delta: float = D.RELAXED.constraint_delta,
                     low: float = D.RELAXED.low, high: float = D.RELAXED.high,
                     gamma_base: float = D.RELAXED.gamma_base,
                     gradient_cap: float = D.RELAXED.gradient_cap, clamp: float = D.RELAXED.clamp,
                     preconditioner: str = D.RELAXED.preconditioner, num_threads: int | None = None,
                     return_log: bool = False):
    """Relaxed sparsification of soft layers (docs/algorithm.md, stage 10).

    The input layers are thresholded (below `low` -> 0, above `high` -> 1)
    and renormalised to sum to 1 per pixel (a pixel whose layers all vanish
    gets 1/K each), giving a_hat. Then `max_iter` reweighted solves of

        (blockdiag(L) + delta C^T C + s (diag(u) + diag(v)) + f I) a
            = s v + f a_hat + delta

    with u = max(|a|, clamp)^(gamma_p - 2), v = max(|1 - a|, clamp)^(gamma_p - 2)
    and gamma_p = gamma_base + min(|grad I(p)|, gradient_cap), each by
    conjugate gradients warm-started from the previous solution; finally one
    solve of (blockdiag(L) + delta C^T C + f I) a = f a_prev + delta.

    Parameters
    ----------
    layers : (H, W, K) ndarray
        Soft layers to refine (e.g. the grouped layers of step 9). Not modified.
    L : (H*W, H*W) sparse matrix
        The Laplacian (pixel index row * W + col).
    image : (H, W, 3) ndarray, optional
        The image; its :func:`image_gradient` sets gamma_p. Give either
        `image` or `gradient`; with neither, gamma_p = gamma_base everywhere.
    gradient : (H, W) ndarray, optional
        Precomputed gradient magnitude, used instead of `image`.
    max_iter : int, optional
        Number of reweighted solves (reference: 20).
    cg_max_iter, final_cg_max_iter : int, optional
        CG iteration caps of the reweighted and final solves (100, 1000).
    tol : float, optional
        Relative residual tolerance ||b - A a|| / ||b|| of every solve (1e-6).
    sparsity_sigma, fidelity_sigma, constraint_delta : float, optional
        sigma_S (1), sigma_F (1) and delta (100) of the energy.
    low, high : float, optional
        Input thresholds (0.1, 0.9).
    gamma_base, gradient_cap : float, optional
        gamma_p = gamma_base + min(gradient, gradient_cap) (0.9, 0.1).
    clamp : float, optional
        Lower clamp of |a| and |1 - a| in the weights (1e-2).
    preconditioner : {'block_jacobi', 'jacobi', 'none'}, optional
        'block_jacobi' inverts each pixel's K x K block exactly (fastest);
        'none' is plain CG with MATLAB pcg's semantics, which reproduces the
        reference to ~1e-10. Preconditioned CG stops at a different iterate
        within the same tolerance (differences ~1e-5).
    num_threads : int, optional
        Threads (default all cores). Results do not depend on it.
    return_log : bool, optional
        Also return the CG log, one row per solve:
        ``[flag, relres, iteration, iterations run]`` (MATLAB pcg flags).

    Returns
    -------
    alphas : (H, W, K) ndarray, float64
        Refined layers; they sum to ~1 per pixel (not clipped to [0, 1]).
    log : (max_iter + 1, 4) ndarray
        Only with ``return_log=True``.

    References
    ----------
    .. [1] Aksoy et al., "Semantic Soft Segmentation", SIGGRAPH 2018,
           Sec. 3.4, Eq. 7-17.
    """
    lay = as_image(layers, name="layers", channels=None)
    h, w, k = lay.shape
    n = h * w
    Lc = as_csr(L, name="L", square=True)
    if Lc.shape[0] != n:
        raise ValueError(f"L is {Lc.shape[0]} x {Lc.shape[1]} but the layers have {h} x {w} = "
                         f"{n} pixels")
    if gradient is not None:
        g = np.asarray(gradient)
        if g.shape != (h, w):
            raise ValueError(f"gradient must have shape {(h, w)}, got {g.shape}")
        grad = as_image(g[:, :, None], name="gradient", channels=1)
    elif image is not None:
        if not isinstance(image, np.ndarray) or image.shape[:2] != (h, w):
            raise ValueError(f"image must be a ({h}, {w}, 3) array matching the layers, got "
                             f"{getattr(image, 'shape', type(image).__name__)}")
        grad = np.ascontiguousarray(image_gradient(image)[:, :, None])
    else:
        grad = None
    if preconditioner not in _PRECONDITIONERS:
        raise ValueError(f"preconditioner must be one of {_PRECONDITIONERS}, got "
                         f"{preconditioner!r}")
    check_symmetric(Lc, "L")
    ints = {name: as_int(v, name, minimum=lo) for name, v, lo in (
        ("max_iter", max_iter, 0), ("cg_max_iter", cg_max_iter, 1),
        ("final_cg_max_iter", final_cg_max_iter, 0))}
    pos = {name: as_float(v, name, minimum=0.0, strict_minimum=True) for name, v in (
        ("tol", tol), ("fidelity_sigma", fidelity_sigma), ("clamp", clamp),
        ("gamma_base", gamma_base))}
    nonneg = {name: as_float(v, name, minimum=0.0) for name, v in (
        ("sparsity_sigma", sparsity_sigma), ("constraint_delta", constraint_delta),
        ("gradient_cap", gradient_cap))}
    low, high = as_float(low, "low"), as_float(high, "high")
    if not low < high:
        raise ValueError(f"low must be smaller than high (the thresholds below and above which "
                         f"an input alpha counts as 0 or 1), got low={low}, high={high}")
    nt = _threads(num_threads)
    # operator + ~8 work vectors of K*N doubles
    check_memory(8.0 * n * k * 12, "relaxed_sparsify")
    out, log = _core.relaxed_sparsify(
        lay, Lc.data, Lc.indices, Lc.indptr, grad, ints["max_iter"], ints["cg_max_iter"],
        ints["final_cg_max_iter"], pos["tol"], nonneg["sparsity_sigma"],
        pos["fidelity_sigma"], nonneg["constraint_delta"], low, high, pos["gamma_base"],
        nonneg["gradient_cap"], pos["clamp"], preconditioner, nt)
    check_finite_result(out, "relaxed_sparsify")
    if len(log) and log[-1][0] != 0 and log[-1][1] > pos["tol"]:
        flag, relres, _, run = log[-1]
        why = {1: "reached its iteration limit", 3: "stagnated", 4: "broke down"}.get(
            int(flag), f"stopped with flag {int(flag)}")
        warnings.warn(f"relaxed_sparsify: the last CG solve {why} after {int(run)} iterations "
                      f"with relative residual {relres:.3g} > tol={pos['tol']}; the "
                      "layers are approximate", RuntimeWarning, stacklevel=2)
    if return_log:
        return out, log
    return out

