// Stage 7 (docs/algorithm.md): shift-and-invert block Krylov-Schur or Lanczos (Spectra)
// with a sparse Cholesky / LDL^T.
#include "sss/eigensolver.hpp"
#include "sss/progress.hpp"

#include "blas.hpp"
#include "sss/ordering.hpp"
#include "sss/parallel.hpp"
#include "split_tree_solve.hpp"
#include "stopwatch.hpp"

#include <Eigen/SparseCholesky>
#ifdef SSS_HAVE_SPECTRA
#include <Spectra/SymEigsShiftSolver.h>
#endif
#ifdef SSS_HAVE_CHOLMOD
#include <cholmod.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace sss {

namespace {

using detail::Stopwatch;

#ifdef SSS_HAVE_CHOLMOD
// A cholmod_dense header viewing caller-owned column-major storage.
cholmod_dense dense_view(const double* data, Eigen::Index rows, Eigen::Index cols) {
    cholmod_dense d{};
    d.nrow = static_cast<size_t>(rows);
    d.ncol = static_cast<size_t>(cols);
    d.nzmax = d.nrow * d.ncol;
    d.d = d.nrow;
    d.x = const_cast<double*>(data);
    d.z = nullptr;
    d.xtype = CHOLMOD_REAL;
    d.dtype = CHOLMOD_DOUBLE;
    return d;
}

// Throws for CHOLMOD errors (status < 0); warnings (e.g. not positive
// definite) are left to the caller.
void check_cholmod(const cholmod_common& c, const char* what) {
    if (c.status == CHOLMOD_OUT_OF_MEMORY) throw std::bad_alloc();
    if (c.status < 0)
        throw std::runtime_error(std::string("smallest_eigenvectors: CHOLMOD ") + what +
                                 " failed (status " + std::to_string(c.status) + ")");
}

// One thread's solve state: its own cholmod_common and reusable workspace
// (X: result, Y and E: cholmod_solve2's workspace); the factor is shared.
struct SolveSlot {
    cholmod_common common;
    cholmod_dense* X = nullptr;
    cholmod_dense* Y = nullptr;
    cholmod_dense* E = nullptr;
    SolveSlot() {
        cholmod_start(&common);
        common.print = 0;
    }
    ~SolveSlot() {
        cholmod_free_dense(&X, &common);
        cholmod_free_dense(&Y, &common);
        cholmod_free_dense(&E, &common);
        cholmod_finish(&common);
    }
    SolveSlot(const SolveSlot&) = delete;
    SolveSlot& operator=(const SolveSlot&) = delete;
    // out (n x cols, leading dimension ld) = A^-1 in (n x cols, contiguous).
    void solve(cholmod_factor* F, const double* in, Eigen::Index n, Eigen::Index cols,
               double* out, Eigen::Index ld) {
        cholmod_dense B = dense_view(in, n, cols);
        const int done = cholmod_solve2(CHOLMOD_A, F, &B, nullptr, &X, nullptr, &Y, &E, &common);
        check_cholmod(common, "solve");
        if (!done || !X) throw std::runtime_error("smallest_eigenvectors: CHOLMOD solve failed");
        const double* x = static_cast<const double*>(X->x);
        const Eigen::Index ldx = static_cast<Eigen::Index>(X->d);
        for (Eigen::Index j = 0; j < cols; ++j)
            std::copy(x + j * ldx, x + j * ldx + n, out + j * ld);
    }
};
#endif

}  // namespace

struct ShiftSolveOp::Impl {
    using ColMatrix = Eigen::SparseMatrix<double, Eigen::ColMajor, int>;
    ColMatrix lower;  // lower triangle of L, column-major
    Stats stats;
#ifdef SSS_HAVE_CHOLMOD
    cholmod_common common;  // analysis and factorisation
    cholmod_factor* factor = nullptr;
    // slots[0] serves perform_op; slots[0..t) serve perform_op_block's t groups
    mutable std::vector<std::unique_ptr<SolveSlot>> slots;
    // Block solves on the supernodal LL^T factor (rebuilt per factorisation);
    // null when the factor is not one (then the column groups serve).
    std::unique_ptr<detail::SplitTreeSolve> tree;
    void make_tree() {
        tree.reset();
        const cholmod_factor* F = factor;
        if (!F || !F->is_super || !F->is_ll || F->itype != CHOLMOD_INT ||
            F->xtype != CHOLMOD_REAL || F->dtype != CHOLMOD_DOUBLE)
            return;
        detail::SupernodalFactor v;
        v.n = static_cast<Eigen::Index>(F->n);
        v.nsuper = static_cast<int>(F->nsuper);
        v.super = static_cast<const int*>(F->super);
        v.pi = static_cast<const int*>(F->pi);
        v.px = static_cast<const int*>(F->px);
        v.s = static_cast<const int*>(F->s);
        v.x = static_cast<const double*>(F->x);
        v.perm = static_cast<const int*>(F->Perm);
        try {
            tree = std::make_unique<detail::SplitTreeSolve>(v);
        } catch (const std::invalid_argument&) {
            // e.g. supernodes not postordered: the column groups serve
        }
    }
    Impl() { cholmod_start(&common); }
    ~Impl() {
        slots.clear();
        cholmod_free_factor(&factor, &common);
        cholmod_finish(&common);
    }
    cholmod_sparse view() {
        cholmod_sparse A{};
        A.nrow = A.ncol = static_cast<size_t>(lower.rows());
        A.nzmax = static_cast<size_t>(lower.nonZeros());
        A.p = lower.outerIndexPtr();
        A.i = lower.innerIndexPtr();
        A.x = lower.valuePtr();
        A.stype = -1;  // symmetric, lower triangle stored
        A.itype = CHOLMOD_INT;
        A.xtype = CHOLMOD_REAL;
        A.dtype = CHOLMOD_DOUBLE;
        A.sorted = 1;
        A.packed = 1;
        return A;
    }
    SolveSlot& slot(size_t i) const {
        while (slots.size() <= i) slots.emplace_back(new SolveSlot);
        return *slots[i];
    }
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

ShiftSolveOp::ShiftSolveOp(const SparseRef& L, int grid_height, int grid_width)
    : n_(L.rows()), impl_(nullptr) {
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
    std::unique_ptr<Impl> impl(new Impl);
    Impl& m = *impl;
    // Row-major upper triangle transposed = column-major lower triangle of
    // L^T, which is L's lower triangle by symmetry.
    const SparseMatrix upper = L.triangularView<Eigen::Upper>();
    m.lower = Impl::ColMatrix(upper.transpose());
    m.lower.makeCompressed();
    Stopwatch sw;
#ifdef SSS_HAVE_CHOLMOD
    m.common.print = 0;  // no warnings on stderr: failures are expected
    m.common.supernodal = CHOLMOD_SUPERNODAL;
    m.common.final_asis = 1;  // keep the supernodal LL^T
    std::vector<int> perm;
    if (grid) {
        perm = grid_nested_dissection(L, grid_height, grid_width);
        m.common.nmethods = 1;
        m.common.method[0].ordering = CHOLMOD_GIVEN;
        m.common.postorder = 1;
    }
    cholmod_sparse A = m.view();
    m.factor = cholmod_analyze_p(&A, grid ? perm.data() : nullptr, nullptr, 0, &m.common);
    check_cholmod(m.common, "analysis");
    if (!m.factor) throw std::runtime_error("smallest_eigenvectors: CHOLMOD analysis failed");
    m.stats.lnz = m.common.lnz;
    m.stats.flops = m.common.fl;
    switch (m.common.method[m.common.selected].ordering) {
        case CHOLMOD_GIVEN: m.stats.ordering = "grid-nd"; break;
        case CHOLMOD_AMD: m.stats.ordering = "amd"; break;
        case CHOLMOD_METIS: m.stats.ordering = "metis"; break;
        case CHOLMOD_NESDIS: m.stats.ordering = "nesdis"; break;
        case CHOLMOD_NATURAL: m.stats.ordering = "natural"; break;
        default: m.stats.ordering = "other"; break;
    }
#else
    m.ldlt.analyzePattern(m.lower);
    m.stats.ordering = "eigen-amd";
#endif
    m.stats.analyze_seconds = sw.lap();
    impl_ = impl.release();
}

ShiftSolveOp::~ShiftSolveOp() { delete impl_; }

const ShiftSolveOp::Stats& ShiftSolveOp::stats() const { return impl_->stats; }

bool ShiftSolveOp::try_set_shift(double sigma, bool require_definite) {
    Impl& m = *impl_;
    Stopwatch sw;
#ifdef SSS_HAVE_CHOLMOD
    (void)require_definite;  // Cholesky succeeds only for a definite matrix
    cholmod_sparse A = m.view();
    double beta[2] = {-sigma, 0.0};
    cholmod_factorize_p(&A, beta, nullptr, 0, m.factor, &m.common);
    check_cholmod(m.common, "factorisation");
    // On success minor == n; otherwise the column where it failed.
    m.ok = m.factor->minor == m.factor->n;
    if (m.ok) m.make_tree();
    m.stats.split_tree_top = m.tree ? m.tree->top_fraction() : -1.0;
#else
    m.ldlt.setShift(-sigma, 1.0);
    m.ldlt.factorize(m.lower);
    m.ok = m.ldlt.info() == Eigen::Success && m.ldlt.vectorD().allFinite() &&
           (m.ldlt.vectorD().array() != 0.0).all();
    if (m.ok && require_definite) m.ok = (m.ldlt.vectorD().array() > 0.0).all();
#endif
    m.stats.factor_seconds = sw.lap();
    return m.ok;
}

void ShiftSolveOp::set_shift(double sigma) {
    if (!try_set_shift(sigma, false))
        throw std::runtime_error("smallest_eigenvectors: factorisation of L - sigma I failed "
                                 "for sigma = " + std::to_string(sigma));
}

void ShiftSolveOp::perform_op(const double* x_in, double* y_out) const {
    check_cancel();  // Spectra's Lanczos loop calls this once per step
    if (!impl_->ok) throw std::logic_error("ShiftSolveOp: no successful factorisation");
#ifdef SSS_HAVE_CHOLMOD
    impl_->slot(0).solve(impl_->factor, x_in, n_, 1, y_out, n_);
#else
    Eigen::Map<const Eigen::VectorXd> x(x_in, n_);
    Eigen::Map<Eigen::VectorXd> y(y_out, n_);
    y = impl_->ldlt.solve(x);
#endif
}

void ShiftSolveOp::perform_op_block(const Eigen::MatrixXd& X, Eigen::MatrixXd& Y) const {
    check_cancel();
    if (!impl_->ok) throw std::logic_error("ShiftSolveOp: no successful factorisation");
    if (X.rows() != n_) throw std::invalid_argument("ShiftSolveOp: block has the wrong number of rows");
#ifdef SSS_HAVE_CHOLMOD
    const Eigen::Index cols = X.cols();
    Y.resize(n_, cols);
    if (cols == 0) return;
    // One thread per half of the elimination tree, every column at once
    // (bench_eigensolver.py: 16 columns at 640x480 1.3x faster than 8 + 8
    // column groups; fewer than 4 columns are faster as one CHOLMOD solve).
    constexpr Eigen::Index kMinTreeCols = 4;
    if (block_solve_ == BlockSolve::SplitTree && impl_->tree && cols >= kMinTreeCols) {
        detail::BlasThreads blas_guard(1);  // the BLAS is called from both threads
        impl_->tree->solve(X.data(), n_, cols, Y.data(), n_, resolve_threads(solve_threads_));
        return;
    }
    // Groups of >= 8 columns: every group streams the whole factor from
    // memory, which pays only when each does enough BLAS-3 work per pass
    // (bench_eigensolver.py, 2 cores: 8 columns as 4 + 4 0.8x at 320x320 and
    // 1.2x at 640x480; 16 as 8 + 8 1.1x and 2.0x; 4 as 2 + 2 never faster).
    constexpr Eigen::Index kMinGroupCols = 8;
    // The grouping does not depend on the thread count (nor the result).
    constexpr Eigen::Index kMaxGroups = 2;
    const int groups = static_cast<int>(
        std::max<Eigen::Index>(1, std::min<Eigen::Index>(kMaxGroups, cols / kMinGroupCols)));
    const int group_threads = std::min(groups, resolve_threads(solve_threads_));
    if (groups == 1) {
        impl_->slot(0).solve(impl_->factor, X.data(), n_, cols, Y.data(), n_);
        return;
    }
    impl_->slot(static_cast<size_t>(groups - 1));  // create the slots before the threads
    // Each group calls the BLAS from its own thread: keep the BLAS serial.
    detail::BlasThreads blas_guard(1);
    std::vector<std::exception_ptr> errors(static_cast<size_t>(groups));
#pragma omp parallel for num_threads(group_threads) schedule(static, 1)
    for (int g = 0; g < groups; ++g) {
        const Eigen::Index c0 = cols * g / groups, c1 = cols * (g + 1) / groups;
        try {
            impl_->slots[static_cast<size_t>(g)]->solve(impl_->factor, X.data() + c0 * n_, n_,
                                                        c1 - c0, Y.data() + c0 * n_, n_);
        } catch (...) {
            errors[static_cast<size_t>(g)] = std::current_exception();
        }
    }
    for (const auto& e : errors)
        if (e) std::rethrow_exception(e);
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
    double* seconds;  // accumulates the time spent in solves
    Eigen::Index rows() const { return op->rows(); }
    void set_shift(double) {}
    void perform_op(const double* x, double* y) const {
        Stopwatch sw;
        op->perform_op(x, y);
        *seconds += sw.lap();
    }
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

#ifndef SSS_HAVE_SPECTRA
[[noreturn]] void spectra_missing() {
    throw std::runtime_error(
        "smallest_eigenvectors: method='lanczos' needs the Spectra library, and this build of sss "
        "was compiled without it. Use method='block' (the default, same eigenpairs), or install "
        "Spectra 1.0+ (Debian/Ubuntu: apt-get install libspectra-dev; elsewhere: the header-only "
        "release from spectralib.org) and rebuild sss from source (pip install --no-binary "
        "semantic-soft-segmentation semantic-soft-segmentation). See sss.show_config().");
}
#endif

void lanczos(ShiftSolveOp& op, const EigenParams& params, Eigen::Index ncv, EigenResult& res) {
#ifndef SSS_HAVE_SPECTRA
    (void)op, (void)params, (void)ncv, (void)res;
    spectra_missing();
#else
    const Eigen::Index n = op.rows();
    const int k = params.num_vectors;
    Stopwatch sw;
    PrefactorisedOp pop{&op, &res.seconds_solve};
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
    res.seconds_orthogonalize = sw.lap() - res.seconds_solve;  // Spectra's own work
    res.restarts = static_cast<int>(solver.num_iterations());
    res.operations = static_cast<int>(solver.num_operations());
    if (solver.info() != Spectra::CompInfo::Successful || nconv < k)
        throw std::runtime_error("smallest_eigenvectors: Lanczos did not converge (" +
                                 std::to_string(nconv) + " of " + std::to_string(k) +
                                 " eigenpairs after " + std::to_string(res.restarts) +
                                 " restarts); try a larger ncv or max_restarts");
    finish(solver.eigenvalues(), solver.eigenvectors(), k, res);
#endif
}

// In-place thin QR of X (n x b): X <- Q with orthonormal columns, returns R
// (b x b, upper triangular) with X_in = Q R. Cholesky QR (one Gram, one
// triangular scaling: two passes over X) when X is well conditioned, else
// Householder, whose Q is orthonormal even when X is rank deficient (R then
// has a zero on its diagonal).
Eigen::MatrixXd thin_qr(Eigen::Ref<Eigen::MatrixXd> X, Eigen::MatrixXd& work, int threads) {
    const Eigen::Index n = X.rows(), b = X.cols();
    Eigen::MatrixXd G(b, b);
    detail::gemm_fixed(true, false, 1.0, X, X, 0.0, G, threads);
    Eigen::LLT<Eigen::MatrixXd> llt(G);
    if (llt.info() == Eigen::Success) {
        Eigen::MatrixXd R = llt.matrixU();
        const Eigen::VectorXd d = R.diagonal().cwiseAbs();
        // orthogonality of the result degrades like cond(X)^2 eps: accept
        // cond(X) <~ 1e4 (a second Gram-Schmidt pass follows every use)
        if (d.minCoeff() > 1e-4 * d.maxCoeff()) {
            const Eigen::MatrixXd Rinv = R.triangularView<Eigen::Upper>().solve(
                Eigen::MatrixXd::Identity(b, b));
            work.resize(n, b);
            detail::gemm_fixed(false, false, 1.0, X, Rinv, 0.0, work, threads);
            X = work;
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
// Y = L U for CSR L and column-major U (n x k). By panels of 16 columns of
// U, rows of L in parallel: the panel's entries that a row's neighbours
// touch stay in cache from one row to the next (Eigen's product walks one
// column of U at a time, reading L k times).
void sparse_times_dense(const SparseRef& L, const Eigen::MatrixXd& U, Eigen::MatrixXd& Y,
                        int threads) {
    const Eigen::Index n = L.rows(), k = U.cols();
    constexpr Eigen::Index kPanel = 16;
    Y.resize(n, k);
    const int* outer = L.outerIndexPtr();
    const int* inner = L.innerIndexPtr();
    const double* val = L.valuePtr();
    for (Eigen::Index c0 = 0; c0 < k; c0 += kPanel) {
        const Eigen::Index p = std::min(kPanel, k - c0);
        const double* Up = U.data() + c0 * n;
        double* Yp = Y.data() + c0 * n;
#pragma omp parallel for schedule(static) num_threads(threads)
        for (Eigen::Index i = 0; i < n; ++i) {
            double acc[kPanel] = {};
            for (int e = outer[i]; e < outer[i + 1]; ++e) {
                const double v = val[e];
                const double* u = Up + inner[e];
                for (Eigen::Index c = 0; c < p; ++c) acc[c] += v * u[c * n];
            }
            for (Eigen::Index c = 0; c < p; ++c) Yp[c * n + i] = acc[c];
        }
    }
}

// Rayleigh quotients theta_i = u_i^T L u_i / u_i^T u_i of the columns of U
// and the largest explicit residual ||L u_i - theta_i u_i|| / ||u_i||.
double rayleigh_residuals(const SparseRef& L, const Eigen::MatrixXd& U, Eigen::VectorXd& theta,
                          int threads) {
    Eigen::MatrixXd LU;
    sparse_times_dense(L, U, LU, threads);
    const Eigen::Index k = U.cols();
    theta.resize(k);
    double worst = 0.0;
    for (Eigen::Index i = 0; i < k; ++i) {
        const double nu = U.col(i).squaredNorm();
        theta[i] = U.col(i).dot(LU.col(i)) / nu;
        worst = std::max(worst, (LU.col(i) - theta[i] * U.col(i)).norm() / std::sqrt(nu));
    }
    return worst;
}

void block_krylov_schur(const SparseRef& L, ShiftSolveOp& op, const EigenParams& params,
                        Eigen::Index maxdim, Eigen::Index b, EigenResult& res) {
    const Eigen::Index n = L.rows();
    const int k = params.num_vectors;
    const int nt = resolve_threads(params.num_threads);
    // V[:, :dim] is the basis, V[:, dim:dim + b] the next block; H holds
    // A V[:, :dim] = V[:, :dim + b] H[:dim + b, :dim].
    Eigen::MatrixXd V(n, maxdim + b);
    Eigen::MatrixXd H = Eigen::MatrixXd::Zero(maxdim + b, maxdim);
    Eigen::Index dim = 0;
    std::mt19937_64 gen(kStartSeed);
    V.leftCols(b) = seeded_random(n, b, gen);
    Eigen::MatrixXd work(n, b);  // n x b scratch, reused (no page faults per step)
    thin_qr(V.leftCols(b), work, nt);

    Eigen::MatrixXd Y;
    Eigen::VectorXd znorm;
    bool breakdown = false;
    double progress = 0.0, first_worst = -1.0;  // see report_progress below
    report_progress(0.0);
    // Orthonormalises the new block W = V[:, dim+b : dim+2b] (already
    // projected once against the basis), W = P' R. Columns that vanished
    // against their norm before projection (the Krylov space became
    // invariant: a breakdown) are replaced by seeded random vectors, as
    // Spectra does, so the search goes on into the rest of the space; their
    // columns of R are zero (their content was rounding noise).
    auto next_block = [&](Eigen::Index m) {
        auto W = V.middleCols(m, b);
        std::vector<Eigen::Index> vanished;
        for (Eigen::Index j = 0; j < b; ++j)
            if (!(W.col(j).norm() > 1e-12 * znorm[j])) {
                W.col(j) = seeded_random(n, 1, gen);
                vanished.push_back(j);
            }
        Eigen::MatrixXd R = thin_qr(W, work, nt);
        for (Eigen::Index j : vanished) R.col(j).setZero();
        breakdown = !vanished.empty();
        return R;
    };
    const int check_every = static_cast<int>(std::max<Eigen::Index>(1, 32 / b));
    int since_check = check_every - 1;  // first look as soon as dim >= k
    Stopwatch sw;
    // The next block P = V[:, dim:dim+b] is orthogonalised against V by one
    // Gram-Schmidt pass only; its second pass is delayed and fused with the
    // first pass of the following block (two sweeps over V per step instead
    // of four). Invariant: A V = V H[:dim, :dim] + P H[dim:dim+b, :dim].
    for (;;) {
        res.seconds_ritz += sw.lap();
        op.perform_op_block(V.middleCols(dim, b), Y);  // Z = A P
        res.seconds_solve += sw.lap();
        res.operations += static_cast<int>(b);
        const Eigen::Index m = dim + b;
        znorm = Y.colwise().norm();
        V.middleCols(m, b) = Y;
        // One sweep: [V, P]^T [P, Z] = [C2 VZ; PP PZ]
        Eigen::MatrixXd G(m, 2 * b);
        detail::gemm_fixed(true, false, 1.0, V.leftCols(m), V.middleCols(dim, 2 * b), 0.0, G, nt);
        const Eigen::MatrixXd C2 = G.topLeftCorner(dim, b), VZ = G.topRightCorner(dim, b);
        const Eigen::MatrixXd PP = G.bottomLeftCorner(b, b), PZ = G.bottomRightCorner(b, b);
        // P = V C2 + Q R2 with R2^T R2 = P^T P - C2^T C2 (P is nearly
        // orthonormal and nearly orthogonal to V, so this does not cancel).
        Eigen::LLT<Eigen::MatrixXd> llt(0.5 * (PP - C2.transpose() * C2 +
                                               (PP - C2.transpose() * C2).transpose()));
        Eigen::MatrixXd R2;
        bool fast = llt.info() == Eigen::Success;
        if (fast) {
            R2 = llt.matrixU();
            const Eigen::VectorXd d = R2.diagonal();
            fast = d.minCoeff() > 0.5 && d.maxCoeff() < 2.0;
        }
        Eigen::MatrixXd Hcol_V, Hcol_Q, Rw;  // A Q = V Hcol_V + Q Hcol_Q + P' Rw
        if (fast) {
            // Second sweep: [P, Z] -= V [C2, VZ]: Q R2 = P - V C2 and
            // Z - V VZ, from which Z's component along Q is removed below.
            Eigen::MatrixXd CV(dim, 2 * b);
            CV << C2, VZ;
            detail::gemm_fixed(false, false, -1.0, V.leftCols(dim), CV, 1.0, V.middleCols(dim, 2 * b), nt);
            const Eigen::MatrixXd R2inv =
                R2.triangularView<Eigen::Upper>().solve(Eigen::MatrixXd::Identity(b, b));
            detail::gemm_fixed(false, false, 1.0, V.middleCols(dim, b), R2inv, 0.0, work, nt);
            V.middleCols(dim, b) = work;
            // Q^T Z = R2^-T (P^T Z - C2^T V^T Z)
            const Eigen::MatrixXd QZ = R2inv.transpose() * (PZ - C2.transpose() * VZ);
            detail::gemm_fixed(false, false, -1.0, V.middleCols(dim, b), QZ, 1.0, V.middleCols(m, b), nt);
            // relation with Q in place of P: A V = V (H + C2 Hl) + Q (R2 Hl)
            H.topLeftCorner(dim, dim) += C2 * H.block(dim, 0, b, dim);
            H.block(dim, 0, b, dim) = (R2 * H.block(dim, 0, b, dim)).eval();
            // A Q R2 = Z - A V C2 = Z - V (H C2) - Q (Hl C2)
            Hcol_V = (VZ - H.topLeftCorner(dim, dim) * C2) * R2inv;
            Hcol_Q = (QZ - H.block(dim, 0, b, dim) * C2) * R2inv;
            // (A Q - V Hcol_V - Q Hcol_Q) R2 = Z - V VZ - Q QZ = W: W = P' Rw
            Rw = next_block(m) * R2inv;
        } else {
            // P was not nearly orthonormal / orthogonal to V (a near
            // breakdown): finish it explicitly and expand from Q with a new
            // solve and a plain two-sweep Gram-Schmidt pass.
            Eigen::MatrixXd Pt = V.middleCols(dim, b), C(dim, b);
            Eigen::MatrixXd Ctot = Eigen::MatrixXd::Zero(dim, b);
            for (int pass = 0; pass < 2; ++pass) {
                detail::gemm_fixed(true, false, 1.0, V.leftCols(dim), Pt, 0.0, C, nt);
                detail::gemm_fixed(false, false, -1.0, V.leftCols(dim), C, 1.0, Pt, nt);
                Ctot += C;
            }
            Eigen::HouseholderQR<Eigen::MatrixXd> qr(Pt);
            R2 = qr.matrixQR().topRows(b).triangularView<Eigen::Upper>();
            V.middleCols(dim, b) = qr.householderQ() * Eigen::MatrixXd::Identity(n, b);
            H.topLeftCorner(dim, dim) += Ctot * H.block(dim, 0, b, dim);
            H.block(dim, 0, b, dim) = (R2 * H.block(dim, 0, b, dim)).eval();
            res.seconds_orthogonalize += sw.lap();
            op.perform_op_block(V.middleCols(dim, b), Y);
            res.seconds_solve += sw.lap();
            res.operations += static_cast<int>(b);
            znorm = Y.colwise().norm();
            Hcol_V.resize(m, b);
            detail::gemm_fixed(true, false, 1.0, V.leftCols(m), Y, 0.0, Hcol_V, nt);
            detail::gemm_fixed(false, false, -1.0, V.leftCols(m), Hcol_V, 1.0, Y, nt);
            Hcol_Q = Hcol_V.bottomRows(b);
            Hcol_V = Hcol_V.topRows(dim).eval();
            V.middleCols(m, b) = Y;
            Rw = next_block(m);
        }
        H.block(0, dim, dim, b) = Hcol_V;
        H.block(dim, dim, b, b) = Hcol_Q;
        H.block(m, dim, b, b) = Rw;
        dim = m;
        res.seconds_orthogonalize += sw.lap();
        if (first_worst < 0)  // before the first convergence check: the basis filling up
            report_progress(0.1 * static_cast<double>(dim) / static_cast<double>(maxdim));
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
        double worst = 0;  // largest residual relative to its tolerance
        for (int i = 0; i < k; ++i) {
            const double rel =
                B.col(i).norm() / (params.tol * std::max(mu_floor, std::abs(mus[i])));
            if (rel <= 1) ++nconv;
            worst = std::max(worst, rel);
        }
        // Progress: how far the worst residual has come down (on a log scale)
        // from where it stood at the first check to the tolerance.
        if (first_worst < 0) first_worst = std::max(worst, 1.0 + 1e-9);
        if (worst > 0 && first_worst > 1)
            progress = std::max(progress, 0.1 + 0.9 * std::clamp(1.0 - std::log(std::max(worst, 1.0)) /
                                                                       std::log(first_worst),
                                                                   0.0, 1.0));
        report_progress(progress);
        // Right after a breakdown the space is being extended with random
        // directions (a multiple eigenvalue may have more vectors than the
        // Krylov space held): accept only once the basis is full.
        if (nconv == k && (!breakdown || full)) {
            Eigen::MatrixXd U(n, k);
            detail::gemm_fixed(false, false, 1.0, V.leftCols(dim), S.leftCols(k), 0.0, U, nt);
            Eigen::VectorXd theta;
            res.residual = rayleigh_residuals(L, U, theta, resolve_threads(params.num_threads));
            finish(theta, U, k, res);
            res.seconds_ritz += sw.lap();
            return;
        }
        if (!full) continue;
        // Thick restart: keep the `keep` best Ritz vectors and the next block.
        if (res.restarts >= params.max_restarts) break;
        ++res.restarts;
        const Eigen::Index keep = std::min<Eigen::Index>(
            k + std::min<Eigen::Index>(nconv, (maxdim - k) / 2), maxdim - b);
        // V[:, :keep] = V[:, :dim] S[:, :keep] in place, by blocks of rows
        // (each row block depends on itself only): no n x keep temporary.
#pragma omp parallel num_threads(nt)
        {
            constexpr Eigen::Index kRows = 4096;
            Eigen::MatrixXd T(kRows, keep);
#pragma omp for schedule(static)
            for (Eigen::Index r = 0; r < n; r += kRows) {
                const Eigen::Index nr = std::min(kRows, n - r);
                auto Tr = T.topRows(nr);
                detail::gemm(false, false, 1.0, V.block(r, 0, nr, dim), S.leftCols(keep), 0.0, Tr);
                V.block(r, 0, nr, keep) = Tr;
            }
        }
        const Eigen::MatrixXd Bk = H.block(dim, 0, b, dim) * S.leftCols(keep);
        V.middleCols(keep, b) = V.middleCols(dim, b).eval();
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
        b = params.block_size > 0 ? params.block_size : default_block_size(k);
        ncv = params.ncv > 0 ? params.ncv : std::max<Eigen::Index>(3 * k, k + 4 * b);
        ncv = std::min<Eigen::Index>(ncv, n);
        b = std::min<Eigen::Index>(b, std::max<Eigen::Index>(1, (ncv - k) / 2));
        if (ncv < k + 2 * b)
            throw std::invalid_argument("smallest_eigenvectors: ncv must be at least k + 2 (block "
                                        "method), got " + std::to_string(ncv));
    } else {
#ifndef SSS_HAVE_SPECTRA
        spectra_missing();  // before the factorisation, not after it
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
    Stopwatch sw;
    ShiftSolveOp op(L, params.grid_height, params.grid_width);
    op.set_solve_threads(nt);
    EigenResult res;
    res.seconds_analyze = sw.lap();
    choose_shift(L, op, params.shift, res);
    res.seconds_factorize = sw.lap();
    if (block)
        block_krylov_schur(L, op, params, ncv, b, res);
    else
        lanczos(op, params, ncv, res);
    return res;
}

}  // namespace sss
