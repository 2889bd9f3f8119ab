// Stage 7 (docs/algorithm.md): the eigenvectors of L with the smallest eigenvalues.
#pragma once

#include <Eigen/Dense>
#include <limits>
#include <memory>

#include "sss/sparse.hpp"

namespace sss {

namespace detail {
class ShiftSolveBackend;
}

/// Shift-solve operation y = (L - sigma I)^-1 x for a sparse symmetric L by a
/// sparse factorisation of L - sigma I, in the operator convention of
/// sss/solvers/operator.hpp (Spectra's: rows, cols, set_shift, perform_op, so
/// it can serve a Spectra solver), plus multi-column solves.
///
/// The factorisation is a backend's (cpp/src/eigen/): CHOLMOD's supernodal
/// Cholesky (SuiteSparse) when the library was built with it
/// (SSS_HAVE_CHOLMOD), else Eigen's SimplicialLDLT (AMD ordering).
///
/// Fill-reducing ordering (CHOLMOD): with a grid shape (L's rows are the
/// pixels of a grid_height x grid_width image, p = row * width + col), the
/// geometric nested dissection of sss/ordering.hpp, given to CHOLMOD as its
/// only ordering (CHOLMOD_GIVEN, postordered); without one, CHOLMOD's default
/// choice (METIS and AMD tried, the better kept). The Eigen fallback always
/// uses AMD. The ordering changes speed and rounding only.
///
/// `try_set_shift` also tells whether sigma lies below the spectrum: Cholesky
/// succeeds exactly when L - sigma I is positive definite, and for LDL^T the
/// number of negative pivots equals the number of eigenvalues below sigma
/// (Sylvester's law of inertia).
///
/// Not thread-safe: the solves reuse workspace held by the object, so one
/// object must not be used by several threads at once.
class ShiftSolveOp {
public:
    using Scalar = double;
    /// Cost of the factorisation (CHOLMOD backend; zeros otherwise).
    struct Stats {
        double analyze_seconds = 0.0;  ///< symbolic analysis incl. ordering
        double factor_seconds = 0.0;   ///< last numeric factorisation
        double lnz = 0.0;              ///< nonzeros in the factor
        double flops = 0.0;            ///< flops of one factorisation
        const char* ordering = "";     ///< "grid-nd", "metis", "amd", ... or "eigen-amd"
        /// Share of the factor's entries in the split-tree solve's sequential
        /// top (see perform_op_block); -1 when there is no split-tree solve.
        double split_tree_top = -1.0;
    };
    /// L must be symmetric; only its upper triangle is read (copied once).
    /// grid_height, grid_width: L's grid shape for the nested-dissection
    /// ordering; both 0 (default): unknown. Throws std::invalid_argument for a
    /// non-square L or a shape that is not 0 x 0 and does not have L.rows()
    /// pixels.
    explicit ShiftSolveOp(const SparseRef& L, int grid_height = 0, int grid_width = 0);
    ~ShiftSolveOp();
    ShiftSolveOp(const ShiftSolveOp&) = delete;
    ShiftSolveOp& operator=(const ShiftSolveOp&) = delete;
    Eigen::Index rows() const { return n_; }
    Eigen::Index cols() const { return n_; }
    /// Factorise L - sigma I. Returns true iff the factorisation succeeded and
    /// proved L - sigma I positive definite (sigma below every eigenvalue).
    /// With `require_definite` false, any successful factorisation is accepted.
    bool try_set_shift(double sigma, bool require_definite = true);
    /// Spectra's interface: factorise (definiteness not required) or throw
    /// std::runtime_error.
    void set_shift(double sigma);
    void perform_op(const double* x_in, double* y_out) const;
    /// Y = (L - sigma I)^-1 X for a block of vectors (multi-column solves:
    /// several times cheaper per vector than column by column). CHOLMOD
    /// backend, blocks of >= 4 columns: the factor's elimination tree is cut
    /// below its top into two halves of about equal work, each solved by one
    /// thread for all columns at once (split_tree_solve.hpp; uses at most 2
    /// threads). Results do not depend on the thread count.
    void perform_op_block(const Eigen::MatrixXd& X, Eigen::MatrixXd& Y) const;
    /// Threads for perform_op_block; <= 0 (default): all available (OpenMP).
    void set_solve_threads(int threads) { solve_threads_ = threads; }
    const Stats& stats() const;
    /// "cholmod" or "eigen-ldlt".
    static const char* backend();

private:
    Eigen::Index n_;
    int solve_threads_ = 0;
    bool ok_ = false;  // the last factorisation succeeded
    std::unique_ptr<detail::ShiftSolveBackend> impl_;
};

/// Eigensolvers for smallest_eigenvectors.
enum class EigenMethod {
    Lanczos,  ///< Spectra's implicitly restarted Lanczos, one shift-solve per step
    Block,    ///< block Krylov-Schur with multi-column shift-solves (see below)
};

/// The block method's default block size for k eigenpairs: clamp(k / 6, 4, 16).
inline int default_block_size(int k) { return k / 6 < 4 ? 4 : (k / 6 > 16 ? 16 : k / 6); }

struct EigenParams {
    int num_vectors = 100;     ///< k: how many eigenpairs
    EigenMethod method = EigenMethod::Block;
    /// Basis size. Lanczos: 0 gives max(2k + 1, k + 20); block: 0 gives
    /// max(3k, k + 4 b). Capped at n.
    int ncv = 0;
    /// Relative tolerance on the Ritz pairs of (L - sigma I)^-1: converged when
    /// ||A u - mu u|| <= tol |mu| (both methods), which bounds the returned
    /// ||L v - lambda v|| by tol ||L - sigma I||.
    double tol = 1e-10;
    int max_restarts = 1000;   ///< restarts of either method before giving up
    int block_size = 0;        ///< block method: vectors per solve; 0: default_block_size(k)
    /// Shift sigma. NaN (default): automatic, just below the spectrum (see
    /// smallest_eigenvectors).
    double shift = std::numeric_limits<double>::quiet_NaN();
    /// Image shape of L's grid (p = row * grid_width + col) for the
    /// nested-dissection ordering of the factorisation (see ShiftSolveOp);
    /// both 0 (default): unknown, CHOLMOD's own ordering.
    int grid_height = 0;
    int grid_width = 0;
    /// Threads for the solves, products and BLAS calls (0: all available).
    /// The result does not depend on it.
    int num_threads = 0;
};

struct EigenResult {
    Eigen::VectorXd values;   ///< k eigenvalues, ascending
    Eigen::MatrixXd vectors;  ///< n x k unit eigenvectors, same order, sign: largest |entry| > 0
    double shift = 0.0;       ///< the sigma used
    int factorizations = 0;   ///< LDL^T factorisations tried (shift moves + 1)
    int restarts = 0;         ///< restarts
    int operations = 0;       ///< shift-solves performed (vectors)
    double residual = 0.0;    ///< block method: largest ||L v - lambda v|| of the result
    // Wall-clock seconds per part.
    double seconds_analyze = 0.0;        ///< symbolic analysis (fill-reducing ordering)
    double seconds_factorize = 0.0;      ///< numeric factorisations of L - sigma I
    double seconds_solve = 0.0;          ///< shift-solves
    double seconds_orthogonalize = 0.0;  ///< basis extension (Lanczos: all of Spectra's own work)
    double seconds_ritz = 0.0;           ///< block method: projected eigenproblems, restarts, result
};

/// The k eigenpairs of a sparse symmetric L with the smallest (algebraic)
/// eigenvalues, by shift-and-invert around sigma: the eigenvalues of L nearest
/// sigma are the largest mu = 1 / (lambda - sigma) of A = (L - sigma I)^-1.
///
/// Automatic shift: L is a graph Laplacian with a few small negative
/// eigenvalues (negative semantic affinities). sigma starts at
/// -1e-4 * mean|diag L| and is moved down by a factor 4 until the
/// factorisation of L - sigma I proves it positive definite, i.e. sigma <
/// lambda_min; the wanted eigenvalues are then the ones nearest sigma. An
/// explicit shift is used as given (the k eigenvalues nearest to it are
/// returned).
///
/// Block method (EigenMethod::Block, the default): block Krylov-Schur, i.e.
/// thick-restarted block Lanczos on A. Each step solves for b vectors at once
/// (a multi-column supernodal solve costs much less than b single solves) and
/// orthogonalises them against the basis with matrix-matrix products:
/// classical Gram-Schmidt applied twice, the second pass of each block
/// delayed and fused with the first pass of the next (two sweeps over the
/// basis per step), each followed by a Cholesky QR. The Arnoldi relation
/// A V = V H + P B is kept, so every Ritz pair's residual norm is read off
/// the projected matrix; the projected eigenproblem is solved every ~32
/// vectors. When the basis is full it is restarted with the best Ritz
/// vectors (Krylov-Schur: the relation, hence the Krylov convergence, is
/// kept). On a breakdown (the space became invariant, e.g. an eigenvalue with
/// more eigenvectors than the block holds) random directions continue the
/// search. The returned eigenvalues are Rayleigh quotients with L.
///
/// Lanczos (EigenMethod::Lanczos): Spectra's implicitly restarted Lanczos,
/// one solve and a full reorthogonalisation per step.
///
/// The starting vectors are fixed (seeded pseudo-random), so the result is
/// deterministic. Throws std::invalid_argument for a non-square matrix or
/// bad k, std::runtime_error if no shift can be factorised or the method
/// does not converge.
EigenResult smallest_eigenvectors(const SparseRef& L, const EigenParams& params = {});

}  // namespace sss
