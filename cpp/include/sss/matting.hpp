// Stage 3 (docs/algorithm.md): the matting affinity of Levin et al. and its Laplacian.
#pragma once

#include "sss/image.hpp"
#include "sss/sparse.hpp"

namespace sss {

/// Parameters of the closed-form matting affinity.
struct MattingParams {
    int radius = 1;       ///< window radius r: windows are (2r+1) x (2r+1) pixels
    double eps = 1e-7;    ///< regulariser; eps / window_size is added to each covariance
    int num_threads = 0;  ///< 0: all available (OpenMP); 1: serial
};

/// Levin et al.'s matting affinity W_L of an RGB image (docs/algorithm.md, stage 3).
///
/// For every window k whose centre is at least `radius` pixels from the border
/// and every pixel pair (i, j) in it:
///   W_ij += (1 + (I_i - mu_k)^T (Sigma_k + eps/|w| Id)^-1 (I_j - mu_k)) / |w|
/// with Sigma_k = E[I I^T] - mu_k mu_k^T over the |w| = (2r+1)^2 pixels of the
/// window. The result is symmetrised as (W + W^T) / 2, so it is exactly
/// symmetric. Pixel p = row * width + col. Assembled straight into compressed
/// storage, one row per pixel, in parallel.
///
/// Throws std::invalid_argument for an image that is not 3-channel or smaller
/// than one window, or for a bad radius/eps; std::length_error when the matrix
/// would not fit 32-bit indices.
SparseMatrix matting_affinity(const ImageView& image, const MattingParams& params = {});

/// Graph Laplacian L = D - W with D = diag(W 1). W must be square; the
/// diagonal of L is stored for every row even where W has none.
SparseMatrix laplacian_from_affinity(const SparseRef& W);

}  // namespace sss
