// Preconditioned conjugate gradients: the one CG of sss, templated on the
// operator and the preconditioner (conventions in sss/solvers/operator.hpp).
#pragma once

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "sss/parallel.hpp"
#include "sss/solvers/operator.hpp"

namespace sss {

/// When pcg stops.
enum class CgStop {
    /// MATLAB pcg's semantics (one right-hand side): stop when ||b - A x|| <=
    /// tol ||b||, the recursively updated residual confirmed by a true
    /// residual; stagnation and breakdown detection; on failure the iterate
    /// with the smallest residual is returned.
    Matlab,
    /// Several right-hand sides in lockstep: each stops moving once its
    /// recursive ||r_c|| / ||b_c|| <= tol, the solve when all have (or after
    /// max_iterations). No true-residual check.
    Lockstep,
};

/// Rows per block of pcg's fixed-order sums when CgParams::blocks is empty.
constexpr Eigen::Index kCgChunk = 1 << 14;

/// Most right-hand sides pcg takes side by side.
constexpr int kCgMaxRhs = 8;

struct CgParams {
    double tol = 1e-6;        ///< relative residual tolerance
    int max_iterations = 100;
    int num_threads = 0;      ///< 0: all available
    /// Right-hand sides solved side by side, interleaved: row i belongs to
    /// right-hand side i % num_rhs (each has its own CG scalars).
    int num_rhs = 1;  ///< at most kCgMaxRhs
    CgStop stop = CgStop::Matlab;
    /// Row blocks of the parallel passes: 0 = b_0 < b_1 < ... < b_m = rows(),
    /// each a multiple of num_rhs. Dot products are summed within a block
    /// (Eigen's dot for one right-hand side, in row order otherwise), then
    /// over the blocks in order, so the result does not depend on the thread
    /// count. Empty: blocks of kCgChunk rows.
    std::vector<Eigen::Index> blocks;
};

/// Outcome of one CG solve, with MATLAB pcg's flags: 0 converged,
/// 1 max_iterations reached, 2 the preconditioner gave non-finite values,
/// 3 stagnated, 4 breakdown (a scalar became 0/inf).
struct CgResult {
    int flag = 1;
    double relres = 0.0;  ///< ||b - A x|| / ||b|| of the returned x (Lockstep: the largest over the right-hand sides, recursive)
    int iterations = 0;   ///< iteration of the returned x
    int iterations_run = 0;
};

namespace detail {

inline std::vector<Eigen::Index> cg_blocks(const CgParams& p, Eigen::Index n) {
    if (!p.blocks.empty()) {
        if (p.blocks.front() != 0 || p.blocks.back() != n)
            throw std::invalid_argument("pcg: blocks must run from 0 to rows()");
        return p.blocks;
    }
    std::vector<Eigen::Index> b;
    for (Eigen::Index lo = 0; lo < n; lo += kCgChunk) b.push_back(lo);
    b.push_back(n);
    return b;
}

// Calls f(std::integral_constant<int, RC>) with RC = R for the common
// right-hand side counts (loops unrolled over them), RC = 0 otherwise.
template <class F>
void with_rhs_count(int R, F&& f) {
    switch (R) {
        case 1: return f(std::integral_constant<int, 1>{});
        case 2: return f(std::integral_constant<int, 2>{});
        case 3: return f(std::integral_constant<int, 3>{});
        default: return f(std::integral_constant<int, 0>{});
    }
}

// out[c] = sum of a_i b_i over the rows i in [lo, hi) of right-hand side c:
// Eigen's dot for one right-hand side, in row order otherwise.
inline void block_dot(const double* a, const double* b, Eigen::Index lo, Eigen::Index hi, int R,
                      double* out) {
    if (R == 1) {
        out[0] = Eigen::Map<const Eigen::VectorXd>(a + lo, hi - lo)
                     .dot(Eigen::Map<const Eigen::VectorXd>(b + lo, hi - lo));
        return;
    }
    with_rhs_count(R, [&](auto rc) {
        constexpr int RC = decltype(rc)::value;
        const int RR = RC > 0 ? RC : R;
        double acc[kCgMaxRhs] = {};
        for (Eigen::Index i = lo; i < hi; i += RR)
            for (int c = 0; c < RR; ++c) acc[c] += a[i + c] * b[i + c];
        for (int c = 0; c < RR; ++c) out[c] = acc[c];
    });
}

}  // namespace detail

/// Solves A x = b (A symmetric positive definite) by preconditioned
/// conjugate gradients; M applies M^-1. x holds the initial guess on entry
/// (warm start) and the solution on exit; b and x have A.rows() entries.
/// Ops with perform_op_rows are applied block by block inside pcg's
/// parallel passes. The result does not depend on the thread count.
template <class Op, class Precond>
CgResult pcg(const Op& A, const Precond& M, const double* b_in, double* x_out,
             const CgParams& params) {
    const Eigen::Index n = A.rows();
    const int R = params.num_rhs;
    if (R < 1 || R > kCgMaxRhs || n % R != 0)
        throw std::invalid_argument("pcg: num_rhs must be in [1, 8] and divide rows()");
    const bool matlab = params.stop == CgStop::Matlab;
    if (matlab && R != 1)
        throw std::invalid_argument("pcg: the MATLAB stopping rule takes one right-hand side");
    const std::vector<Eigen::Index> bounds = detail::cg_blocks(params, n);
    const int nblk = static_cast<int>(bounds.size()) - 1;
    const int nt = resolve_threads(params.num_threads);
    Eigen::Map<const Eigen::VectorXd> b(b_in, n);
    Eigen::Map<Eigen::VectorXd> x(x_out, n);

    // Partial sums: part[(blk * kSlots + slot) * R + c], totalled in block order.
    constexpr int kSlots = 4;
    std::vector<double> part(static_cast<size_t>(nblk) * kSlots * R, 0.0);
    auto slot_of = [&](int blk, int slot) { return part.data() + (static_cast<size_t>(blk) * kSlots + slot) * R; };
    auto total = [&](int slot, std::vector<double>& out) {
        out.assign(static_cast<size_t>(R), 0.0);
        for (int blk = 0; blk < nblk; ++blk)
            for (int c = 0; c < R; ++c) out[c] += slot_of(blk, slot)[c];
    };
    auto dot_all = [&](const double* u, const double* v, std::vector<double>& out) {
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int blk = 0; blk < nblk; ++blk)
            detail::block_dot(u, v, bounds[blk], bounds[blk + 1], R, slot_of(blk, 0));
        total(0, out);
    };

    // y = op x and out = <x, y>: by blocks of rows, both in one pass, when the
    // op can apply a row range; else the whole op, then the dot products
    auto apply_and_dot = [&](const auto& op, const double* xin, double* y,
                             std::vector<double>& out) {
        if constexpr (detail::has_perform_op_rows<std::decay_t<decltype(op)>>::value) {
#pragma omp parallel for schedule(static) num_threads(nt)
            for (int blk = 0; blk < nblk; ++blk) {
                op.perform_op_rows(xin, y, bounds[blk], bounds[blk + 1]);
                detail::block_dot(xin, y, bounds[blk], bounds[blk + 1], R, slot_of(blk, 0));
            }
            total(0, out);
        } else {
            op.perform_op(xin, y);
            dot_all(xin, y, out);
        }
    };

    Eigen::VectorXd r(n), z(n), p(n), q(n);
    std::vector<double> bb, rn, rz, rz_prev, pq, pp, xx;
    // z = M^-1 r and rz = <r, z>
    auto precondition = [&]() { apply_and_dot(M, r.data(), z.data(), rz); };

    CgResult res;
    // r = b - A x; <b, b>, <r, r>
    A.perform_op(x.data(), q.data());
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int blk = 0; blk < nblk; ++blk) {
        const Eigen::Index lo = bounds[blk], hi = bounds[blk + 1];
        for (Eigen::Index i = lo; i < hi; ++i) r[i] = b[i] - q[i];
        detail::block_dot(b.data(), b.data(), lo, hi, R, slot_of(blk, 0));
        detail::block_dot(r.data(), r.data(), lo, hi, R, slot_of(blk, 1));
    }
    total(0, bb);
    total(1, rn);
    std::vector<double> bn(static_cast<size_t>(R));
    for (int c = 0; c < R; ++c) bn[c] = std::sqrt(bb[c]);

    // Lockstep: relative recursive residual of right-hand side c, and whether all converged.
    auto rel = [&](int c) { return bn[c] > 0 ? std::sqrt(rn[c]) / bn[c] : 0.0; };
    auto converged = [&]() {
        double worst = 0;
        for (int c = 0; c < R; ++c) worst = std::max(worst, rel(c));
        res.relres = worst;
        return worst <= params.tol;
    };
    // MATLAB state
    const double n2b = bn[0];
    const double tolb = params.tol * n2b;
    double normr = std::sqrt(rn[0]), normr_act = normr, normrmin = normr;
    int imin = 0, stag = 0, moresteps = 0;
    const int maxmsteps = static_cast<int>(
        std::min<Eigen::Index>({n / 50, 5, std::max<Eigen::Index>(n - params.max_iterations, 0)}));
    const int maxstagsteps = 3;
    const double eps = std::numeric_limits<double>::epsilon();
    Eigen::VectorXd xmin;
    if (matlab) {
        if (n2b == 0.0) {
            x.setZero();
            res.flag = 0;
            return res;
        }
        if (normr <= tolb) {
            res.flag = 0;
            res.relres = normr / n2b;
            return res;
        }
        xmin = x;
    } else if (converged()) {
        res.flag = 0;
        return res;
    }

    // The preconditioner runs in the update pass when it is local to pcg's blocks.
    bool fuse = false;
    if constexpr (detail::has_perform_op_rows<Precond>::value &&
                  detail::has_local_rows<Precond>::value) {
        const Eigen::Index lr = M.local_rows();
        fuse = lr > 0;
        for (Eigen::Index bnd : bounds) fuse = fuse && bnd % lr == 0;
    }
    precondition();
    std::vector<double> beta(static_cast<size_t>(R), 0.0), alpha(static_cast<size_t>(R), 0.0);
    int flag = 1, ii = 0, iter_done = params.max_iterations, done = 0;
    for (ii = 1; ii <= params.max_iterations; ++ii) {
        check_cancel();
        if (matlab) {
            if (!z.allFinite()) { flag = 2; iter_done = ii; break; }
            if (rz[0] == 0.0 || std::isinf(rz[0])) { flag = 4; iter_done = ii; break; }
            if (ii > 1) {
                beta[0] = rz[0] / rz_prev[0];
                if (beta[0] == 0.0 || std::isinf(beta[0])) { flag = 4; iter_done = ii; break; }
            }
        } else if (ii > 1) {
            for (int c = 0; c < R; ++c) beta[c] = rz_prev[c] > 0 ? rz[c] / rz_prev[c] : 0.0;
        }
        // p = z (first step) or z + beta p
        const bool first = ii == 1;
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int blk = 0; blk < nblk; ++blk) {
            const Eigen::Index lo = bounds[blk], hi = bounds[blk + 1];
            if (first) {
                std::copy(z.data() + lo, z.data() + hi, p.data() + lo);
            } else {
                detail::with_rhs_count(R, [&](auto rc) {
                    constexpr int RC = decltype(rc)::value;
                    const int RR = RC > 0 ? RC : R;
                    double bt[kCgMaxRhs];
                    for (int c = 0; c < RR; ++c) bt[c] = beta[c];
                    double* pp = p.data();
                    const double* zz = z.data();
                    for (Eigen::Index i = lo; i < hi; i += RR)
                        for (int c = 0; c < RR; ++c) pp[i + c] = zz[i + c] + bt[c] * pp[i + c];
                });
            }
        }
        // q = A p; <p, q>
        apply_and_dot(A, p.data(), q.data(), pq);
        if (matlab) {
            if (pq[0] <= 0.0 || std::isinf(pq[0])) { flag = 4; iter_done = ii; break; }
            alpha[0] = rz[0] / pq[0];
            if (std::isinf(alpha[0])) { flag = 4; iter_done = ii; break; }
        } else {
            for (int c = 0; c < R; ++c)
                alpha[c] = (pq[c] > 0 && rel(c) > params.tol) ? rz[c] / pq[c] : 0.0;
        }
        // (MATLAB: <p, p>, <x, x> before the step, for the stagnation test)
        // x += alpha p, r -= alpha q; <r, r>
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int blk = 0; blk < nblk; ++blk) {
            const Eigen::Index lo = bounds[blk], hi = bounds[blk + 1];
            if (matlab) {
                detail::block_dot(p.data(), p.data(), lo, hi, R, slot_of(blk, 1));
                detail::block_dot(x.data(), x.data(), lo, hi, R, slot_of(blk, 2));
            }
            detail::with_rhs_count(R, [&](auto rc) {
                constexpr int RC = decltype(rc)::value;
                const int RR = RC > 0 ? RC : R;
                double al[kCgMaxRhs];
                for (int c = 0; c < RR; ++c) al[c] = alpha[c];
                double* xx_ = x.data();
                double* rr_ = r.data();
                const double* pp = p.data();
                const double* qq = q.data();
                if (RR == 1) {
                    for (Eigen::Index i = lo; i < hi; ++i) {
                        xx_[i] += al[0] * pp[i];
                        rr_[i] -= al[0] * qq[i];
                    }
                    detail::block_dot(rr_, rr_, lo, hi, 1, slot_of(blk, 0));  // Eigen's dot
                    return;
                }
                double acc[kCgMaxRhs] = {};  // <r, r>, summed in row order
                for (Eigen::Index i = lo; i < hi; i += RR)
                    for (int c = 0; c < RR; ++c) {
                        xx_[i + c] += al[c] * pp[i + c];
                        rr_[i + c] -= al[c] * qq[i + c];
                        acc[c] += rr_[i + c] * rr_[i + c];
                    }
                for (int c = 0; c < RR; ++c) slot_of(blk, 0)[c] = acc[c];
            });
            if constexpr (detail::has_perform_op_rows<Precond>::value) {
                if (fuse) {  // z = M^-1 r; <r, z>
                    M.perform_op_rows(r.data(), z.data(), lo, hi);
                    detail::block_dot(r.data(), z.data(), lo, hi, R, slot_of(blk, 3));
                }
            }
        }
        total(0, rn);
        bool fresh = fuse;  // z and its partial sums follow the current r
        ++done;
        if (matlab) {
            total(1, pp);
            total(2, xx);
            if (std::sqrt(pp[0]) * std::abs(alpha[0]) < eps * std::sqrt(xx[0]))
                ++stag;
            else
                stag = 0;
            normr = std::sqrt(rn[0]);
            normr_act = normr;
            if (normr <= tolb || stag >= maxstagsteps || moresteps) {
                A.perform_op(x.data(), q.data());
                r = b - q;
                fresh = false;
                std::vector<double> rr;
                dot_all(r.data(), r.data(), rr);
                normr_act = std::sqrt(rr[0]);
                if (normr_act <= tolb) { flag = 0; iter_done = ii; break; }
                if (stag >= maxstagsteps && moresteps == 0) stag = 0;
                ++moresteps;
                if (moresteps >= maxmsteps) { flag = 3; iter_done = ii; break; }
            }
            if (normr_act < normrmin) {
                normrmin = normr_act;
                xmin = x;
                imin = ii;
            }
            if (stag >= maxstagsteps) { flag = 3; iter_done = ii; break; }
        } else if (converged()) {
            flag = 0;
            break;
        }
        rz_prev = rz;
        if (fresh)
            total(3, rz);
        else
            precondition();
    }
    if (!matlab) {
        res.flag = flag;
        res.iterations = res.iterations_run = done;
        return res;
    }
    res.iterations_run = std::min(ii, params.max_iterations);
    if (flag == 0) {
        res.flag = 0;
        res.relres = normr_act / n2b;
        res.iterations = iter_done;
        return res;
    }
    // Failure: return the minimum-residual iterate if it is better.
    A.perform_op(xmin.data(), q.data());
    const Eigen::VectorXd rmin = b - q;
    std::vector<double> rr;
    dot_all(rmin.data(), rmin.data(), rr);
    const double normr_min_true = std::sqrt(rr[0]);
    if (normr_min_true <= normr_act) {
        x = xmin;
        res.iterations = imin;
        res.relres = normr_min_true / n2b;
    } else {
        res.iterations = iter_done;
        res.relres = normr_act / n2b;
    }
    res.flag = flag;
    return res;
}

}  // namespace sss
