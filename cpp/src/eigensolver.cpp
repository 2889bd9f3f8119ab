// Stage 7 of SPEC.md: shift-and-invert Lanczos (Spectra) with a sparse LDL^T.
#include "sss/eigensolver.hpp"

#include "blas.hpp"

#include <Eigen/SparseCholesky>
#include <Spectra/SymEigsShiftSolver.h>
#ifdef SSS_HAVE_CHOLMOD
#include <Eigen/CholmodSupport>
#endif

#include <algorithm>
#include <cmath>
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
    Eigen::Index ncv = params.ncv > 0 ? params.ncv : std::max<Eigen::Index>(2 * k + 1, k + 20);
    ncv = std::min<Eigen::Index>(ncv, n);
    if (ncv <= k)
        throw std::invalid_argument("smallest_eigenvectors: ncv must exceed k");
    if (!(params.tol > 0.0))
        throw std::invalid_argument("smallest_eigenvectors: tol must be > 0");

    ShiftSolveOp op(L);
    EigenResult res;
    double sigma = params.shift;
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

    PrefactorisedOp pop{&op};
    Spectra::SymEigsShiftSolver<PrefactorisedOp> solver(pop, k, ncv, sigma);
    // Fixed starting vector: deterministic results.
    Eigen::VectorXd v0(n);
    std::mt19937_64 gen(20180812u);
    std::uniform_real_distribution<double> uni(-0.5, 0.5);
    for (Eigen::Index i = 0; i < n; ++i) v0[i] = uni(gen);
    solver.init(v0.data());
    // In shift-invert mode the largest 1/(lambda - sigma) are the eigenvalues
    // nearest sigma; sort the result by the transformed value, then ascending.
#ifdef SSS_HAVE_CHOLMOD
    // The supernodal triangular solves are BLAS-2 on small blocks: a threaded
    // BLAS (e.g. OpenBLAS) makes them ~2x slower.
    detail::BlasThreads blas_guard(1);
#endif
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
    Eigen::VectorXd vals = solver.eigenvalues();
    Eigen::MatrixXd vecs = solver.eigenvectors();
    std::vector<int> order(static_cast<size_t>(k));
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
    return res;
}

}  // namespace sss
