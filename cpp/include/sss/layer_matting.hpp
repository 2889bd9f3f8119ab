// Stage 10b of the multilevel method (docs/algorithm.md): every layer's
// boundary matted at a finer level than the working level.
//
// The layers come from a 160 x 120 working level and are carried to the photo
// by guided upsampling, which can only follow edges the working level saw.
// This stage takes the layers at the matting level (the photo at up to
// 640 x 480 pixels), trusts each layer where it is nearly 1 or nearly 0, and
// lets a closed-form matte of the photo (Levin et al.), pulled towards the
// alpha that the nearby certain colours explain (sampled_alpha), decide the
// band in between. The K mattes are then scaled to sum to one.
#pragma once

#include <vector>

#include "sss/image.hpp"

namespace sss {

struct LayerMattingParams {
    bool enabled = true;               ///< multilevel default; the reference method: false
    long long max_pixels = 640 * 480;  ///< pixel budget of the matting level
    /// a layer is known where its alpha is above this (1) or below 1 - this (0)
    double certain = 0.95;
    int erosion = 1;                   ///< pixels (matting level) each known region is shrunk by
    double eps = 1e-6;                 ///< the matting affinity's regulariser
    double prior = 1e-5;               ///< weight pulling unknown pixels to the layer's value (> 0)
    /// weight of the colour-sampled alpha (sampled_alpha), times its confidence,
    /// in the same pull (0: the layer's value alone)
    double sampling_weight = 0.1;
    int sampling_neighbours = 4;       ///< AlphaSamplingParams::neighbours
    double sampling_sigma = 0.1;       ///< AlphaSamplingParams::sigma
    int sampling_band = 2;             ///< AlphaSamplingParams::band
    int num_threads = 0;               ///< <= 0: all cores; the result does not depend on it
};

/// Throws std::invalid_argument naming the first bad field.
void check_layer_matting_params(const LayerMattingParams& params);

/// Trimap of one layer (height x width values): 1 where the layer is above
/// `certain`, 0 where it is below 1 - `certain`, each region shrunk by
/// `erosion` 4-neighbour erosions (the border counts as inside); 0.5 (unknown)
/// elsewhere.
std::vector<double> layer_trimap(const double* layer, int height, int width, double certain,
                                 int erosion);

/// Stage 10b on `layers` (H x W x K, normalised, row-major) of `image`
/// (H x W x 3, [0, 1]), both at the matting level: each layer with a known
/// inside, a known outside and an unknown band (layer_trimap) is replaced by
/// closed_form_matte of its trimap, pulled with weight `prior` towards the
/// layer's value and with weight sampling_weight x confidence towards
/// sampled_alpha; the others are kept. The results are scaled to sum to one
/// (where they sum to less than 1e-6, the pixel keeps its layers). Returns
/// H x W x K values. Deterministic, independent of the thread count; reports
/// progress and checks for cancellation after each layer.
std::vector<double> matte_layers(const ImageView& layers, const ImageView& image,
                                 const LayerMattingParams& params);

}  // namespace sss
