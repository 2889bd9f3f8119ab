// Shift-solve backend: CHOLMOD's supernodal Cholesky (SuiteSparse). Compiled
// only when CMake finds CHOLMOD. Cholesky succeeds exactly when L - sigma I is
// positive definite, which proves sigma below the spectrum.
//
// Fill-reducing ordering: with a grid shape (L's rows are the pixels of a
// grid_height x grid_width image), the geometric nested dissection of
// sss/ordering.hpp as CHOLMOD's only ordering (CHOLMOD_GIVEN, postordered);
// without one, CHOLMOD's default choice (METIS and AMD tried, the better kept).
#include <cholmod.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "../blas.hpp"
#include "../split_tree_solve.hpp"
#include "../stopwatch.hpp"
#include "sss/ordering.hpp"
#include "sss/parallel.hpp"
#include "shift_solve_backend.hpp"

namespace sss::detail {
namespace {

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

class CholmodShiftSolve final : public ShiftSolveBackend {
public:
    CholmodShiftSolve(const SparseRef& L, int grid_height, int grid_width)
        : lower_(lower_triangle(L)) {
        cholmod_start(&common_);
        Stopwatch sw;
        common_.print = 0;  // no warnings on stderr: failures are expected
        common_.supernodal = CHOLMOD_SUPERNODAL;
        common_.final_asis = 1;  // keep the supernodal LL^T
        const bool grid = grid_height != 0 || grid_width != 0;
        std::vector<int> perm;
        if (grid) {
            perm = grid_nested_dissection(L, grid_height, grid_width);
            common_.nmethods = 1;
            common_.method[0].ordering = CHOLMOD_GIVEN;
            common_.postorder = 1;
        }
        cholmod_sparse A = view();
        factor_ = cholmod_analyze_p(&A, grid ? perm.data() : nullptr, nullptr, 0, &common_);
        try {
            check_cholmod(common_, "analysis");
            if (!factor_) throw std::runtime_error("smallest_eigenvectors: CHOLMOD analysis failed");
        } catch (...) {
            cholmod_free_factor(&factor_, &common_);
            cholmod_finish(&common_);
            throw;
        }
        stats_.lnz = common_.lnz;
        stats_.flops = common_.fl;
        switch (common_.method[common_.selected].ordering) {
            case CHOLMOD_GIVEN: stats_.ordering = "grid-nd"; break;
            case CHOLMOD_AMD: stats_.ordering = "amd"; break;
            case CHOLMOD_METIS: stats_.ordering = "metis"; break;
            case CHOLMOD_NESDIS: stats_.ordering = "nesdis"; break;
            case CHOLMOD_NATURAL: stats_.ordering = "natural"; break;
            default: stats_.ordering = "other"; break;
        }
        stats_.analyze_seconds = sw.lap();
    }
    ~CholmodShiftSolve() override {
        slots_.clear();
        tree_.reset();
        cholmod_free_factor(&factor_, &common_);
        cholmod_finish(&common_);
    }
    CholmodShiftSolve(const CholmodShiftSolve&) = delete;
    CholmodShiftSolve& operator=(const CholmodShiftSolve&) = delete;

    bool try_set_shift(double sigma, bool) override {
        // Cholesky succeeds only for a definite matrix: require_definite holds anyway.
        Stopwatch sw;
        cholmod_sparse A = view();
        double beta[2] = {-sigma, 0.0};
        cholmod_factorize_p(&A, beta, nullptr, 0, factor_, &common_);
        check_cholmod(common_, "factorisation");
        // On success minor == n; otherwise the column where it failed.
        const bool ok = factor_->minor == factor_->n;
        if (ok) make_tree();
        stats_.split_tree_top = tree_ ? tree_->top_fraction() : -1.0;
        stats_.factor_seconds = sw.lap();
        return ok;
    }

    void solve(const double* X, double* Y, Eigen::Index cols, int threads) const override {
        const Eigen::Index n = lower_.rows();
        if (cols == 0) return;
        // Blocks of >= 4 columns: one thread per half of the elimination tree,
        // every column at once (split_tree_solve.hpp; each thread streams half
        // the factor); fewer columns are faster as one CHOLMOD solve
        // (bench_eigensolver.py).
        constexpr Eigen::Index kMinTreeCols = 4;
        if (tree_ && cols >= kMinTreeCols) {
            BlasThreads blas_guard(1);  // the BLAS is called from both threads
            tree_->solve(X, n, cols, Y, n, threads);
            return;
        }
        // No split tree (the factor is not a postordered supernodal LL^T):
        // groups of >= 8 columns, one CHOLMOD solve per group and thread on
        // the shared factor. The grouping does not depend on the thread
        // count (nor the result).
        constexpr Eigen::Index kMinGroupCols = 8;
        constexpr Eigen::Index kMaxGroups = 2;
        const int groups = static_cast<int>(
            std::max<Eigen::Index>(1, std::min<Eigen::Index>(kMaxGroups, cols / kMinGroupCols)));
        const int group_threads = std::min(groups, threads);
        if (groups == 1) {
            slot(0).solve(factor_, X, n, cols, Y, n);
            return;
        }
        slot(static_cast<size_t>(groups - 1));  // create the slots before the threads
        // Each group calls the BLAS from its own thread: keep the BLAS serial.
        BlasThreads blas_guard(1);
        std::vector<std::exception_ptr> errors(static_cast<size_t>(groups));
#pragma omp parallel for num_threads(group_threads) schedule(static, 1)
        for (int g = 0; g < groups; ++g) {
            const Eigen::Index c0 = cols * g / groups, c1 = cols * (g + 1) / groups;
            try {
                slots_[static_cast<size_t>(g)]->solve(factor_, X + c0 * n, n, c1 - c0, Y + c0 * n, n);
            } catch (...) {
                errors[static_cast<size_t>(g)] = std::current_exception();
            }
        }
        for (const auto& e : errors)
            if (e) std::rethrow_exception(e);
    }

    const ShiftSolveOp::Stats& stats() const override { return stats_; }

private:
    cholmod_sparse view() {
        cholmod_sparse A{};
        A.nrow = A.ncol = static_cast<size_t>(lower_.rows());
        A.nzmax = static_cast<size_t>(lower_.nonZeros());
        A.p = lower_.outerIndexPtr();
        A.i = lower_.innerIndexPtr();
        A.x = lower_.valuePtr();
        A.stype = -1;  // symmetric, lower triangle stored
        A.itype = CHOLMOD_INT;
        A.xtype = CHOLMOD_REAL;
        A.dtype = CHOLMOD_DOUBLE;
        A.sorted = 1;
        A.packed = 1;
        return A;
    }
    SolveSlot& slot(size_t i) const {
        while (slots_.size() <= i) slots_.emplace_back(new SolveSlot);
        return *slots_[i];
    }
    // Block solves on the supernodal LL^T factor (rebuilt per factorisation);
    // null when the factor is not one (then the column groups serve).
    void make_tree() {
        tree_.reset();
        const cholmod_factor* F = factor_;
        if (!F || !F->is_super || !F->is_ll || F->itype != CHOLMOD_INT ||
            F->xtype != CHOLMOD_REAL || F->dtype != CHOLMOD_DOUBLE)
            return;
        SupernodalFactor v;
        v.n = static_cast<Eigen::Index>(F->n);
        v.nsuper = static_cast<int>(F->nsuper);
        v.super = static_cast<const int*>(F->super);
        v.pi = static_cast<const int*>(F->pi);
        v.px = static_cast<const int*>(F->px);
        v.s = static_cast<const int*>(F->s);
        v.x = static_cast<const double*>(F->x);
        v.perm = static_cast<const int*>(F->Perm);
        try {
            tree_ = std::make_unique<SplitTreeSolve>(v);
        } catch (const std::invalid_argument&) {
            // e.g. supernodes not postordered: the column groups serve
        }
    }

    LowerMatrix lower_;
    ShiftSolveOp::Stats stats_;
    cholmod_common common_;  // analysis and factorisation
    cholmod_factor* factor_ = nullptr;
    // slots_[0] serves single solves; slots_[0..t) the column groups
    mutable std::vector<std::unique_ptr<SolveSlot>> slots_;
    std::unique_ptr<SplitTreeSolve> tree_;
};

}  // namespace

std::unique_ptr<ShiftSolveBackend> make_cholmod_shift_solve(const SparseRef& L, int grid_height,
                                                            int grid_width) {
    return std::make_unique<CholmodShiftSolve>(L, grid_height, grid_width);
}

}  // namespace sss::detail
