"""Stage 7: the eigenvectors of the Laplacian with the smallest eigenvalues.

``smallest_eigenvectors(L, k)`` returns the k smallest eigenpairs of a sparse
symmetric matrix by shift-and-invert Lanczos (Spectra) around a shift just
below the spectrum, with a sparse Cholesky factorisation (CHOLMOD; Eigen's
LDL^T without it). ``grid_nested_dissection(L, shape)`` is the
fill-reducing ordering used for pixel-grid matrices when ``shape`` is
given.
"""

from __future__ import annotations

import numpy as np

from . import _defaults as D
from . import _core
from ._validation import as_csr, as_float, as_int, as_threads, check_memory

__all__ = ["smallest_eigenvectors", "grid_nested_dissection"]


def _grid_shape(shape, n: int, name: str = "shape") -> tuple[int, int]:
    """(H, W) from `shape` (its first two entries), checked against N."""
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"{name} must be a tuple (H, W) or (H, W, C), got "
                        f"{type(shape).__name__}") from None
    if len(dims) not in (2, 3):
        raise ValueError(f"{name} must be (H, W) or (H, W, C), got {shape!r}")
    hw = []
    for d in dims[:2]:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"{name} entries must be integers, got {shape!r}")
        hw.append(int(d))
    h, w = hw
    if h < 1 or w < 1:
        raise ValueError(f"{name} must be positive, got {shape!r}")
    if h * w != n:
        raise ValueError(f"{name} {h} x {w} has {h * w} pixels but L is {n} x {n}")
    return h, w


def smallest_eigenvectors(L, k: int = D.EIGEN.num_vectors, *, shift: float | None = None,
                          ncv: int | None = None, tol: float = D.EIGEN.tol,
                          max_restarts: int = D.EIGEN.max_restarts,
                          method: str = D.EIGEN.method,
                          block_size: int | None = None, shape=None,
                          return_info: bool = False, num_threads: int | None = None):
    """The k eigenpairs of a symmetric sparse matrix with the smallest eigenvalues.

    Shift-and-invert: the largest eigenvalues mu = 1 / (lambda - sigma) of
    A = (L - sigma I)^-1 belong to the eigenvalues of L nearest sigma. The
    automatic shift starts at -1e-4 times the mean |diagonal| and moves down
    by a factor 4 until the factorisation of L - sigma I proves it positive
    definite (Cholesky succeeds; with the LDL^T fallback, no negative pivot,
    by Sylvester's law of inertia), i.e. sigma lies below every eigenvalue,
    so the result is the k algebraically smallest eigenpairs. A failed
    factorisation also moves the shift.

    The default method is block Krylov-Schur (thick-restarted block Lanczos)
    on A: every step solves for `block_size` vectors at once, which costs
    about a third of as many single solves (with CHOLMOD, the factor's
    elimination tree is split at its first separator and the two halves are
    solved on two cores, every vector at once), and orthogonalises them against
    the basis with matrix-matrix products (classical Gram-Schmidt twice, the
    second pass delayed and fused with the next block's first). The Arnoldi
    relation is kept through restarts, so the Ritz residuals come from the
    small projected matrix. Random directions continue the search after a
    breakdown (an eigenvalue with more eigenvectors than the Krylov space
    holds). ``method="lanczos"`` uses Spectra's implicitly restarted Lanczos
    instead (one solve and a full reorthogonalisation per vector). Both stop
    when every wanted Ritz pair of A has ||A u - mu u|| <= tol |mu|, which
    bounds ||L v - lambda v|| by tol ||L - sigma I||.

    The factorisation is SuiteSparse CHOLMOD's supernodal Cholesky when the
    extension was built with it (see ``info['backend']``), else
    Eigen's SimplicialLDLT with AMD ordering (same results, slower). When L
    is a pixel-grid matrix and `shape` is given, CHOLMOD factorises in
    the order of :func:`grid_nested_dissection` instead of computing its own
    (METIS/AMD) ordering; this changes the speed, not the result (beyond
    rounding).
    For the reference's Laplacians these are also the k smallest in magnitude
    (MATLAB ``eigs(L, k, 'SM')``): their few negative eigenvalues are tiny.

    Parameters
    ----------
    L : (N, N) sparse matrix or ndarray
        Symmetric matrix, e.g. the Laplacian of stage 6 (docs/algorithm.md). Only its upper
        triangle is read; it is not modified.
    k : int, optional
        Number of eigenpairs (the reference uses 100).
    shift : float, optional
        Explicit shift sigma; the k eigenvalues nearest to it are returned.
        Default: automatic, just below the spectrum.
    ncv : int, optional
        Basis size, > k. Default: block max(3k, k + 4 * block_size), Lanczos
        max(2k + 1, k + 20). Memory is about 8 N ncv bytes.
    tol : float, optional
        Relative convergence tolerance on the Ritz pairs of (L - sigma I)^-1
        (see above).
    max_restarts : int, optional
        Maximum number of restarts.
    method : {"block", "lanczos"}, optional
        "block" (default): block Krylov-Schur with multi-column solves (see
        above). "lanczos": Spectra's implicitly restarted Lanczos, one
        shift-solve per step. Same eigenpairs to the tolerance.
    block_size : int, optional
        Vectors per solve for ``method="block"`` (default clamp(k / 6, 4, 16):
        16 for k = 100).
    shape : tuple of int, optional
        (H, W) (or (H, W, C)) of the image whose pixels are L's rows, pixel
        p = row * W + col, as for the Laplacians of :mod:`sss.affinity`. Used
        only for the fill-reducing ordering of the factorisation (see above);
        H * W must equal N. Default: unknown (CHOLMOD's own ordering).
    return_info : bool, optional
        Also return a dict with the shift used and iteration counts.
    num_threads : int, optional
        Threads (default all cores). The result is bitwise the same for every
        thread count.

    Returns
    -------
    values : (k,) ndarray, float64
        Eigenvalues in ascending order.
    vectors : (N, k) ndarray, float64
        Unit eigenvectors in the same order; each has its largest-magnitude
        entry positive. Deterministic (fixed starting vector).
    info : dict
        Only with ``return_info=True``: ``shift``, ``factorizations``,
        ``restarts``, ``operations`` (number of vectors shift-solved), ``method``,
        ``backend`` (``'cholmod'`` or ``'eigen-ldlt'``), wall-clock seconds
        per part (``seconds_analyze``, ``seconds_factorize``,
        ``seconds_solve``, ``seconds_orthogonalize``; block method also
        ``seconds_ritz``: projected eigenproblems, restarts and the result)
        and, for the block method, ``residual`` (largest ||L v - lambda v||).

    Raises
    ------
    TypeError, ValueError
        For a non-matrix, non-square or non-finite L, k outside [1, N-1], or
        an `shape` that is not (H, W) with H * W = N.
    MemoryError
        If the Lanczos basis and eigenvectors would not fit in memory.
    RuntimeError
        If no shift can be factorised or Lanczos does not converge.

    References
    ----------
    .. [1] R. B. Lehoucq, D. C. Sorensen, C. Yang, "ARPACK Users' Guide",
           SIAM, 1998 (implicitly restarted Lanczos, shift-invert mode).
    .. [2] Y. Qiu, "Spectra: C++ library for large scale eigenvalue problems",
           https://spectralib.org
    .. [3] G. W. Stewart, "A Krylov-Schur algorithm for large eigenproblems",
           SIAM J. Matrix Anal. Appl. 23(3), 2002 (thick restarts keeping
           the Krylov relation).
    .. [4] Y. Zhou, Y. Saad, "Block Krylov-Schur method for large symmetric
           eigenvalue problems", Numer. Algorithms 47, 2008.
    .. [5] K. Swirydowicz, J. Langou, S. Ananthan, U. Yang, S. Thomas, "Low
           synchronization Gram-Schmidt and generalized minimal residual
           algorithms", Numer. Linear Algebra Appl. 28(2), 2021 (delayed
           reorthogonalisation).
    .. [6] Aksoy et al., "Semantic Soft Segmentation", SIGGRAPH 2018, Sec. 3.4.
    .. [7] A. George, "Nested dissection of a regular finite element mesh",
           SIAM J. Numer. Anal. 10(2), 1973.
    """
    Lc = as_csr(L, name="L", square=True)
    n = Lc.shape[0]
    if n < 2:
        raise ValueError(f"L must be at least 2 x 2 to have eigenpairs to compute, got "
                         f"{n} x {n}")
    gh, gw = (0, 0) if shape is None else _grid_shape(shape, n)
    nt = as_threads(num_threads)
    k = as_int(k, "k")
    if not 1 <= k < n:
        raise ValueError(f"k must be in [1, N-1] = [1, {n - 1}] for an N x N matrix L "
                         f"(k eigenvectors; N = {n} pixels), got {k}")
    if method not in ("block", "lanczos"):
        raise ValueError(f"method must be 'block' or 'lanczos', got {method!r}")
    bs = 0 if block_size is None else as_int(block_size, "block_size")
    if block_size is not None and bs < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    ncv_i = 0 if ncv is None else as_int(ncv, "ncv")
    if ncv is not None and not k < ncv_i <= n:
        raise ValueError(f"ncv must satisfy k < ncv <= N, got ncv={ncv_i} with k={k}, N={n}")
    tol = as_float(tol, "tol", minimum=0.0, strict_minimum=True)
    max_restarts = as_int(max_restarts, "max_restarts")
    if max_restarts < 1:
        raise ValueError(f"max_restarts must be >= 1, got {max_restarts}")
    if shift is None:
        shift_v = float("nan")
    else:
        shift_v = as_float(shift, "shift")
    basis = max(ncv_i, 2 * k + 1, k + 20) if method == "lanczos" else \
        max(ncv_i, 3 * k, k + 4 * (bs or _core.eigen_default_block_size(k)))
    # basis + Ritz vectors + output + factor (~ 20 nonzeros per row of L)
    check_memory(8.0 * n * (basis + 2 * k) + 12.0 * 20 * Lc.nnz, "smallest_eigenvectors")
    values, vectors, info = _core.smallest_eigenvectors(
        Lc.data, Lc.indices, Lc.indptr, n, k, ncv_i, tol, max_restarts, shift_v, method, bs,
        gh, gw, nt)
    if return_info:
        return values, vectors, dict(info)
    return values, vectors


def grid_nested_dissection(A, shape, *, leaf_size: int = 16) -> np.ndarray:
    """Fill-reducing permutation of a pixel-grid matrix by geometric nested dissection.

    The rows of `A` are the pixels of an H x W image (p = row * W + col). The
    coupling reach R is read from A's pattern: each pixel's reach is the
    largest max(|drow|, |dcol|) over its off-diagonal entries, and R is the
    median of those (2 for the Laplacians of :mod:`sss.affinity`, whose 3 x 3
    matting windows couple pixels within +-2 rows and columns). The image
    rectangle is split across its longer side by a band of R lines through its
    middle, which no local entry crosses; both halves are ordered first
    (recursively), then the separator: the band and the pixels with
    longer-range entries (the superpixel centroids that carry the semantic and
    colour affinities) that must not descend, i.e. those in the band plus a
    minimum vertex cover of the long-range entries joining the two halves. No
    entry of A joins the two halves of any split.
    Rectangles of at most `leaf_size` pixels are ordered row by row.

    Parameters
    ----------
    A : (N, N) sparse matrix or ndarray
        Matrix on the pixel grid; only its pattern is read (it is not
        modified).
    shape : tuple of int
        (H, W) or (H, W, C) of the image, with H * W = N.
    leaf_size : int, optional
        Rectangles of at most this many pixels are not split further.

    Returns
    -------
    perm : (N,) ndarray, int32
        Permutation: position k of the new order holds pixel perm[k], i.e.
        ``A[perm][:, perm]`` is the reordered matrix (CHOLMOD's and scipy's
        convention).

    Raises
    ------
    TypeError, ValueError
        For a non-matrix or non-square A, an `shape` with H * W != N,
        or leaf_size < 1.

    References
    ----------
    .. [1] A. George, "Nested dissection of a regular finite element mesh",
           SIAM J. Numer. Anal. 10(2), 1973.
    .. [2] T. A. Davis, "Direct Methods for Sparse Linear Systems", SIAM, 2006,
           Ch. 7 (fill-reducing orderings).
    """
    Ac = as_csr(A, name="A", square=True)
    n = Ac.shape[0]
    h, w = _grid_shape(shape, n)
    leaf = as_int(leaf_size, "leaf_size")
    if leaf < 1:
        raise ValueError(f"leaf_size must be >= 1, got {leaf_size}")
    return _core.grid_nested_dissection(Ac.data, Ac.indices, Ac.indptr, n, h, w, leaf)
