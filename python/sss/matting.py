"""Stage 3: the matting affinity of Levin et al. and graph Laplacians.

Each function works on its own: ``matting_affinity(image)`` gives the sparse
affinity W_L of stage 3 (docs/algorithm.md), ``laplacian_from_affinity(W)`` the
unnormalised Laplacian L = D - W used by the reference implementation.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from . import _defaults as D
from . import _core
from ._validation import as_threads as _threads, as_csr, as_float, as_image, as_int, \
    check_memory, from_core_csr

__all__ = ["matting_affinity", "laplacian_from_affinity"]


def matting_affinity(image: np.ndarray, radius: int = D.MATTING.radius,
                     eps: float = D.MATTING.eps, *,
                     num_threads: int | None = None) -> sp.csr_matrix:
    """Closed-form matting affinity of an RGB image.

    For every (2r+1) x (2r+1) window k whose centre is at least `radius`
    pixels from the border, and every pixel pair (i, j) in it, adds

        (1 + (I_i - mu_k)^T (Sigma_k + eps / |w| * Id)^-1 (I_j - mu_k)) / |w|

    to W_ij, where |w| = (2r+1)^2 and mu_k, Sigma_k are the window's colour
    mean and covariance. The result is symmetrised as (W + W^T) / 2.

    Parameters
    ----------
    image : (H, W, 3) ndarray
        RGB image. uint8 / uint16 are divided by 255 / 65535; float32 and
        float64 are used as they are (nominally in [0, 1]).
    radius : int, optional
        Window radius r in pixels (1 gives the paper's 3x3 windows).
    eps : float, optional
        Regulariser epsilon. As in the authors' code it is divided by the
        window size |w| before it is added to each covariance.
    num_threads : int, optional
        Threads to use; default all available cores.

    Returns
    -------
    W : (N, N) scipy.sparse.csr_matrix, float64
        N = H * W; pixel (row, col) has index ``row * W + col``. Exactly
        symmetric, with sorted column indices.

    Raises
    ------
    TypeError, ValueError
        For a non-array, unsupported dtype, wrong shape, NaN/inf values or an
        image smaller than one window.
    MemoryError
        If the matrix would not fit in the available memory.

    References
    ----------
    .. [1] A. Levin, D. Lischinski, Y. Weiss, "A Closed-Form Solution to
           Natural Image Matting", IEEE TPAMI 30(2), 2008.
    .. [2] Y. Aksoy, T.-H. Oh, S. Paris, M. Pollefeys, W. Matusik, "Semantic
           Soft Segmentation", ACM TOG 37(4) (SIGGRAPH), 2018, Sec. 3.2.
    """
    radius = as_int(radius, "radius", minimum=1, maximum=31)
    eps = as_float(eps, "eps", minimum=0.0)
    nt = _threads(num_threads)
    img = as_image(image, name="image", channels=3, min_size=2 * radius + 1)
    n = img.shape[0] * img.shape[1]
    slots = (4 * radius + 1) ** 2
    # dense per-pixel accumulator + CSR arrays + per-window inverses
    check_memory(n * slots * (8 + 12) + n * 96, "matting_affinity")
    W = from_core_csr(_core.matting_affinity(img, radius, eps, nt))
    bad = ~np.isfinite(W.data)
    if bad.any():
        raise FloatingPointError(
            f"matting_affinity produced {int(bad.sum())} NaN or infinite entries: a window's "
            f"colour covariance is singular (eps={eps}; use eps > 0) or overflows (image "
            f"values up to {float(np.abs(img).max()):.3g}; expected about [0, 1])")
    return W


def laplacian_from_affinity(W) -> sp.csr_matrix:
    """Unnormalised graph Laplacian L = D - W, with D = diag(W 1).

    Parameters
    ----------
    W : (N, N) sparse matrix or ndarray
        Affinity matrix (need not be symmetric; not modified).

    Returns
    -------
    L : (N, N) scipy.sparse.csr_matrix
        Same pattern as W plus the diagonal. Its rows sum to zero up to
        rounding.

    References
    ----------
    .. [1] Aksoy et al., "Semantic Soft Segmentation", SIGGRAPH 2018, Eq. 6
           (the reference code uses this unnormalised form).
    """
    Wc = as_csr(W, name="W", square=True)
    return from_core_csr(_core.laplacian_from_affinity(Wc.data, Wc.indices, Wc.indptr,
                                                       Wc.shape[0], Wc.shape[1]))

