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
    /// "cholmod" or "eigen-ldlt".
    static const char* backend();

private:
    struct Impl;
    Eigen::Index n_;
    Impl* impl_;
};

struct EigenParams {
    int num_vectors = 100;     ///< k: how many eigenpairs
    int ncv = 0;               ///< Lanczos basis size; 0: max(2k + 1, k + 20), capped at n
    double tol = 1e-10;        ///< Spectra's relative tolerance on the Ritz values
    int max_restarts = 1000;   ///< restarts of the implicitly restarted Lanczos method
    /// Shift sigma. NaN (default): automatic, just below the spectrum (see
    /// smallest_eigenvectors).
    double shift = std::numeric_limits<double>::quiet_NaN();
};

struct EigenResult {
    Eigen::VectorXd values;   ///< k eigenvalues, ascending
    Eigen::MatrixXd vectors;  ///< n x k unit eigenvectors, same order, sign: largest |entry| > 0
    double shift = 0.0;       ///< the sigma used
    int factorizations = 0;   ///< LDL^T factorisations tried (shift moves + 1)
    int restarts = 0;         ///< Lanczos restarts
    int operations = 0;       ///< shift-solves performed
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
EigenResult smallest_eigenvectors(const SparseRef& L, const EigenParams& params = {});

}  // namespace sss
