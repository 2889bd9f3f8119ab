// Stage 7 of SPEC.md: shift-and-invert Lanczos (Spectra) with a sparse LDL^T.
#include "sss/eigensolver.hpp"

#include "blas.hpp"
#include "sss/parallel.hpp"

#include <Eigen/SparseCholesky>
#include <Spectra/SymEigsShiftSolver.h>
#ifdef SSS_HAVE_CHOLMOD
#include <Eigen/CholmodSupport>
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace sss {

struct ShiftSolveOp::Impl {
    using ColMatrix = Eigen::SparseMatrix<double, Eigen::ColMajor, int>;
    ColMatrix lower;  // lower triangle of L, column-major
#ifdef SSS_HAVE_CHOLMOD
    Eigen::CholmodSupernodalLLT<ColMatrix, Eigen::Lower> chol;
#else
    Eigen::SimplicialLDLT<ColMatrix, Eigen::Lower, Eigen::AMDOrdering<int>> ldlt;
#endif
    bool ok = false;
};

const char* ShiftSolveOp::backend() {
#ifdef SSS_HAVE_CHOLMOD
    return "cholmod";
#else
    return "eigen-ldlt";
#endif
}

ShiftSolveOp::ShiftSolveOp(const SparseRef& L) : n_(L.rows()), impl_(new Impl) {
    if (L.rows() != L.cols()) {
        delete impl_;
        throw std::invalid_argument("smallest_eigenvectors: matrix must be square, got " +
                                    std::to_string(L.rows()) + " x " + std::to_string(L.cols()));
    }
    // Row-major upper triangle transposed = column-major lower triangle of
    // L^T, which is L's lower triangle by symmetry.
    const SparseMatrix upper = L.triangularView<Eigen::Upper>();
    impl_->lower = Impl::ColMatrix(upper.transpose());
    impl_->lower.makeCompressed();
#ifdef SSS_HAVE_CHOLMOD
    impl_->chol.cholmod().print = 0;  // no warnings on stderr: failures are expected
    impl_->chol.analyzePattern(impl_->lower);
#else
    impl_->ldlt.analyzePattern(impl_->lower);
#endif
}

ShiftSolveOp::~ShiftSolveOp() { delete impl_; }

bool ShiftSolveOp::try_set_shift(double sigma, bool require_definite) {
    Impl& m = *impl_;
#ifdef SSS_HAVE_CHOLMOD
    (void)require_definite;  // Cholesky succeeds only for a definite matrix
    m.chol.setShift(-sigma);
    m.chol.factorize(m.lower);
    m.ok = m.chol.info() == Eigen::Success;
#else
    m.ldlt.setShift(-sigma, 1.0);
    m.ldlt.factorize(m.lower);
    m.ok = m.ldlt.info() == Eigen::Success && m.ldlt.vectorD().allFinite() &&
           (m.ldlt.vectorD().array() != 0.0).all();
    if (m.ok && require_definite) m.ok = (m.ldlt.vectorD().array() > 0.0).all();
#endif
    return m.ok;
}

void ShiftSolveOp::set_shift(double sigma) {
    if (!try_set_shift(sigma, false))
        throw std::runtime_error("smallest_eigenvectors: factorisation of L - sigma I failed "
                                 "for sigma = " + std::to_string(sigma));
}

void ShiftSolveOp::perform_op(const double* x_in, double* y_out) const {
    Eigen::Map<const Eigen::VectorXd> x(x_in, n_);
    Eigen::Map<Eigen::VectorXd> y(y_out, n_);
#ifdef SSS_HAVE_CHOLMOD
    y = impl_->chol.solve(x);
#else
    y = impl_->ldlt.solve(x);
#endif
}

void ShiftSolveOp::perform_op_block(const Eigen::MatrixXd& X, Eigen::MatrixXd& Y) const {
#ifdef SSS_HAVE_CHOLMOD
    Y = impl_->chol.solve(X);
#else
    Y = impl_->ldlt.solve(X);
#endif
}

namespace {

// Spectra's shift-solve solver calls set_shift() in its constructor; we have
// already chosen and factorised the shift, so forward everything but that.
struct PrefactorisedOp {
    using Scalar = double;
    ShiftSolveOp* op;
    Eigen::Index rows() const { return op->rows(); }
    void set_shift(double) {}
    void perform_op(const double* x, double* y) const { op->perform_op(x, y); }
};

// Picks (automatic) or applies (explicit) the shift; factorises L - sigma I.
void choose_shift(const SparseRef& L, ShiftSolveOp& op, double shift, EigenResult& res) {
    const Eigen::Index n = L.rows();
    double sigma = shift;
    if (std::isnan(sigma)) {
        double mean_diag = 0.0;
        for (Eigen::Index i = 0; i < n; ++i) mean_diag += std::abs(L.coeff(i, i));
        mean_diag /= static_cast<double>(n);
        if (!(mean_diag > 0.0) || !std::isfinite(mean_diag)) mean_diag = 1.0;
        double tau = 1e-4 * mean_diag;
        bool found = false;
        for (int attempt = 0; attempt < 40; ++attempt, tau *= 4.0) {
            ++res.factorizations;
            if (op.try_set_shift(-tau)) {
                sigma = -tau;
                found = true;
                break;
            }
        }
        if (!found)
            throw std::runtime_error("smallest_eigenvectors: found no shift below the spectrum "
                                     "(L - sigma I was not positive definite down to sigma = " + std::to_string(-tau / 4) + ")");
    } else {
        ++res.factorizations;
        if (!std::isfinite(sigma))
            throw std::invalid_argument("smallest_eigenvectors: shift must be finite");
        op.set_shift(sigma);
    }
    res.shift = sigma;
}

// Seed of the starting vectors of both methods (fixed: deterministic results).
constexpr std::uint64_t kStartSeed = 20180812u;

// n x cols uniform(-0.5, 0.5) numbers, column by column.
Eigen::MatrixXd seeded_random(Eigen::Index n, Eigen::Index cols, std::mt19937_64& gen) {
    std::uniform_real_distribution<double> uni(-0.5, 0.5);
    Eigen::MatrixXd X(n, cols);
    for (Eigen::Index j = 0; j < cols; ++j)
        for (Eigen::Index i = 0; i < n; ++i) X(i, j) = uni(gen);
    return X;
}

// Sorts ascending, normalises, and makes each vector's largest |entry| positive.
void finish(const Eigen::VectorXd& vals, const Eigen::MatrixXd& vecs, int k, EigenResult& res) {
    const Eigen::Index n = vecs.rows();
    std::vector<int> order(static_cast<size_t>(vals.size()));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return vals[a] < vals[b]; });
    res.values.resize(k);
    res.vectors.resize(n, k);
    for (int j = 0; j < k; ++j) {
        res.values[j] = vals[order[static_cast<size_t>(j)]];
        Eigen::VectorXd v = vecs.col(order[static_cast<size_t>(j)]);
        v.normalize();
        Eigen::Index imax = 0;
        v.cwiseAbs().maxCoeff(&imax);
        if (v[imax] < 0) v = -v;
        res.vectors.col(j) = v;
    }
}

void lanczos(ShiftSolveOp& op, const EigenParams& params, Eigen::Index ncv, EigenResult& res) {
    const Eigen::Index n = op.rows();
    const int k = params.num_vectors;
    PrefactorisedOp pop{&op};
    Spectra::SymEigsShiftSolver<PrefactorisedOp> solver(pop, k, ncv, res.shift);
    // Fixed starting vector: deterministic results.
    std::mt19937_64 gen(kStartSeed);
    const Eigen::MatrixXd v0 = seeded_random(n, 1, gen);
    solver.init(v0.data());
    // In shift-invert mode the largest 1/(lambda - sigma) are the eigenvalues
    // nearest sigma; sort the result by the transformed value, then ascending.
    const Eigen::Index nconv =
        solver.compute(Spectra::SortRule::LargestMagn, params.max_restarts, params.tol,
                       Spectra::SortRule::SmallestAlge);
    res.restarts = static_cast<int>(solver.num_iterations());
    res.operations = static_cast<int>(solver.num_operations());
    if (solver.info() != Spectra::CompInfo::Successful || nconv < k)
        throw std::runtime_error("smallest_eigenvectors: Lanczos did not converge (" +
                                 std::to_string(nconv) + " of " + std::to_string(k) +
                                 " eigenpairs after " + std::to_string(res.restarts) +
                                 " restarts); try a larger ncv or max_restarts");
    finish(solver.eigenvalues(), solver.eigenvectors(), k, res);
}

// In-place thin QR of X (n x b): X <- Q with orthonormal columns, returns R
// (b x b, upper triangular) with X_in = Q R. Cholesky QR (one Gram, one
// triangular scaling: two passes over X) when X is well conditioned, else
// Householder, whose Q is orthonormal even when X is rank deficient (R then
// has a zero on its diagonal).
Eigen::MatrixXd thin_qr(Eigen::Ref<Eigen::MatrixXd> X) {
    const Eigen::Index n = X.rows(), b = X.cols();
    Eigen::MatrixXd G(b, b);
    detail::gemm(true, false, 1.0, X, X, 0.0, G);
    Eigen::LLT<Eigen::MatrixXd> llt(G);
    if (llt.info() == Eigen::Success) {
        Eigen::MatrixXd R = llt.matrixU();
        const Eigen::VectorXd d = R.diagonal().cwiseAbs();
        // orthogonality of the result degrades like cond(X)^2 eps: accept
        // cond(X) <~ 1e4 (a second Gram-Schmidt pass follows every use)
        if (d.minCoeff() > 1e-4 * d.maxCoeff()) {
            const Eigen::MatrixXd Rinv = R.triangularView<Eigen::Upper>().solve(
                Eigen::MatrixXd::Identity(b, b));
            Eigen::MatrixXd Q(n, b);
            detail::gemm(false, false, 1.0, X, Rinv, 0.0, Q);
            X = Q;
            return R;
        }
    }
    Eigen::HouseholderQR<Eigen::MatrixXd> qr(X);
    Eigen::MatrixXd R = qr.matrixQR().topRows(b).triangularView<Eigen::Upper>();
    X = qr.householderQ() * Eigen::MatrixXd::Identity(n, b);
    return R;
}

// Block Krylov-Schur (thick-restart block Lanczos) for A = (L - sigma I)^-1:
// keeps A V = V H + Q B^T with an orthonormal basis V (dim columns), the next
// block Q and the projected matrix H, so every Ritz pair's residual norm
// ||A u - mu u|| = ||B^T s|| is known without forming u.
void block_krylov_schur(const SparseRef& L, ShiftSolveOp& op, const EigenParams& params,
                        Eigen::Index maxdim, Eigen::Index b, EigenResult& res) {
    const Eigen::Index n = L.rows();
    const int k = params.num_vectors;
    // V[:, :dim] is the basis, V[:, dim:dim + b] the next block; H holds
    // A V[:, :dim] = V[:, :dim + b] H[:dim + b, :dim].
    Eigen::MatrixXd V(n, maxdim + b);
    Eigen::MatrixXd H = Eigen::MatrixXd::Zero(maxdim + b, maxdim);
    Eigen::Index dim = 0;
    std::mt19937_64 gen(kStartSeed);
    V.leftCols(b) = seeded_random(n, b, gen);
    thin_qr(V.leftCols(b));

    Eigen::MatrixXd Y, C1, C2;
    const int check_every = static_cast<int>(std::max<Eigen::Index>(1, 32 / b));
    int since_check = check_every - 1;  // first look as soon as dim >= k
    double dbg_solve = 0, dbg_orth = 0, dbg_check = 0;
    std::chrono::steady_clock::time_point last_t2; bool have_t2 = false;
    for (;;) {
        // Expand: Y = A Q, orthogonalised against [V, Q] by block classical
        // Gram-Schmidt applied twice, each pass followed by a thin QR:
        // Y = V (C1 + C2 R1) + Q' R2 R1.
        const Eigen::Index m = dim + b;
        auto t0 = std::chrono::steady_clock::now();
        if (have_t2) dbg_check += std::chrono::duration<double>(t0 - last_t2).count();
        op.perform_op_block(V.middleCols(dim, b), Y);
        auto t1 = std::chrono::steady_clock::now();
        dbg_solve += std::chrono::duration<double>(t1 - t0).count();
        res.operations += static_cast<int>(b);
        C1.resize(m, b);
        C2.resize(m, b);
        detail::gemm(true, false, 1.0, V.leftCols(m), Y, 0.0, C1);
        detail::gemm(false, false, -1.0, V.leftCols(m), C1, 1.0, Y);
        const Eigen::MatrixXd R1 = thin_qr(Y);
        detail::gemm(true, false, 1.0, V.leftCols(m), Y, 0.0, C2);
        detail::gemm(false, false, -1.0, V.leftCols(m), C2, 1.0, Y);
        const Eigen::MatrixXd R2 = thin_qr(Y);
        H.block(0, dim, m, b) = C1 + C2 * R1.triangularView<Eigen::Upper>();
        H.block(m, dim, b, b) = R2.triangularView<Eigen::Upper>() * R1;
        V.middleCols(m, b) = Y;
        dim = m;
        auto t2 = std::chrono::steady_clock::now();
        dbg_orth += std::chrono::duration<double>(t2 - t1).count();
        last_t2 = t2; have_t2 = true;
        if (dim < k) continue;
        const bool full = dim + b > maxdim;
        // The projected eigenproblem costs O(dim^3): look every ~32 vectors
        // (and whenever the basis is full).
        if (!full && ++since_check < check_every) continue;
        since_check = 0;

        // Ritz pairs of A: H_sym s = mu s; wanted are the k largest |mu|
        // (eigenvalues of L nearest sigma).
        const Eigen::MatrixXd Hs = 0.5 * (H.topLeftCorner(dim, dim) +
                                          H.topLeftCorner(dim, dim).transpose());
        Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(Hs);
        if (es.info() != Eigen::Success)
            throw std::runtime_error("smallest_eigenvectors: projected eigenproblem failed");
        const Eigen::VectorXd& mu = es.eigenvalues();
        std::vector<Eigen::Index> order(static_cast<size_t>(dim));
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](Eigen::Index a, Eigen::Index c) {
            return std::abs(mu[a]) > std::abs(mu[c]);
        });
        Eigen::MatrixXd S(dim, dim);
        Eigen::VectorXd mus(dim);
        for (Eigen::Index j = 0; j < dim; ++j) {
            S.col(j) = es.eigenvectors().col(order[static_cast<size_t>(j)]);
            mus[j] = mu[order[static_cast<size_t>(j)]];
        }
        // residual norms ||A u - mu u|| = ||H[dim:dim+b, :dim] s||
        const Eigen::MatrixXd B = H.block(dim, 0, b, dim) * S.leftCols(k);
        const double mu_floor = std::pow(std::numeric_limits<double>::epsilon(), 2.0 / 3.0);
        Eigen::Index nconv = 0;
        for (int i = 0; i < k; ++i)
            if (B.col(i).norm() <= params.tol * std::max(mu_floor, std::abs(mus[i]))) ++nconv;
        if (nconv == k) {
            Eigen::MatrixXd U(n, k);
            detail::gemm(false, false, 1.0, V.leftCols(dim), S.leftCols(k), 0.0, U);
            // Rayleigh quotients with L and explicit residuals
            Eigen::MatrixXd LU(n, k);
            LU.noalias() = L * U;
            Eigen::VectorXd theta(k);
            double worst = 0.0;
            for (int i = 0; i < k; ++i) {
                const double nu = U.col(i).squaredNorm();
                theta[i] = U.col(i).dot(LU.col(i)) / nu;
                worst = std::max(worst, (LU.col(i) - theta[i] * U.col(i)).norm() / std::sqrt(nu));
            }
            res.residual = worst;
            finish(theta, U, k, res);
            if (std::getenv("SSS_EIG_DEBUG")) std::fprintf(stderr, "solve %.2f orth %.2f check %.2f\n", dbg_solve, dbg_orth, dbg_check);
            return;
        }
        if (!full) continue;
        // Thick restart: keep the `keep` best Ritz vectors and the next block.
        if (res.restarts >= params.max_restarts) break;
        ++res.restarts;
        const Eigen::Index keep = std::min<Eigen::Index>(
            k + std::min<Eigen::Index>(nconv, (maxdim - k) / 2), maxdim - b);
        Eigen::MatrixXd Vk(n, keep);
        detail::gemm(false, false, 1.0, V.leftCols(dim), S.leftCols(keep), 0.0, Vk);
        const Eigen::MatrixXd Q = V.middleCols(dim, b);
        const Eigen::MatrixXd Bk = H.block(dim, 0, b, dim) * S.leftCols(keep);
        V.leftCols(keep) = Vk;
        V.middleCols(keep, b) = Q;
        H.setZero();
        H.topLeftCorner(keep, keep).diagonal() = mus.head(keep);
        H.block(keep, 0, b, keep) = Bk;
        dim = keep;
    }
    throw std::runtime_error("smallest_eigenvectors: the block method did not converge after " +
                             std::to_string(res.restarts) + " restarts; try a larger ncv or "
                             "max_restarts");
}

}  // namespace

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
        b = params.block_size > 0 ? params.block_size : std::clamp(k / 5, 4, 32);
        ncv = params.ncv > 0 ? params.ncv : std::max<Eigen::Index>(3 * k, k + 4 * b);
        ncv = std::min<Eigen::Index>(ncv, n);
        b = std::min<Eigen::Index>(b, std::max<Eigen::Index>(1, (ncv - k) / 2));
        if (ncv < k + 2 * b)
            throw std::invalid_argument("smallest_eigenvectors: ncv must be at least k + 2 (block "
                                        "method), got " + std::to_string(ncv));
    } else {
        ncv = params.ncv > 0 ? params.ncv : std::max<Eigen::Index>(2 * k + 1, k + 20);
        ncv = std::min<Eigen::Index>(ncv, n);
        if (ncv <= k)
            throw std::invalid_argument("smallest_eigenvectors: ncv must exceed k");
    }

    auto t0 = std::chrono::steady_clock::now();
    ShiftSolveOp op(L);
    auto t1 = std::chrono::steady_clock::now();
    EigenResult res;
    choose_shift(L, op, params.shift, res);
    auto t2 = std::chrono::steady_clock::now();
    if (std::getenv("SSS_EIG_DEBUG")) std::fprintf(stderr, "analyze %.2f factor %.2f (%d)\n", std::chrono::duration<double>(t1 - t0).count(), std::chrono::duration<double>(t2 - t1).count(), res.factorizations);
#ifdef SSS_HAVE_CHOLMOD
    // Lanczos: the supernodal triangular solves are BLAS-2 on small blocks,
    // which a threaded BLAS (e.g. OpenBLAS) makes ~2x slower. The block
    // method's solves and orthogonalisation are BLAS-3 and use every core.
    detail::BlasThreads blas_guard(block ? resolve_threads(0) : 1);
#endif
    if (block)
        block_krylov_schur(L, op, params, ncv, b, res);
    else
        lanczos(op, params, ncv, res);
    return res;
}

}  // namespace sss
