// Dense kernels shared by the eigensolvers.
#include "common.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "../blas.hpp"

namespace sss::detail {

Eigen::MatrixXd seeded_random(Eigen::Index n, Eigen::Index cols, std::mt19937_64& gen) {
    std::uniform_real_distribution<double> uni(-0.5, 0.5);
    Eigen::MatrixXd X(n, cols);
    for (Eigen::Index j = 0; j < cols; ++j)
        for (Eigen::Index i = 0; i < n; ++i) X(i, j) = uni(gen);
    return X;
}

// Sorts ascending, normalises, and makes each vector's largest |entry| positive.
void finish_result(const Eigen::VectorXd& vals, const Eigen::MatrixXd& vecs, int k, EigenResult& res) {
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

}  // namespace sss::detail
