// Stage 7 (private; docs/algorithm.md): solves with a supernodal Cholesky factor
// whose elimination tree is split into two halves solved in parallel.
#pragma once

#include <Eigen/Core>

#include <utility>
#include <vector>

namespace sss::detail {

/// View of a supernodal factor L L^T = P A P^T in CHOLMOD's layout (nothing
/// is owned; 32-bit indices, real values). Supernode j holds the columns
/// super[j] .. super[j+1]-1; its row indices are s[pi[j] .. pi[j+1]) (the
/// first ones are its own columns) and its values the column-major
/// (pi[j+1]-pi[j]) x (super[j+1]-super[j]) block at x + px[j]. Row i of
/// P A P^T is row perm[i] of A (perm may be null: the identity). The
/// supernodes must be in a postorder of their elimination tree (CHOLMOD's
/// default), so every subtree is a contiguous range.
struct SupernodalFactor {
    Eigen::Index n = 0;
    int nsuper = 0;
    const int* super = nullptr;
    const int* pi = nullptr;
    const int* px = nullptr;
    const int* s = nullptr;
    const double* x = nullptr;
    const int* perm = nullptr;
};

/// Multi-column solves A^-1 B with a supernodal factor, as two threads share
/// them: the supernodal elimination tree is cut below its top (the first
/// nested-dissection separator) into subtrees that are dealt to two groups
/// of about equal work. The forward solve runs the two groups in parallel
/// (their updates to the top's rows go to per-group buffers, added in a
/// fixed order), then the top; the backward solve runs the top, then the two
/// groups in parallel. Each group streams only its half of the factor, with
/// every right-hand side at once (BLAS-3 on row-major panels), where splitting
/// the columns between two full solves streams the whole factor twice.
///
/// The arithmetic does not depend on the number of threads (1 or 2 run the
/// same operations in the same order). The factor's arrays must outlive the
/// object and keep their structure; values may change (a new shift).
class SplitTreeSolve {
public:
    explicit SplitTreeSolve(const SupernodalFactor& factor);

    /// Y (n x cols, leading dimension ldy) = A^-1 B (n x cols, leading
    /// dimension ldb), column-major, on min(threads, 2) threads. The caller
    /// keeps the BLAS single-threaded (it is called from both threads). Not
    /// thread-safe: the workspace is kept between calls.
    void solve(const double* B, Eigen::Index ldb, Eigen::Index cols, double* Y,
               Eigen::Index ldy, int threads) const;

    /// Share of the factor's entries in the sequential top (0..1).
    double top_fraction() const { return top_fraction_; }

private:
    SupernodalFactor f_;
    std::vector<std::pair<int, int>> groups_[2];  // subtree ranges [first, last]
    std::vector<int> top_;                         // top supernodes, ascending
    std::vector<int> top_pos_;                     // column -> row of the top buffers, or -1
    Eigen::Index top_cols_ = 0;
    Eigen::Index max_rows_ = 0;                    // largest supernode row count
    double top_fraction_ = 0.0;
    struct Workspace {
        std::vector<double> panel, top_buffer[2], tmp[2];
    };
    mutable Workspace work_;  // reused by solve(): not thread-safe

    // Supernode j's columns, rows and values (see SupernodalFactor).
    struct Supernode {
        int first_col, ncol, nrow, nbelow;  // nbelow = nrow - ncol
        const double* values;               // nrow x ncol, column-major
        const int* rows;                    // nrow row indices
    };
    Supernode supernode(int j) const {
        const int ncol = f_.super[j + 1] - f_.super[j], nrow = f_.pi[j + 1] - f_.pi[j];
        return {f_.super[j], ncol, nrow, nrow - ncol, f_.x + f_.px[j], f_.s + f_.pi[j]};
    }
    void forward(int j, double* X, int r, double* tmp, double* top_buffer) const;
    void backward(int j, double* X, int r, double* tmp) const;
};

}  // namespace sss::detail
