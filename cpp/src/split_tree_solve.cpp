// Stage 7 (private; docs/algorithm.md): supernodal triangular solves with the
// elimination tree split into two halves solved in parallel.
#include "split_tree_solve.hpp"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <string>

#include "blas.hpp"

namespace sss::detail {

namespace {

// A top-level subtree is given to a group only when it holds at most this
// share of the remaining work; larger ones are opened (their root joins the
// sequential top, their children become candidates).
constexpr double kMaxSubtreeShare = 0.55;
constexpr int kMaxOpened = 64;

}  // namespace

SplitTreeSolve::SplitTreeSolve(const SupernodalFactor& factor) : f_(factor) {
    const int ns = f_.nsuper;
    const Eigen::Index n = f_.n;
    if (n < 1 || ns < 1 || !f_.super || !f_.pi || !f_.px || !f_.s || !f_.x)
        throw std::invalid_argument("SplitTreeSolve: incomplete supernodal factor");
    if (f_.super[0] != 0 || f_.super[ns] != n)
        throw std::invalid_argument("SplitTreeSolve: supernodes do not cover the n columns");
    std::vector<int> col_super(static_cast<size_t>(n));
    for (int j = 0; j < ns; ++j)
        for (int c = f_.super[j]; c < f_.super[j + 1]; ++c) col_super[static_cast<size_t>(c)] = j;
    // Supernodal elimination tree: the parent of j is the supernode of its
    // first row below its own columns. Work of a supernode: its entries.
    std::vector<int> parent(static_cast<size_t>(ns), -1), first(static_cast<size_t>(ns)),
        count(static_cast<size_t>(ns), 1);
    std::vector<double> work(static_cast<size_t>(ns)), subtree(static_cast<size_t>(ns));
    double total = 0.0;
    for (int j = 0; j < ns; ++j) {
        const Supernode sn = supernode(j);
        const int ncol = sn.ncol, nrow = sn.nrow;
        if (sn.nbelow > 0)
            parent[static_cast<size_t>(j)] = col_super[static_cast<size_t>(sn.rows[ncol])];
        work[static_cast<size_t>(j)] = static_cast<double>(ncol) * nrow;
        total += work[static_cast<size_t>(j)];
        max_rows_ = std::max<Eigen::Index>(max_rows_, nrow);
    }
    // Subtree work and first[j], the lowest supernode of j's subtree (a
    // contiguous range ending at j in postorder).
    for (int j = 0; j < ns; ++j) first[static_cast<size_t>(j)] = j;
    for (int j = 0; j < ns; ++j) {
        subtree[static_cast<size_t>(j)] += work[static_cast<size_t>(j)];
        const int p = parent[static_cast<size_t>(j)];
        if (p < 0) continue;
        if (p <= j) throw std::invalid_argument("SplitTreeSolve: supernodes not in postorder");
        subtree[static_cast<size_t>(p)] += subtree[static_cast<size_t>(j)];
        count[static_cast<size_t>(p)] += count[static_cast<size_t>(j)];
        first[static_cast<size_t>(p)] =
            std::min(first[static_cast<size_t>(p)], first[static_cast<size_t>(j)]);
    }
    for (int j = 0; j < ns; ++j)
        if (j - first[static_cast<size_t>(j)] + 1 != count[static_cast<size_t>(j)])
            throw std::invalid_argument("SplitTreeSolve: supernodes not in postorder");
    std::vector<std::vector<int>> children(static_cast<size_t>(ns));
    std::vector<int> frontier;
    for (int j = 0; j < ns; ++j) {
        const int p = parent[static_cast<size_t>(j)];
        if (p >= 0) children[static_cast<size_t>(p)].push_back(j);
        else frontier.push_back(j);
    }
    // Open the largest candidate subtree until none holds more than
    // kMaxSubtreeShare of the work left to share.
    auto heavier = [&](int a, int b) {
        const double wa = subtree[static_cast<size_t>(a)], wb = subtree[static_cast<size_t>(b)];
        return wa != wb ? wa > wb : a < b;
    };
    std::vector<char> in_top(static_cast<size_t>(ns), 0);
    for (int opened = 0; opened < kMaxOpened && !frontier.empty(); ++opened) {
        std::sort(frontier.begin(), frontier.end(), heavier);
        double sum = 0.0;
        for (int j : frontier) sum += subtree[static_cast<size_t>(j)];
        if (frontier.size() >= 2 && subtree[static_cast<size_t>(frontier[0])] <= kMaxSubtreeShare * sum)
            break;
        const int big = frontier.front();
        frontier.erase(frontier.begin());
        in_top[static_cast<size_t>(big)] = 1;
        for (int c : children[static_cast<size_t>(big)]) frontier.push_back(c);
    }
    // Deal the subtrees to the two groups, largest first to the lighter one.
    std::sort(frontier.begin(), frontier.end(), heavier);
    double load[2] = {0.0, 0.0};
    for (int j : frontier) {
        const int g = load[0] <= load[1] ? 0 : 1;
        load[g] += subtree[static_cast<size_t>(j)];
        groups_[g].emplace_back(first[static_cast<size_t>(j)], j);
    }
    for (auto& g : groups_) std::sort(g.begin(), g.end());
    // Supernodes in neither group (opened subtrees' roots, and any a too
    // long opening left behind) form the top, run in postorder.
    std::vector<char> grouped(static_cast<size_t>(ns), 0);
    for (const auto& g : groups_)
        for (const auto& [lo, hi] : g) std::fill(grouped.begin() + lo, grouped.begin() + hi + 1, 1);
    double top_work = 0.0;
    top_pos_.assign(static_cast<size_t>(n), -1);
    for (int j = 0; j < ns; ++j) {
        if (grouped[static_cast<size_t>(j)]) continue;
        top_.push_back(j);
        top_work += work[static_cast<size_t>(j)];
        for (int c = f_.super[j]; c < f_.super[j + 1]; ++c)
            top_pos_[static_cast<size_t>(c)] = static_cast<int>(top_cols_++);
    }
    top_fraction_ = total > 0.0 ? top_work / total : 0.0;
}

// Forward step of supernode j on the row-major n x r panel X: X_j = L_jj^-1
// X_j, then the rows below: X_i -= L_ij X_j (into top_buffer for the top's
// rows when one is given).
void SplitTreeSolve::forward(int j, double* X, int r, double* tmp, double* top_buffer) const {
    const auto [k1, ncol, nrow, nbelow, Lj, rows] = supernode(j);
    double* Xj = X + static_cast<std::ptrdiff_t>(k1) * r;  // r x ncol, column-major
    // X_j^T = X_j^T L_jj^-T
    trsm_right_lower(true, r, ncol, Lj, nrow, Xj, r);
    if (nbelow == 0) return;
    // tmp^T (r x nbelow) = X_j^T L_bj^T
    Eigen::Map<const Eigen::MatrixXd> Xm(Xj, r, ncol);
    Eigen::Map<const Eigen::MatrixXd, 0, Eigen::OuterStride<>> Lb(Lj + ncol, nbelow, ncol,
                                                                 Eigen::OuterStride<>(nrow));
    Eigen::Map<Eigen::MatrixXd> T(tmp, r, nbelow);
    gemm(false, true, 1.0, Xm, Lb, 0.0, T);
    for (int i = 0; i < nbelow; ++i) {
        const int row = rows[ncol + i];
        const int tp = top_buffer ? top_pos_[static_cast<size_t>(row)] : -1;
        double* dst = tp >= 0 ? top_buffer + static_cast<std::ptrdiff_t>(tp) * r
                              : X + static_cast<std::ptrdiff_t>(row) * r;
        const double* t = tmp + static_cast<std::ptrdiff_t>(i) * r;
        for (int c = 0; c < r; ++c) dst[c] -= t[c];
    }
}

// Backward step: X_j = L_jj^-T (X_j - L_bj^T X_b), X_b the rows below.
void SplitTreeSolve::backward(int j, double* X, int r, double* tmp) const {
    const auto [k1, ncol, nrow, nbelow, Lj, rows] = supernode(j);
    double* Xj = X + static_cast<std::ptrdiff_t>(k1) * r;
    if (nbelow > 0) {
        for (int i = 0; i < nbelow; ++i) {
            const double* src = X + static_cast<std::ptrdiff_t>(rows[ncol + i]) * r;
            std::copy(src, src + r, tmp + static_cast<std::ptrdiff_t>(i) * r);
        }
        // X_j^T -= tmp^T L_bj
        Eigen::Map<const Eigen::MatrixXd> T(tmp, r, nbelow);
        Eigen::Map<const Eigen::MatrixXd, 0, Eigen::OuterStride<>> Lb(
            Lj + ncol, nbelow, ncol, Eigen::OuterStride<>(nrow));
        Eigen::Map<Eigen::MatrixXd> Xm(Xj, r, ncol);
        gemm(false, false, -1.0, T, Lb, 1.0, Xm);
    }
    // X_j^T = X_j^T L_jj^-1
    trsm_right_lower(false, r, ncol, Lj, nrow, Xj, r);
}

void SplitTreeSolve::solve(const double* B, Eigen::Index ldb, Eigen::Index cols, double* Y,
                           Eigen::Index ldy, int threads) const {
    const Eigen::Index n = f_.n;
    if (cols <= 0) return;
    const int r = static_cast<int>(cols);
    const int nt = std::max(1, std::min(threads, 2));
    // Row-major panel of P B (row i = B's row perm[i]), in a workspace kept
    // between calls (the solves of an eigensolver all have the same size).
    std::vector<double>& X = work_.panel;
    X.resize(static_cast<size_t>(n) * static_cast<size_t>(r));
#pragma omp parallel for num_threads(nt) schedule(static)
    for (Eigen::Index i = 0; i < n; ++i) {
        const Eigen::Index src = f_.perm ? f_.perm[i] : i;
        for (int c = 0; c < r; ++c) X[static_cast<size_t>(i * r + c)] = B[c * ldb + src];
    }
    std::vector<double>* top_buffer = work_.top_buffer;
    std::vector<double>* tmp = work_.tmp;
    for (int g = 0; g < 2; ++g) {
        top_buffer[g].assign(static_cast<size_t>(top_cols_ * r), 0.0);
        tmp[g].resize(static_cast<size_t>(max_rows_ * r));
    }
    std::exception_ptr errors[2];
    auto run_groups = [&](bool fwd) {
#pragma omp parallel for num_threads(nt) schedule(static, 1)
        for (int g = 0; g < 2; ++g) {
            try {
                if (fwd) {
                    for (const auto& [lo, hi] : groups_[g])
                        for (int j = lo; j <= hi; ++j)
                            forward(j, X.data(), r, tmp[g].data(), top_buffer[g].data());
                } else {
                    for (auto it = groups_[g].rbegin(); it != groups_[g].rend(); ++it)
                        for (int j = it->second; j >= it->first; --j)
                            backward(j, X.data(), r, tmp[g].data());
                }
            } catch (...) {
                errors[g] = std::current_exception();
            }
        }
        for (const auto& e : errors)
            if (e) std::rethrow_exception(e);
    };
    run_groups(true);
    // The groups' updates of the top's rows, in a fixed order.
    for (int j : top_)
        for (int c = f_.super[j]; c < f_.super[j + 1]; ++c) {
            double* x = X.data() + static_cast<std::ptrdiff_t>(c) * r;
            const std::ptrdiff_t t = static_cast<std::ptrdiff_t>(top_pos_[static_cast<size_t>(c)]) * r;
            for (int q = 0; q < r; ++q) x[q] += top_buffer[0][static_cast<size_t>(t + q)] +
                                              top_buffer[1][static_cast<size_t>(t + q)];
        }
    for (int j : top_) forward(j, X.data(), r, tmp[0].data(), nullptr);
    for (auto it = top_.rbegin(); it != top_.rend(); ++it) backward(*it, X.data(), r, tmp[0].data());
    run_groups(false);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (Eigen::Index i = 0; i < n; ++i) {
        const Eigen::Index dst = f_.perm ? f_.perm[i] : i;
        for (int c = 0; c < r; ++c) Y[c * ldy + dst] = X[static_cast<size_t>(i * r + c)];
    }
}

}  // namespace sss::detail
