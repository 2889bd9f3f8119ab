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

void block_krylov(const SparseRef& L, ShiftSolveOp& op, const EigenParams& params,
                  Eigen::Index maxdim, Eigen::Index b, EigenResult& res) {
    const Eigen::Index n = L.rows();
    const int k = params.num_vectors;
    // ||L||_inf bounds ||L||_2: the residual tolerance is relative to it.
    double norm_inf = 0.0;
    for (Eigen::Index i = 0; i < n; ++i) {
        double row = 0.0;
        for (SparseRef::InnerIterator it(L, i); it; ++it) row += std::abs(it.value());
        norm_inf = std::max(norm_inf, row);
    }
    const double tol_abs = params.tol * std::max(norm_inf, std::numeric_limits<double>::min());
    const Eigen::Index keep = std::min<Eigen::Index>(k + b, maxdim - b);

    Eigen::MatrixXd V(n, maxdim), W(n, maxdim);  // basis and L * basis
    Eigen::MatrixXd H(maxdim, maxdim);  // V^T W
    Eigen::Index dim = 0;
    std::mt19937_64 gen(kStartSeed);

    // Orthonormalise X against V[:, :dim] and itself, append it, update H.
    auto append = [&](Eigen::MatrixXd X) {
        const Eigen::Index nb = X.cols();
        for (int attempt = 0; attempt < 3; ++attempt) {
            for (int pass = 0; pass < 2; ++pass) {
                if (dim > 0) {
                    Eigen::MatrixXd C(dim, nb);
                    detail::gemm(true, false, 1.0, V.leftCols(dim), X, 0.0, C);
                    detail::gemm(false, false, -1.0, V.leftCols(dim), C, 1.0, X);
                }
                // modified Gram-Schmidt within the block
                for (Eigen::Index j = 0; j < nb; ++j) {
                    for (Eigen::Index i = 0; i < j; ++i) X.col(j) -= X.col(i).dot(X.col(j)) * X.col(i);
                    const double nrm = X.col(j).norm();
                    if (pass == 1 && !(nrm > 1e-8)) {
                        X.col(j).setZero();  // deficient: replaced below
                        continue;
                    }
                    if (nrm > 0.0) X.col(j) /= nrm;
                }
            }
            bool deficient = false;
            for (Eigen::Index j = 0; j < nb; ++j)
                if (X.col(j).squaredNorm() < 0.5) {
                    X.col(j) = seeded_random(n, 1, gen);
                    deficient = true;
                }
            if (!deficient) break;
            if (attempt == 2)
                throw std::runtime_error("smallest_eigenvectors: could not extend the basis");
        }
        V.middleCols(dim, nb) = X;
        W.middleCols(dim, nb).noalias() = L * X;
        const Eigen::Index d2 = dim + nb;
        detail::gemm(true, false, 1.0, V.leftCols(d2), W.middleCols(dim, nb), 0.0,
                     H.block(0, dim, d2, nb));
        // symmetric: mirror the new columns into the new rows
        H.block(dim, 0, nb, dim) = H.block(0, dim, dim, nb).transpose();
        H.block(dim, dim, nb, nb) = (0.5 * (H.block(dim, dim, nb, nb) +
                                            H.block(dim, dim, nb, nb).transpose())).eval();
        dim = d2;
    };

    append(seeded_random(n, b, gen));
    Eigen::MatrixXd last = V.leftCols(b), Y;
    // Ends by returning a converged result or by the break when restarts run
    // out: every full basis is either accepted or restarted to keep < maxdim - b.
    for (;;) {
        op.perform_op_block(last, Y);
        res.operations += static_cast<int>(Y.cols());
        append(std::move(Y));
        last = V.middleCols(dim - b, b);
        if (dim + b <= maxdim) continue;  // expand until the basis is full
        Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(H.topLeftCorner(dim, dim));
        if (es.info() != Eigen::Success)
            throw std::runtime_error("smallest_eigenvectors: projected eigenproblem failed");
        const Eigen::VectorXd theta = es.eigenvalues();  // ascending
        const Eigen::MatrixXd& S = es.eigenvectors();
        // Explicit residuals L u - theta u = W s - theta V s of the k wanted
        // Ritz pairs (s^T W^T W s - theta^2 cancels catastrophically).
        Eigen::MatrixXd U(n, k), R(n, k);
        detail::gemm(false, false, 1.0, V.leftCols(dim), S.leftCols(k), 0.0, U);
        detail::gemm(false, false, 1.0, W.leftCols(dim), S.leftCols(k), 0.0, R);
        R -= U * theta.head(k).asDiagonal();
        std::vector<Eigen::Index> open;
        double worst = 0.0;
        for (int i = 0; i < k; ++i) {
            const double r = R.col(i).norm();
            worst = std::max(worst, r);
            if (!(r <= tol_abs)) open.push_back(i);
        }
        res.residual = worst;
        if (open.empty()) {
            finish(theta.head(k), U, k, res);
            return;
        }
        if (dim + b > maxdim) {  // thick restart with the keep best Ritz vectors
            if (res.restarts >= params.max_restarts)
                break;
            ++res.restarts;
            const Eigen::MatrixXd Sk = S.leftCols(keep);
            Eigen::MatrixXd Vk(n, keep), Wk(n, keep);
            detail::gemm(false, false, 1.0, V.leftCols(dim), Sk, 0.0, Vk);
            detail::gemm(false, false, 1.0, W.leftCols(dim), Sk, 0.0, Wk);
            V.leftCols(keep) = Vk;
            W.leftCols(keep) = Wk;
            H.topLeftCorner(keep, keep) = theta.head(keep).asDiagonal();
            dim = keep;
            // continue from the unconverged Ritz vectors, then the next ones,
            // then random vectors
            std::vector<Eigen::Index> pick(open.begin(), open.end());
            for (Eigen::Index i = k; static_cast<Eigen::Index>(pick.size()) < b && i < keep; ++i)
                pick.push_back(i);
            const Eigen::Index np = std::min<Eigen::Index>(b, static_cast<Eigen::Index>(pick.size()));
            last.resize(n, b);
            for (Eigen::Index j = 0; j < np; ++j) last.col(j) = V.col(pick[static_cast<size_t>(j)]);
            if (np < b) last.rightCols(b - np) = seeded_random(n, b - np, gen);
        }
    }
    throw std::runtime_error("smallest_eigenvectors: the block method did not converge after " +
                             std::to_string(res.restarts) + " restarts (residual " +
                             std::to_string(res.residual) + "); try a larger ncv or max_restarts");
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

    ShiftSolveOp op(L);
    EigenResult res;
    choose_shift(L, op, params.shift, res);
#ifdef SSS_HAVE_CHOLMOD
    // Lanczos: the supernodal triangular solves are BLAS-2 on small blocks,
    // which a threaded BLAS (e.g. OpenBLAS) makes ~2x slower. The block
    // method's solves and orthogonalisation are BLAS-3 and use every core.
    detail::BlasThreads blas_guard(block ? resolve_threads(0) : 1);
#endif
    if (block)
        block_krylov(L, op, params, ncv, b, res);
    else
        lanczos(op, params, ncv, res);
    return res;
}

}  // namespace sss
