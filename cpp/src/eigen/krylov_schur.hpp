// Private: block Krylov-Schur (thick-restarted block Lanczos) for the largest
// eigenvalues of a shift-solve op A = (L - sigma I)^-1, templated on the op
// (convention of sss/solvers/operator.hpp: rows(), perform_op; the
// multi-column perform_op_block when it has one). See smallest_eigenvectors
// in sss/eigensolver.hpp for the method.
#pragma once

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "../blas.hpp"
#include "../stopwatch.hpp"
#include "common.hpp"
#include "sss/eigensolver.hpp"
#include "sss/parallel.hpp"
#include "sss/progress.hpp"
#include "sss/solvers/operator.hpp"

namespace sss::detail {

// Keeps A V = V H + Q B^T with an orthonormal basis V (dim columns), the next
// block Q and the projected matrix H, so every Ritz pair's residual norm
// ||A u - mu u|| = ||B^T s|| is known without forming u. maxdim: basis size,
// b: block size; the result goes into res (shift already set).
template <class Op>
void block_krylov_schur(const SparseRef& L, const Op& op, const EigenParams& params,
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
        apply_block(op, V.middleCols(dim, b), Y);  // Z = A P
        res.seconds_solve += sw.lap();
        res.operations += static_cast<int>(b);
        const Eigen::Index m = dim + b;
        znorm = Y.colwise().norm();
        V.middleCols(m, b) = Y;
        // One sweep: [V, P]^T [P, Z] = [C2 VZ; PP PZ]
        Eigen::MatrixXd G(m, 2 * b);
        gemm_fixed(true, false, 1.0, V.leftCols(m), V.middleCols(dim, 2 * b), 0.0, G, nt);
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
            gemm_fixed(false, false, -1.0, V.leftCols(dim), CV, 1.0, V.middleCols(dim, 2 * b), nt);
            const Eigen::MatrixXd R2inv =
                R2.triangularView<Eigen::Upper>().solve(Eigen::MatrixXd::Identity(b, b));
            gemm_fixed(false, false, 1.0, V.middleCols(dim, b), R2inv, 0.0, work, nt);
            V.middleCols(dim, b) = work;
            // Q^T Z = R2^-T (P^T Z - C2^T V^T Z)
            const Eigen::MatrixXd QZ = R2inv.transpose() * (PZ - C2.transpose() * VZ);
            gemm_fixed(false, false, -1.0, V.middleCols(dim, b), QZ, 1.0, V.middleCols(m, b), nt);
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
                gemm_fixed(true, false, 1.0, V.leftCols(dim), Pt, 0.0, C, nt);
                gemm_fixed(false, false, -1.0, V.leftCols(dim), C, 1.0, Pt, nt);
                Ctot += C;
            }
            Eigen::HouseholderQR<Eigen::MatrixXd> qr(Pt);
            R2 = qr.matrixQR().topRows(b).triangularView<Eigen::Upper>();
            V.middleCols(dim, b) = qr.householderQ() * Eigen::MatrixXd::Identity(n, b);
            H.topLeftCorner(dim, dim) += Ctot * H.block(dim, 0, b, dim);
            H.block(dim, 0, b, dim) = (R2 * H.block(dim, 0, b, dim)).eval();
            res.seconds_orthogonalize += sw.lap();
            apply_block(op, V.middleCols(dim, b), Y);
            res.seconds_solve += sw.lap();
            res.operations += static_cast<int>(b);
            znorm = Y.colwise().norm();
            Hcol_V.resize(m, b);
            gemm_fixed(true, false, 1.0, V.leftCols(m), Y, 0.0, Hcol_V, nt);
            gemm_fixed(false, false, -1.0, V.leftCols(m), Hcol_V, 1.0, Y, nt);
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
            gemm_fixed(false, false, 1.0, V.leftCols(dim), S.leftCols(k), 0.0, U, nt);
            Eigen::VectorXd theta;
            res.residual = rayleigh_residuals(L, U, theta, resolve_threads(params.num_threads));
            finish_result(theta, U, k, res);
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
                gemm(false, false, 1.0, V.block(r, 0, nr, dim), S.leftCols(keep), 0.0, Tr);
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

}  // namespace sss::detail
