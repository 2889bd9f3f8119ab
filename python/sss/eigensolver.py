"""Stage 7: the eigenvectors of the Laplacian with the smallest eigenvalues.

``smallest_eigenvectors(L, k)`` returns the k smallest eigenpairs of a sparse
symmetric matrix by shift-and-invert Lanczos (Spectra) around a shift just
below the spectrum, with a sparse LDL^T factorisation (Eigen, AMD ordering).
"""

from __future__ import annotations

import numpy as np

from . import _core
from ._validation import as_csr, check_memory

__all__ = ["smallest_eigenvectors"]


def smallest_eigenvectors(L, k: int = 100, *, shift: float | None = None,
                          ncv: int | None = None, tol: float = 1e-10,
                          max_restarts: int = 1000, method: str = "block",
                          block_size: int | None = None, return_info: bool = False):
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
    about a third of as many single solves, and orthogonalises them against
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
    Eigen's SimplicialLDLT with AMD ordering (same results, slower).
    For the reference's Laplacians these are also the k smallest in magnitude
    (MATLAB ``eigs(L, k, 'SM')``): their few negative eigenvalues are tiny.

    Parameters
    ----------
    L : (N, N) sparse matrix or ndarray
        Symmetric matrix, e.g. the Laplacian of SPEC.md step 6. Only its upper
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
        Vectors per solve for ``method="block"`` (default clamp(k / 12, 4, 16):
        8 for k = 100).
    return_info : bool, optional
        Also return a dict with the shift used and iteration counts.

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
        For a non-matrix, non-square or non-finite L, or k outside [1, N-1].
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
    """
    Lc = as_csr(L, name="L", square=True)
    n = Lc.shape[0]
    k = int(k)
    if not 1 <= k < n:
        raise ValueError(f"k must be in [1, N-1] = [1, {n - 1}], got {k}")
    if method not in ("block", "lanczos"):
        raise ValueError(f"method must be 'block' or 'lanczos', got {method!r}")
    bs = 0 if block_size is None else int(block_size)
    if block_size is not None and bs < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    ncv_i = 0 if ncv is None else int(ncv)
    if ncv is not None and not k < ncv_i <= n:
        raise ValueError(f"ncv must satisfy k < ncv <= N, got ncv={ncv_i} with k={k}, N={n}")
    tol = float(tol)
    if not np.isfinite(tol) or tol <= 0:
        raise ValueError(f"tol must be a positive finite number, got {tol}")
    max_restarts = int(max_restarts)
    if max_restarts < 1:
        raise ValueError(f"max_restarts must be >= 1, got {max_restarts}")
    if shift is None:
        shift_v = float("nan")
    else:
        shift_v = float(shift)
        if not np.isfinite(shift_v):
            raise ValueError(f"shift must be finite, got {shift}")
    basis = max(ncv_i, 2 * k + 1, k + 20) if method == "lanczos" else \
        max(ncv_i, 3 * k, k + 4 * (bs or _core.eigen_default_block_size(k)))
    # basis + Ritz vectors + output + factor (~ 20 nonzeros per row of L)
    check_memory(8.0 * n * (basis + 2 * k) + 12.0 * 20 * Lc.nnz, "smallest_eigenvectors")
    values, vectors, info = _core.smallest_eigenvectors(
        Lc.data, Lc.indices, Lc.indptr, n, k, ncv_i, tol, max_restarts, shift_v, method, bs)
    if return_info:
        return values, vectors, dict(info)
    return values, vectors
