// Iterative solvers separated from the matrix operations they need.
//
// An operator ("op") is any class with
//     Eigen::Index rows() const;
//     void apply(const Eigen::VectorXd& x, Eigen::VectorXd& y) const;  // y = A x
// and a preconditioner any class with
//     void apply(const Eigen::VectorXd& r, Eigen::VectorXd& z) const;  // z = M^-1 r
// so a new preconditioner or operator never touches the solver or the
// pipeline stage that uses it.
#pragma once

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "sss/parallel.hpp"

namespace sss {

/// Deterministic parallel dot product: fixed chunks summed in order, so the
/// result does not depend on the number of threads.
inline double det_dot(const Eigen::VectorXd& a, const Eigen::VectorXd& b, int num_threads = 0) {
    const Eigen::Index n = a.size();
    constexpr Eigen::Index kChunk = 1 << 14;
    const Eigen::Index nchunks = (n + kChunk - 1) / kChunk;
    std::vector<double> part(static_cast<size_t>(nchunks), 0.0);
#pragma omp parallel for schedule(static) num_threads(resolve_threads(num_threads))
    for (Eigen::Index c = 0; c < nchunks; ++c) {
        const Eigen::Index lo = c * kChunk, len = std::min(kChunk, n - lo);
        part[static_cast<size_t>(c)] = a.segment(lo, len).dot(b.segment(lo, len));
    }
    double s = 0.0;
    for (double v : part) s += v;
    return s;
}

/// No preconditioning: z = r.
struct IdentityPreconditioner {
    void apply(const Eigen::VectorXd& r, Eigen::VectorXd& z) const { z = r; }
};

/// Diagonal (Jacobi) preconditioner z = r ./ d.
struct JacobiPreconditioner {
    Eigen::VectorXd inv_diag;
    void apply(const Eigen::VectorXd& r, Eigen::VectorXd& z) const {
        z = r.cwiseProduct(inv_diag);
    }
};

struct CgParams {
    double tol = 1e-6;        ///< stop when ||b - A x|| <= tol ||b||
    int max_iterations = 100;
    int num_threads = 0;
};

/// Outcome of one CG solve, with MATLAB pcg's flags: 0 converged,
/// 1 max_iterations reached, 3 stagnated, 4 breakdown (a scalar became 0/inf).
struct CgResult {
    int flag = 1;
    double relres = 0.0;  ///< ||b - A x|| / ||b|| of the returned x
    int iterations = 0;   ///< iteration of the returned x
    int iterations_run = 0;
};

/// Preconditioned conjugate gradients with MATLAB pcg's semantics: tolerance
/// on the relative residual, the recursively updated residual confirmed by a
/// true residual before stopping, stagnation detection, and on failure the
/// iterate with the smallest residual is returned. x holds the initial guess
/// on entry (warm start) and the solution on exit.
template <class Op, class Precond>
CgResult pcg(const Op& A, const Precond& M, const Eigen::VectorXd& b, Eigen::VectorXd& x,
             const CgParams& params) {
    const int nt = params.num_threads;
    const Eigen::Index n = b.size();
    CgResult res;
    const double n2b = std::sqrt(det_dot(b, b, nt));
    if (n2b == 0.0) {
        x.setZero();
        res.flag = 0;
        return res;
    }
    const double tolb = params.tol * n2b;
    Eigen::VectorXd r(n), z(n), p(n), q(n), xmin = x;
    A.apply(x, q);
    r = b - q;
    double normr = std::sqrt(det_dot(r, r, nt));
    double normr_act = normr;
    if (normr <= tolb) {
        res.flag = 0;
        res.relres = normr / n2b;
        return res;
    }
    double normrmin = normr;
    int imin = 0, stag = 0, moresteps = 0;
    const int maxmsteps = static_cast<int>(
        std::min<Eigen::Index>({n / 50, 5, std::max<Eigen::Index>(n - params.max_iterations, 0)}));
    const int maxstagsteps = 3;
    const double eps = std::numeric_limits<double>::epsilon();
    double rho = 1.0;
    int flag = 1, ii = 0, iter_done = params.max_iterations;
    for (ii = 1; ii <= params.max_iterations; ++ii) {
        check_cancel();
        M.apply(r, z);
        if (!z.allFinite()) { flag = 2; iter_done = ii; break; }
        const double rho1 = rho;
        rho = det_dot(r, z, nt);
        if (rho == 0.0 || std::isinf(rho)) { flag = 4; iter_done = ii; break; }
        if (ii == 1) {
            p = z;
        } else {
            const double beta = rho / rho1;
            if (beta == 0.0 || std::isinf(beta)) { flag = 4; iter_done = ii; break; }
            p = z + beta * p;
        }
        A.apply(p, q);
        const double pq = det_dot(p, q, nt);
        if (pq <= 0.0 || std::isinf(pq)) { flag = 4; iter_done = ii; break; }
        const double alpha = rho / pq;
        if (std::isinf(alpha)) { flag = 4; iter_done = ii; break; }
        if (std::sqrt(det_dot(p, p, nt)) * std::abs(alpha) < eps * std::sqrt(det_dot(x, x, nt)))
            ++stag;
        else
            stag = 0;
        x += alpha * p;
        r -= alpha * q;
        normr = std::sqrt(det_dot(r, r, nt));
        normr_act = normr;
        if (normr <= tolb || stag >= maxstagsteps || moresteps) {
            A.apply(x, q);
            r = b - q;
            normr_act = std::sqrt(det_dot(r, r, nt));
            if (normr_act <= tolb) {
                flag = 0;
                iter_done = ii;
                break;
            }
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
    }
    res.iterations_run = std::min(ii, params.max_iterations);
    if (flag == 0) {
        res.flag = 0;
        res.relres = normr_act / n2b;
        res.iterations = iter_done;
        return res;
    }
    // Failure: return the minimum-residual iterate if it is better.
    A.apply(xmin, q);
    const double normr_min_true = std::sqrt(det_dot(b - q, b - q, nt));
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
