// The image gradient that sets the per-pixel sparsity exponent of relaxed
// sparsification (docs/algorithm.md, stage 10).
#pragma once

#include <vector>

#include "sss/image.hpp"

namespace sss {

/// Gradient magnitude sqrt(sum_c gx_c^2 + gy_c^2) of an H x W x C image with
/// Farid & Simoncelli's 13-tap prefilter and derivative kernels at the
/// reference's four-decimal precision, replicated borders, each separable
/// convolution evaluated as scipy.ndimage.convolve1d does (sss.image_gradient).
/// Returns H x W values, row-major.
std::vector<double> image_gradient(const ImageView& image);

}  // namespace sss
