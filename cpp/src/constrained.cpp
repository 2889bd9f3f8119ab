// Stages 8-9 of SPEC.md: constrained sparsification by IRLS over the
// eigenvector coefficients, with the coupled system solved by its structure.
#include "sss/constrained.hpp"

#include <Eigen/Cholesky>
#include <Eigen/LU>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "sss/parallel.hpp"

namespace sss {

Eigen::MatrixXd structured_block_solve(const Eigen::MatrixXd& B, const Eigen::MatrixXd& C,
                                       const Eigen::MatrixXd& b) {
    const Eigen::Index m = C.rows();
    if (C.cols() != m || B.rows() != m || m == 0 || B.cols() % m != 0)
        throw std::invalid_argument("structured_block_solve: B must be m x (K-1) m and C m x m");
    const Eigen::Index nb = B.cols() / m;
    if (b.rows() != m || b.cols() != nb)
        throw std::invalid_argument("structured_block_solve: b must be m x (K-1)");
    if (nb == 0) return Eigen::MatrixXd(m, 0);
    // Per block: factor B_k, accumulate S = sum B_k^-1 and r = sum B_k^-1 b_k.
    std::vector<Eigen::LLT<Eigen::MatrixXd>> llt(static_cast<size_t>(nb));
    Eigen::MatrixXd S = Eigen::MatrixXd::Zero(m, m);
    Eigen::VectorXd r = Eigen::VectorXd::Zero(m);
    const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(m, m);
    for (Eigen::Index k = 0; k < nb; ++k) {
        llt[static_cast<size_t>(k)].compute(B.middleCols(k * m, m));
        if (llt[static_cast<size_t>(k)].info() != Eigen::Success)
            throw std::runtime_error("structured_block_solve: block " + std::to_string(k) +
                                     " is not positive definite");
        S += llt[static_cast<size_t>(k)].solve(I);
        r += llt[static_cast<size_t>(k)].solve(b.col(k));
    }
    Eigen::MatrixXd M = I + S * C;
    Eigen::PartialPivLU<Eigen::MatrixXd> lu(M);
    const Eigen::VectorXd s = lu.solve(r);
    if (!s.allFinite())
        throw std::runtime_error("structured_block_solve: reduced system is singular");
    const Eigen::VectorXd Cs = C * s;
    Eigen::MatrixXd y(m, nb);
    for (Eigen::Index k = 0; k < nb; ++k)
        y.col(k) = llt[static_cast<size_t>(k)].solve(b.col(k) - Cs);
    return y;
}

namespace {

// G = E^T diag(w) E (lower triangle filled, then symmetrised), in chunks of
// pixels so the scaled copy stays in cache.
void weighted_gram(const Eigen::MatrixXd& E, const double* w, Eigen::MatrixXd& G) {
    const Eigen::Index n = E.rows(), m = E.cols();
    constexpr Eigen::Index kChunk = 2048;
    G.setZero(m, m);
    Eigen::MatrixXd Ew(kChunk, m);
    for (Eigen::Index lo = 0; lo < n; lo += kChunk) {
        const Eigen::Index len = std::min(kChunk, n - lo);
        for (Eigen::Index j = 0; j < m; ++j)
            for (Eigen::Index i = 0; i < len; ++i) Ew(i, j) = std::sqrt(w[lo + i]) * E(lo + i, j);
        G.selfadjointView<Eigen::Lower>().rankUpdate(Ew.topRows(len).transpose());
    }
    G.triangularView<Eigen::StrictlyUpper>() = G.transpose();
}

}  // namespace

ConstrainedResult constrained_sparsify(const Eigen::Ref<const RowMatrixXd>& E_in,
                                       const Eigen::Ref<const Eigen::VectorXd>& eigenvalues,
                                       const SparseRef& L, const int* labels, int num_layers,
                                       const ConstrainedParams& params) {
    const Eigen::Index n = E_in.rows(), m = E_in.cols();
    if (n == 0 || m == 0)
        throw std::invalid_argument("constrained_sparsify: empty eigenvector matrix");
    if (eigenvalues.size() != m)
        throw std::invalid_argument("constrained_sparsify: " + std::to_string(m) +
                                    " eigenvectors but " + std::to_string(eigenvalues.size()) +
                                    " eigenvalues");
    if (L.rows() != n || L.cols() != n)
        throw std::invalid_argument("constrained_sparsify: L must be N x N with N = " +
                                    std::to_string(n));
    if (num_layers < 1) throw std::invalid_argument("constrained_sparsify: need >= 1 layer");
    for (Eigen::Index p = 0; p < n; ++p)
        if (labels[p] < 0 || labels[p] >= num_layers)
            throw std::invalid_argument("constrained_sparsify: label " +
                                        std::to_string(labels[p]) + " at pixel " +
                                        std::to_string(p) + " outside [0, " +
                                        std::to_string(num_layers - 1) + "]");
    if (params.iterations < 0 || !(params.gamma > 0.0) || !(params.weight > 0.0) ||
        !(params.clamp > 0.0) || params.prune_every < 0)
        throw std::invalid_argument("constrained_sparsify: bad parameters");
    const int nt = resolve_threads(params.num_threads);

    const Eigen::MatrixXd E = E_in;  // column-major copy for the Gram products
    const Eigen::VectorXd L1 = L * Eigen::VectorXd::Ones(n);
    const Eigen::VectorXd EtL1 = E.transpose() * L1;
    const double wg = std::pow(params.weight, params.gamma);
    const double ex = params.gamma - 2.0;

    int K = num_layers;
    std::vector<int> kept(static_cast<size_t>(K));
    for (int k = 0; k < K; ++k) kept[static_cast<size_t>(k)] = k;
    Eigen::MatrixXd alpha = Eigen::MatrixXd::Zero(n, K);  // column-major N x K
    for (Eigen::Index p = 0; p < n; ++p) alpha(p, labels[p]) = 1.0;

    const int cycle = params.prune_every > 0 ? params.prune_every
                                             : (params.iterations + 3) / 4;
    int remove_iter = cycle;
    ConstrainedResult res;
    Eigen::MatrixXd e0(n, K), e1(n, K);
    auto reweight = [&]() {
        e0.resize(n, K);
        e1.resize(n, K);
#pragma omp parallel for schedule(static) num_threads(nt)
        for (Eigen::Index p = 0; p < n; ++p)
            for (int k = 0; k < K; ++k) {
                const double a = alpha(p, k);
                e1(p, k) = wg * std::pow(std::max(std::abs(a - 1.0), params.clamp), ex);
                e0(p, k) = wg * std::pow(std::max(std::abs(a), params.clamp), ex);
            }
    };
    reweight();
    for (int iter = 1; iter <= params.iterations; ++iter) {
        if (K >= 2) {
            // Gram blocks of every layer, in parallel over layers.
            Eigen::MatrixXd W = e0 + e1;
            std::vector<Eigen::MatrixXd> G(static_cast<size_t>(K));
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
            for (int k = 0; k < K; ++k) {
                weighted_gram(E, W.col(k).data(), G[static_cast<size_t>(k)]);
                G[static_cast<size_t>(k)].diagonal() += eigenvalues;
            }
            Eigen::MatrixXd B(m, (K - 1) * m);
            for (int k = 0; k < K - 1; ++k) B.middleCols(k * m, m) = G[static_cast<size_t>(k)];
            const Eigen::MatrixXd Et_e1 = E.transpose() * e1.leftCols(K - 1);
            const Eigen::VectorXd shared = E.transpose() * e0.col(K - 1) + EtL1;
            const Eigen::MatrixXd rhs = Et_e1.colwise() + shared;
            const Eigen::MatrixXd y = structured_block_solve(B, G[static_cast<size_t>(K - 1)], rhs);
            alpha.leftCols(K - 1).noalias() = E * y;
            alpha.col(K - 1) = Eigen::VectorXd::Ones(n) - alpha.leftCols(K - 1).rowwise().sum();
        }
        if (iter > remove_iter) {
            std::vector<int> keep;
            int best = 0;
            double best_max = -1.0;
            for (int k = 0; k < K; ++k) {
                const double mx = alpha.col(k).cwiseAbs().maxCoeff();
                if (mx > params.prune_threshold) keep.push_back(k);
                if (mx > best_max) { best_max = mx; best = k; }
            }
            if (keep.empty()) keep.push_back(best);
            if (static_cast<int>(keep.size()) != K) {
                Eigen::MatrixXd a2(n, static_cast<Eigen::Index>(keep.size()));
                std::vector<int> kept2;
                for (size_t j = 0; j < keep.size(); ++j) {
                    a2.col(static_cast<Eigen::Index>(j)) = alpha.col(keep[j]);
                    kept2.push_back(kept[static_cast<size_t>(keep[j])]);
                }
                alpha = std::move(a2);
                kept = std::move(kept2);
                K = static_cast<int>(keep.size());
            }
            remove_iter += cycle;
        }
        res.layer_counts.push_back(K);
        reweight();
    }
    res.alphas = alpha;
    res.kept = kept;
    return res;
}

}  // namespace sss
