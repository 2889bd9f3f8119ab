// The block-Jacobi preconditioner of sss: per-block inverses of a diagonal
// plus a rank-one term, applied by Sherman-Morrison.
#pragma once

#include <Eigen/Dense>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "sss/parallel.hpp"

namespace sss {

/// M = blockdiag(M_0, ..., M_{N-1}) with K x K blocks
///     M_p = diag(d_p) + c u_p u_p^T,
/// applied to `num_rhs` interleaved right-hand sides: row (p K + k) R + j is
/// entry k of block p for right-hand side j. z = M^-1 r by Sherman-Morrison
/// in O(K) per block:
///     z_pk = r_pk / d_pk - (c u_pk / d_pk) (sum_l u_pl r_pl / d_pl) / (1 + c sum_l u_pl^2 / d_pl),
/// evaluated for u = 1 (no u given) as z_pk = (r_pk - t_p) / d_pk with
/// t_p = c sum_l (r_pl / d_pl) / (1 + c sum_l 1 / d_pl). Operator convention of
/// sss/solvers/operator.hpp (a preconditioner's perform_op applies M^-1).
class BlockJacobi {
public:
    /// d: the diagonal (N K entries, block-major, all > 0); u: N K entries, or
    /// empty for all ones; c: the rank-one weight.
    BlockJacobi(const Eigen::VectorXd& d, Eigen::VectorXd u, double c, int block_size,
                int num_rhs = 1, int num_threads = 0)
        : K_(block_size), R_(num_rhs), threads_(num_threads), u_(std::move(u)) {
        if (K_ < 1 || R_ < 1 || d.size() % K_ != 0 || (u_.size() != 0 && u_.size() != d.size()))
            throw std::invalid_argument("BlockJacobi: inconsistent sizes");
        const Eigen::Index n = d.size() / K_;
        inv_.resize(d.size());
        for (Eigen::Index i = 0; i < d.size(); ++i) inv_[i] = 1.0 / d[i];
        if (u_.size() == 0) {
            factor_.resize(n);
            for (Eigen::Index p = 0; p < n; ++p) {
                double s = 0.0;
                for (int k = 0; k < K_; ++k) s += inv_[p * K_ + k];
                factor_[p] = c / (1.0 + c * s);
            }
        } else {
            g_.resize(d.size());
            for (Eigen::Index p = 0; p < n; ++p) {
                double denom = 1.0;
                for (int k = 0; k < K_; ++k) {
                    const Eigen::Index i = p * K_ + k;
                    denom += c * (u_[i] * u_[i] * inv_[i]);
                }
                for (int k = 0; k < K_; ++k) {
                    const Eigen::Index i = p * K_ + k;
                    g_[i] = c * u_[i] / d[i] / denom;
                }
            }
        }
    }
    Eigen::Index rows() const { return inv_.size() * R_; }
    Eigen::Index cols() const { return rows(); }
    /// z = M^-1 r.
    void perform_op(const double* r, double* z) const {
        const Eigen::Index n = inv_.size() / K_;
#pragma omp parallel for schedule(static, 2048) num_threads(resolve_threads(threads_))
        for (Eigen::Index p = 0; p < n; ++p) apply_block(r, z, p, 0, rows());
    }
    /// Rows of z in a range of whole blocks depend only on the rows of r in it
    /// (pcg fuses the preconditioner with its residual update when its row
    /// blocks are multiples of this).
    Eigen::Index local_rows() const { return static_cast<Eigen::Index>(K_) * R_; }
    /// Rows [begin, end) of z = M^-1 r, serial. A block cut by begin or end
    /// reads all its rows of r and writes only those in [begin, end).
    void perform_op_rows(const double* r, double* z, Eigen::Index begin, Eigen::Index end) const {
        if (end <= begin) return;
        const Eigen::Index stride = static_cast<Eigen::Index>(K_) * R_;
        for (Eigen::Index p = begin / stride; p <= (end - 1) / stride; ++p)
            apply_block(r, z, p, begin, end);
    }

private:
    // Block p of z = M^-1 r, its rows in [lo, hi) only.
    void apply_block(const double* r, double* z, Eigen::Index p, Eigen::Index lo,
                     Eigen::Index hi) const {
        switch (R_) {  // the common right-hand side counts with unrolled loops
            case 1: return apply_block_rhs<1>(r, z, p, lo, hi);
            case 3: return apply_block_rhs<3>(r, z, p, lo, hi);
            default:
                for (int j = 0; j < R_; ++j) apply_block_rhs<1>(r, z, p, lo, hi, j);
        }
    }
    // Right-hand sides j0 .. j0 + RC - 1 of block p.
    template <int RC>
    void apply_block_rhs(const double* r, double* z, Eigen::Index p, Eigen::Index lo,
                         Eigen::Index hi, int j0 = 0) const {
        const int K = K_, R = R_;
        const Eigen::Index i0 = p * K * R;
        const double* inv = inv_.data() + p * K;
        const double* rp = r + i0 + j0;
        double* zp = z + i0 + j0;
        const bool whole = i0 >= lo && i0 + K * R <= hi;
        auto inside = [&](Eigen::Index i) { return whole || (i0 + j0 + i >= lo && i0 + j0 + i < hi); };
        double t[RC];
        for (int j = 0; j < RC; ++j) t[j] = 0.0;
        if (u_.size() == 0) {
            for (int k = 0; k < K; ++k)
                for (int j = 0; j < RC; ++j) t[j] += inv[k] * rp[k * R + j];
            for (int j = 0; j < RC; ++j) t[j] *= factor_[p];
            for (int k = 0; k < K; ++k)
                for (int j = 0; j < RC; ++j)
                    if (inside(k * R + j)) zp[k * R + j] = inv[k] * (rp[k * R + j] - t[j]);
        } else {
            const double* u = u_.data() + p * K;
            const double* g = g_.data() + p * K;
            for (int k = 0; k < K; ++k)
                for (int j = 0; j < RC; ++j) t[j] += u[k] * (rp[k * R + j] * inv[k]);
            for (int k = 0; k < K; ++k)
                for (int j = 0; j < RC; ++j)
                    if (inside(k * R + j)) zp[k * R + j] = rp[k * R + j] * inv[k] - g[k] * t[j];
        }
    }

    int K_, R_, threads_;
    Eigen::VectorXd inv_, u_;  // 1 / d; u (empty: ones)
    Eigen::VectorXd factor_;   // u = 1: c / (1 + c sum 1 / d) per block
    Eigen::VectorXd g_;        // general u: c u / d / (1 + c sum u^2 / d)
};

}  // namespace sss
