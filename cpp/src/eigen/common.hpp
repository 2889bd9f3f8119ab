// Private: pieces shared by the eigensolver methods (common.cpp).
#pragma once

#include <Eigen/Dense>

#include <cstdint>
#include <random>

#include "sss/eigensolver.hpp"

namespace sss::detail {

/// Seed of the starting vectors of both methods (fixed: deterministic results).
constexpr std::uint64_t kStartSeed = 20180812u;

/// n x cols uniform(-0.5, 0.5) numbers, column by column.
Eigen::MatrixXd seeded_random(Eigen::Index n, Eigen::Index cols, std::mt19937_64& gen);

/// Stores the k pairs in res sorted ascending, normalised, each vector's
/// largest |entry| positive.
void finish_result(const Eigen::VectorXd& vals, const Eigen::MatrixXd& vecs, int k, EigenResult& res);

/// In-place thin QR of X (n x b): X <- Q with orthonormal columns, returns R
/// (b x b, upper triangular) with X_in = Q R. Cholesky QR (one Gram, one
/// triangular scaling: two passes over X) when X is well conditioned, else
/// Householder, whose Q is orthonormal even when X is rank deficient (R then
/// has a zero on its diagonal).
Eigen::MatrixXd thin_qr(Eigen::Ref<Eigen::MatrixXd> X, Eigen::MatrixXd& work, int threads);

/// Y = L U for CSR L and column-major U (n x k). By panels of 16 columns of
/// U, rows of L in parallel: the panel's entries that a row's neighbours
/// touch stay in cache from one row to the next (Eigen's product walks one
/// column of U at a time, reading L k times).
void sparse_times_dense(const SparseRef& L, const Eigen::MatrixXd& U, Eigen::MatrixXd& Y,
                        int threads);

/// Rayleigh quotients theta_i = u_i^T L u_i / u_i^T u_i of the columns of U
/// and the largest explicit residual ||L u_i - theta_i u_i|| / ||u_i||.
double rayleigh_residuals(const SparseRef& L, const Eigen::MatrixXd& U, Eigen::VectorXd& theta,
                          int threads);

}  // namespace sss::detail
