// Stages 8-9 (docs/algorithm.md): constrained sparsification of the eigenvectors
// (after Levin et al.'s spectral matting) into soft layers.
#pragma once

#include <Eigen/Dense>

#include <string>
#include <vector>

#include "sss/sparse.hpp"

namespace sss {

using RowMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Solve the coupled system of constrained sparsification by its structure:
///
///   (blockdiag(B_1, ..., B_{K-1}) + (1 1^T) kron C) y = b
///
/// with K-1 symmetric positive definite m x m blocks B_k, one shared
/// symmetric m x m block C and b of length (K-1) m (block k = b_k). Writing
/// s = sum_k y_k, each y_k = B_k^-1 (b_k - C s), and summing gives the m x m
/// system (I + S C) s = sum_k B_k^-1 b_k with S = sum_k B_k^-1. Cost
/// O(K m^3) instead of O(K^3 m^3) for the dense (K-1) m system.
///
/// `B` holds the blocks side by side (m x (K-1) m). Returns y as m x (K-1)
/// (column k = y_k). Throws std::runtime_error if a B_k is not positive
/// definite or the reduced system is singular.
Eigen::MatrixXd structured_block_solve(const Eigen::MatrixXd& B, const Eigen::MatrixXd& C,
                                       const Eigen::MatrixXd& b);

/// Kernels for the weighted Gram matrices E^T diag(w) E.
enum class GramKernel {
    Auto,   ///< Avx2 on CPUs with AVX2/FMA, else Blas when built with it, else Eigen
    Blas,   ///< BLAS dsyrk on chunks of scaled rows (needs a build with SSS_USE_BLAS)
    Avx2,   ///< register-blocked AVX2/FMA kernel (x86-64, chosen at run time)
    Eigen,  ///< Eigen's rank update (portable)
};

/// Name of a kernel ("auto", "blas", "avx2", "eigen").
const char* gram_kernel_name(GramKernel kernel);

/// Whether `kernel` can run in this build on this CPU.
bool gram_kernel_available(GramKernel kernel);

/// E^T diag(w) E for E of N x m and weights w >= 0 (length N): the Gram
/// blocks of constrained sparsification. Throws std::invalid_argument for a
/// kernel that is not available.
Eigen::MatrixXd weighted_gram(const Eigen::Ref<const RowMatrixXd>& E,
                              const Eigen::Ref<const Eigen::VectorXd>& w,
                              GramKernel kernel = GramKernel::Auto);

struct ConstrainedParams {
    int iterations = 40;            ///< IRLS iterations
    double gamma = 0.8;             ///< sparsity exponent
    double weight = 0.3;            ///< w0 = w1 of the sparsity penalty
    double clamp = 1e-10;           ///< |alpha| and |alpha - 1| are clamped below by this
    double prune_threshold = 0.1;   ///< layers with max |alpha| below it are dropped
    int prune_every = 0;            ///< 0: ceil(iterations / 4)
    int num_threads = 0;
    GramKernel gram_kernel = GramKernel::Auto;
    /// 1: every pixel's term enters the energy (the reference). s > 1: only
    /// the centre pixel of each s x s block, weighted by N / (number of
    /// samples) -- a quadrature of the same energy, ~s^2 times cheaper; the
    /// layers are still E y + c at every pixel. Needs image_width.
    int sample_stride = 1;
    Eigen::Index image_width = 0;   ///< W with pixel index row * W + col
};

struct ConstrainedResult {
    RowMatrixXd alphas;             ///< N x K_final, pixel-major; rows sum to 1
    std::vector<int> kept;          ///< original index (0-based) of each surviving layer
    std::vector<int> layer_counts;  ///< number of layers after each iteration
    std::string gram_kernel;        ///< the Gram kernel used
    double seconds_gram = 0.0;      ///< wall time in the weighted Gram matrices
    double seconds_solve = 0.0;     ///< ... in the right-hand sides, block solves, E y
    double seconds_weights = 0.0;   ///< ... in the IRLS weights
    Eigen::Index sample_count = 0;  ///< pixels whose terms entered the energy
};

/// Constrained sparsification (stage 8 of docs/algorithm.md; reference softSegmentsFromEigs).
///
/// Layers alpha_k = E y_k for k < K and alpha_K = 1 - sum_k alpha_k, started
/// from the one-hot layers of `labels` (values 0..K-1; K = num_layers). Each
/// iteration sets the IRLS weights
///   e1 = w^gamma max(|alpha - 1|, clamp)^(gamma - 2),
///   e0 = w^gamma max(|alpha|, clamp)^(gamma - 2)
/// and solves for y_1..y_{K-1} the system with blocks
///   B_k = E^T diag(e0_k + e1_k) E + Lambda,  C = B_K,
///   b_k = E^T e1_k + E^T e0_K + E^T L 1,
/// by structured_block_solve. After iteration prune_every, 2 prune_every, ...
/// layers whose max |alpha| is below prune_threshold are dropped.
///
/// E is N x m (eigenvectors as columns), `eigenvalues` their m eigenvalues,
/// L the N x N Laplacian.
ConstrainedResult constrained_sparsify(const Eigen::Ref<const RowMatrixXd>& E,
                                       const Eigen::Ref<const Eigen::VectorXd>& eigenvalues,
                                       const SparseRef& L, const int* labels, int num_layers,
                                       const ConstrainedParams& params = {});

}  // namespace sss
