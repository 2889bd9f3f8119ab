// Stage 7 of SPEC.md: the eigenvectors of L with the smallest eigenvalues.
#pragma once

#include <Eigen/Dense>
#include <limits>

#include "sss/sparse.hpp"

namespace sss {

/// Spectra-style shift-solve operation y = (L - sigma I)^-1 x for a sparse
/// symmetric L by a sparse factorisation of L - sigma I. Backend: CHOLMOD's
/// supernodal Cholesky (SuiteSparse, METIS/AMD ordering) when the library was
/// built with it (SSS_HAVE_CHOLMOD), else Eigen's SimplicialLDLT (AMD ordering).
/// Any class with the same members (rows, set_shift, perform_op) can replace
/// it in a Spectra solver.
///
/// `try_set_shift` also tells whether sigma lies below the spectrum: Cholesky
/// succeeds exactly when L - sigma I is positive definite, and for LDL^T the
/// number of negative pivots equals the number of eigenvalues below sigma
/// (Sylvester's law of inertia).
class ShiftSolveOp {
public:
    using Scalar = double;
    /// L must be symmetric; only its upper triangle is read (copied once).
    explicit ShiftSolveOp(const SparseRef& L);
    ~ShiftSolveOp();
    ShiftSolveOp(const ShiftSolveOp&) = delete;
    ShiftSolveOp& operator=(const ShiftSolveOp&) = delete;
    Eigen::Index rows() const { return n_; }
    /// Factorise L - sigma I. Returns true iff the factorisation succeeded and
    /// proved L - sigma I positive definite (sigma below every eigenvalue).
    /// With `require_definite` false, any successful factorisation is accepted.
    bool try_set_shift(double sigma, bool require_definite = true);
    /// Spectra's interface: factorise (definiteness not required) or throw
    /// std::runtime_error.
    void set_shift(double sigma);
    void perform_op(const double* x_in, double* y_out) const;
    /// Y = (L - sigma I)^-1 X for a block of vectors (one multi-column
    /// solve: several times cheaper per vector than column by column).
    void perform_op_block(const Eigen::MatrixXd& X, Eigen::MatrixXd& Y) const;
    /// "cholmod" or "eigen-ldlt".
    static const char* backend();

private:
    struct Impl;
    Eigen::Index n_;
    Impl* impl_;
};

/// Eigensolvers for smallest_eigenvectors.
enum class EigenMethod {
    Lanczos,  ///< Spectra's implicitly restarted Lanczos, one shift-solve per step
    Block,    ///< block Krylov-Rayleigh-Ritz with multi-column shift-solves (see below)
};

struct EigenParams {
    int num_vectors = 100;     ///< k: how many eigenpairs
    EigenMethod method = EigenMethod::Lanczos;
    /// Basis size. Lanczos: 0 gives max(2k + 1, k + 20); block: 0 gives
    /// max(3k, k + 4 b). Capped at n.
    int ncv = 0;
    /// Lanczos: Spectra's relative tolerance on the Ritz values. Block: every
    /// returned pair has ||L v - lambda v|| <= tol * ||L||_inf.
    double tol = 1e-10;
    int max_restarts = 1000;   ///< restarts of either method before giving up
    int block_size = 0;        ///< block method: vectors per solve; 0: clamp(k / 5, 4, 32)
    /// Shift sigma. NaN (default): automatic, just below the spectrum (see
    /// smallest_eigenvectors).
    double shift = std::numeric_limits<double>::quiet_NaN();
};

struct EigenResult {
    Eigen::VectorXd values;   ///< k eigenvalues, ascending
    Eigen::MatrixXd vectors;  ///< n x k unit eigenvectors, same order, sign: largest |entry| > 0
    double shift = 0.0;       ///< the sigma used
    int factorizations = 0;   ///< LDL^T factorisations tried (shift moves + 1)
    int restarts = 0;         ///< restarts
    int operations = 0;       ///< shift-solves performed (vectors)
    double residual = 0.0;    ///< block method: largest ||L v - lambda v|| of the result
};

/// The k eigenpairs of a sparse symmetric L with the smallest (algebraic)
/// eigenvalues, by Spectra's implicitly restarted Lanczos in shift-and-invert
/// mode around sigma.
///
/// Automatic shift: L is a graph Laplacian with a few small negative
/// eigenvalues (negative semantic affinities). sigma starts at
/// -1e-4 * mean|diag L| and is moved down by a factor 4 until the
/// factorisation of L - sigma I proves it positive definite, i.e. sigma <
/// lambda_min; the wanted eigenvalues are then the ones nearest sigma. An explicit shift is used as given (the k
/// eigenvalues nearest to it are returned).
///
/// The starting vector is fixed (a seeded pseudo-random vector), so the result
/// is deterministic. Throws std::invalid_argument for a non-square matrix or
/// bad k, std::runtime_error if no shift can be factorised or Lanczos does not
/// converge.
///
/// Block method (EigenMethod::Block): Rayleigh-Ritz with L on a block Krylov
/// space of (L - sigma I)^-1 started from b seeded random vectors. Each step
/// solves for b vectors at once and orthogonalises them against the basis
/// (block classical Gram-Schmidt, twice); the projected matrix V^T L V and
/// W^T W (W = L V) are updated incrementally, which gives every Ritz pair's
/// residual norm without forming it. When the basis is full it is restarted
/// with the k + b best Ritz vectors and the expansion continues from the
/// unconverged ones. The result is accepted after an explicit residual check.
/// The same answer as Lanczos (to the tolerance) with far fewer, cheaper
/// passes over the basis: the triangular solves and the orthogonalisation
/// become matrix-matrix operations.
EigenResult smallest_eigenvectors(const SparseRef& L, const EigenParams& params = {});

}  // namespace sss
