// Stage 7 (docs/algorithm.md): the k smallest eigenpairs of L by
// shift-and-invert. The pieces live in cpp/src/eigen/: the shift-solve
// backends (shift_solve_cholmod.cpp, shift_solve_ldlt.cpp, registered in
// backends.cpp), the shift search, block Krylov-Schur and Lanczos (templates
// on the op); this file holds ShiftSolveOp, which wraps the backend, and the
// driver.
#include "sss/eigensolver.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>

#include "blas.hpp"
#include "eigen/krylov_schur.hpp"
#include "eigen/lanczos.hpp"
#include "eigen/shift_search.hpp"
#include "eigen/shift_solve_backend.hpp"
#include "sss/parallel.hpp"
#include "stopwatch.hpp"

namespace sss {

const char* ShiftSolveOp::backend() { return detail::shift_solve_backend_name(); }

ShiftSolveOp::ShiftSolveOp(const SparseRef& L, int grid_height, int grid_width) : n_(L.rows()) {
    if (L.rows() != L.cols())
        throw std::invalid_argument("smallest_eigenvectors: matrix must be square, got " +
                                    std::to_string(L.rows()) + " x " + std::to_string(L.cols()));
    const bool grid = grid_height != 0 || grid_width != 0;
    if (grid && (grid_height < 1 || grid_width < 1 ||
                 static_cast<std::int64_t>(grid_height) * grid_width != L.rows()))
        throw std::invalid_argument("smallest_eigenvectors: grid shape " +
                                    std::to_string(grid_height) + " x " +
                                    std::to_string(grid_width) + " does not have the " +
                                    std::to_string(L.rows()) + " pixels of L");
    impl_ = detail::make_shift_solve_backend(L, grid_height, grid_width);
}

ShiftSolveOp::~ShiftSolveOp() = default;

const ShiftSolveOp::Stats& ShiftSolveOp::stats() const { return impl_->stats(); }

bool ShiftSolveOp::try_set_shift(double sigma, bool require_definite) {
    ok_ = impl_->try_set_shift(sigma, require_definite);
    return ok_;
}

void ShiftSolveOp::set_shift(double sigma) {
    if (!try_set_shift(sigma, false))
        throw std::runtime_error("smallest_eigenvectors: factorisation of L - sigma I failed "
                                 "for sigma = " + std::to_string(sigma));
}

void ShiftSolveOp::perform_op(const double* x_in, double* y_out) const {
    check_cancel();  // Spectra's Lanczos loop calls this once per step
    if (!ok_) throw std::logic_error("ShiftSolveOp: no successful factorisation");
    impl_->solve(x_in, y_out, 1, resolve_threads(solve_threads_));
}

void ShiftSolveOp::perform_op_block(const Eigen::MatrixXd& X, Eigen::MatrixXd& Y) const {
    check_cancel();
    if (!ok_) throw std::logic_error("ShiftSolveOp: no successful factorisation");
    if (X.rows() != n_) throw std::invalid_argument("ShiftSolveOp: block has the wrong number of rows");
    Y.resize(n_, X.cols());
    impl_->solve(X.data(), Y.data(), X.cols(), resolve_threads(solve_threads_));
}

EigenResult smallest_eigenvectors(const SparseRef& L, const EigenParams& params) {
    const Eigen::Index n = L.rows();
    if (L.rows() != L.cols())
        throw std::invalid_argument("smallest_eigenvectors: matrix must be square, got " +
                                    std::to_string(L.rows()) + " x " + std::to_string(L.cols()));
    const int k = params.num_vectors;
    if (k < 1 || k >= n)
        throw std::invalid_argument("smallest_eigenvectors: k must be in [1, n-1] = [1, " +
                                    std::to_string(n - 1) + "], got " + std::to_string(k));
    if (!(params.tol > 0.0))
        throw std::invalid_argument("smallest_eigenvectors: tol must be > 0");
    if (params.block_size < 0)
        throw std::invalid_argument("smallest_eigenvectors: block_size must be >= 0");
    const bool block = params.method == EigenMethod::Block;
    Eigen::Index b = 0, ncv = 0;
    if (block) {
        b = params.block_size > 0 ? params.block_size : default_block_size(k);
        ncv = params.ncv > 0 ? params.ncv : std::max<Eigen::Index>(3 * k, k + 4 * b);
        ncv = std::min<Eigen::Index>(ncv, n);
        b = std::min<Eigen::Index>(b, std::max<Eigen::Index>(1, (ncv - k) / 2));
        if (ncv < k + 2 * b)
            throw std::invalid_argument("smallest_eigenvectors: ncv must be at least k + 2 (block "
                                        "method), got " + std::to_string(ncv));
    } else {
#ifndef SSS_HAVE_SPECTRA
        detail::spectra_missing();  // before the factorisation, not after it
#endif
        ncv = params.ncv > 0 ? params.ncv : std::max<Eigen::Index>(2 * k + 1, k + 20);
        ncv = std::min<Eigen::Index>(ncv, n);
        if (ncv <= k)
            throw std::invalid_argument("smallest_eigenvectors: ncv must exceed k");
    }

    if (params.num_threads < 0)
        throw std::invalid_argument("smallest_eigenvectors: num_threads must be >= 0");
    const int nt = resolve_threads(params.num_threads);
    // Deterministic for every thread count: the BLAS runs single-threaded
    // (a multi-threaded BLAS rounds differently with each thread count, in
    // CHOLMOD's factorisation too); the parallel parts split their work in
    // ways that do not depend on the thread count (gemm_fixed, split-tree
    // solves, fixed column groups).
    detail::BlasThreads blas_guard(1);
    detail::Stopwatch sw;
    ShiftSolveOp op(L, params.grid_height, params.grid_width);
    op.set_solve_threads(nt);
    EigenResult res;
    res.seconds_analyze = sw.lap();
    detail::choose_shift(L, op, params.shift, res);
    res.seconds_factorize = sw.lap();
    if (block)
        detail::block_krylov_schur(L, op, params, ncv, b, res);
    else
        detail::lanczos(op, params, ncv, res);
    return res;
}

}  // namespace sss
