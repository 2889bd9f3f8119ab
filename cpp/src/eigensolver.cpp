// Stage 7 of SPEC.md: shift-and-invert Lanczos (Spectra) with a sparse LDL^T.
#include "sss/eigensolver.hpp"

#include "blas.hpp"
#include "sss/ordering.hpp"
#include "sss/parallel.hpp"

#include <Eigen/SparseCholesky>
#include <Spectra/SymEigsShiftSolver.h>
#ifdef SSS_HAVE_CHOLMOD
#include <cholmod.h>
#endif

#include <algorithm>
#include <chrono>
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

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

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
    const auto t0 = std::chrono::steady_clock::now();
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
    m.stats.analyze_seconds = seconds_since(t0);
    impl_ = impl.release();
}

ShiftSolveOp::~ShiftSolveOp() { delete impl_; }

const ShiftSolveOp::Stats& ShiftSolveOp::stats() const { return impl_->stats; }

bool ShiftSolveOp::try_set_shift(double sigma, bool require_definite) {
    Impl& m = *impl_;
    const auto t0 = std::chrono::steady_clock::now();
#ifdef SSS_HAVE_CHOLMOD
    (void)require_definite;  // Cholesky succeeds only for a definite matrix
    cholmod_sparse A = m.view();
    double beta[2] = {-sigma, 0.0};
    cholmod_factorize_p(&A, beta, nullptr, 0, m.factor, &m.common);
    check_cholmod(m.common, "factorisation");
    // On success minor == n; otherwise the column where it failed.
    m.ok = m.factor->minor == m.factor->n;
#else
    m.ldlt.setShift(-sigma, 1.0);
    m.ldlt.factorize(m.lower);
    m.ok = m.ldlt.info() == Eigen::Success && m.ldlt.vectorD().allFinite() &&
           (m.ldlt.vectorD().array() != 0.0).all();
    if (m.ok && require_definite) m.ok = (m.ldlt.vectorD().array() > 0.0).all();
#endif
    m.stats.factor_seconds = seconds_since(t0);
    return m.ok;
}

void ShiftSolveOp::set_shift(double sigma) {
    if (!try_set_shift(sigma, false))
        throw std::runtime_error("smallest_eigenvectors: factorisation of L - sigma I failed "
                                 "for sigma = " + std::to_string(sigma));
}

void ShiftSolveOp::perform_op(const double* x_in, double* y_out) const {
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
    if (!impl_->ok) throw std::logic_error("ShiftSolveOp: no successful factorisation");
    if (X.rows() != n_) throw std::invalid_argument("ShiftSolveOp: block has the wrong number of rows");
#ifdef SSS_HAVE_CHOLMOD
    const Eigen::Index cols = X.cols();
    Y.resize(n_, cols);
    if (cols == 0) return;
    // Groups of >= 8 columns: every group streams the whole factor from
    // memory, which pays only when each does enough BLAS-3 work per pass
    // (bench_eigensolver.py, 2 cores: 8 columns as 4 + 4 0.8x at 320x320 and
    // 1.2x at 640x480; 16 as 8 + 8 1.1x and 2.0x; 4 as 2 + 2 never faster).
    constexpr Eigen::Index kMinGroupCols = 8;
    const int groups = static_cast<int>(std::max<Eigen::Index>(
        1, std::min<Eigen::Index>(resolve_threads(solve_threads_), cols / kMinGroupCols)));
    if (groups == 1) {
        impl_->slot(0).solve(impl_->factor, X.data(), n_, cols, Y.data(), n_);
        return;
    }
    impl_->slot(static_cast<size_t>(groups - 1));  // create the slots before the threads
    // Each group calls the BLAS from its own thread: keep the BLAS serial.
    detail::BlasThreads blas_guard(1);
    std::vector<std::exception_ptr> errors(static_cast<size_t>(groups));
#pragma omp parallel for num_threads(groups) schedule(static, 1)
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

    ShiftSolveOp op(L, params.grid_height, params.grid_width);
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
