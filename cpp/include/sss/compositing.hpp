// 8- and 16-bit layers for editors: the per-pixel alpha conversions behind the
// exported layer files (Python: sss.export.compositing). Each conversion comes
// for 8-bit levels (std::uint8_t, 0..255) and, with the suffix 16, for 16-bit
// levels (std::uint16_t, 0..65535); the 16-bit forms are the same computation
// with 65535 in the place of 255.
#pragma once

#include <cstdint>
#include <vector>

#include "sss/image.hpp"

namespace sss {

/// 8-bit levels of normalised alphas (H x W x K, each pixel summing to 1) that
/// sum to exactly 255 at every pixel: largest-remainder rounding of 255 a.
/// Every level is the floor or the ceiling of its exact value; the levels
/// still missing after the floors go to the layers of largest remainder, the
/// lower layer index first on ties. Returns H x W x K levels, row-major.
/// Throws std::invalid_argument for an empty view or non-finite values.
std::vector<std::uint8_t> quantize_alphas(const ImageView& alphas, int num_threads = 0);
/// quantize_alphas with 16-bit levels summing to 65535.
std::vector<std::uint16_t> quantize_alphas16(const ImageView& alphas, int num_threads = 0);

/// The alphas of an 'over' stack of the layers, with levels of type Level.
template <class Level>
struct BasicOverStack {
    /// H x W x K levels, stack position t (0 = top) in channel t: the quantised
    /// alpha b_t of the layer at that position (the bottom one is the largest
    /// level, 255 or 65535).
    std::vector<Level> levels;
    /// H x W x K effective alphas b_t R_t of the quantised levels (R_t = the
    /// coverage the layers above leave), the weights with which 'over'
    /// blending adds each layer's colour.
    std::vector<double> effective;
};
using OverStack = BasicOverStack<std::uint8_t>;
using OverStack16 = BasicOverStack<std::uint16_t>;

/// Converts normalised alphas (H x W x K) for ordinary 'over' blending with the
/// layers stacked top to bottom as `order` (a permutation of 0..K-1): the layer
/// at position t gets b_t = a_t / R_t (0 where R_t = 0), clipped to [0, 1] and
/// rounded to 8 bits (half to even) before R_{t+1} = R_t (1 - b_t) is formed;
/// the bottom layer gets 1. Then 'over' blending from the bottom up gives
/// sum_t a_t c_t up to the 8-bit rounding, which the colours absorb when they
/// are projected on `effective`.
OverStack over_alphas(const ImageView& alphas, const std::vector<int>& order,
                      int num_threads = 0);
/// over_alphas with 16-bit levels.
OverStack16 over_alphas16(const ImageView& alphas, const std::vector<int>& order,
                          int num_threads = 0);

/// 8-bit RGBA layers that recompose `image` (H x W x 3): at every pixel the
/// colours of the layers listed in `order` (`colors`: H x W x K x 3, by layer
/// index) are projected (project_pixel_colors) onto the blending weights
/// `weights` (H x W x K, by stack position t, i.e. for layer order[t]), then
/// rounded to 8 bits (half to even); the alpha of position t is levels[p K + t].
/// Returns K x H x W x 4 values, position t first. The inputs are checked as
/// project_layer_colors checks its own (check_projection, the weights in the
/// place of the alphas); std::invalid_argument also for an `order` that is not
/// a permutation.
std::vector<std::uint8_t> rgba_layers(const ImageView& image, const ImageView& weights,
                                      const std::uint8_t* levels, const double* colors,
                                      const std::vector<int>& order, int num_threads = 0);
/// rgba_layers with 16-bit colours and alpha levels.
std::vector<std::uint16_t> rgba_layers16(const ImageView& image, const ImageView& weights,
                                         const std::uint16_t* levels, const double* colors,
                                         const std::vector<int>& order, int num_threads = 0);
/// rgba_layers and rgba_layers16 of colours stored as float32 (read into
/// double before the projection; only the colours must be finite).
std::vector<std::uint8_t> rgba_layers(const ImageView& image, const ImageView& weights,
                                      const std::uint8_t* levels, const float* colors,
                                      const std::vector<int>& order, int num_threads = 0);
std::vector<std::uint16_t> rgba_layers16(const ImageView& image, const ImageView& weights,
                                         const std::uint16_t* levels, const float* colors,
                                         const std::vector<int>& order, int num_threads = 0);

/// Porter-Duff 'over' of 8-bit RGBA layers (K x H x W x 4, stack position t
/// first, 0 = top) on black, on the stored values: from the bottom layer up,
/// out = a c + (1 - a) out with a = A / 255 and c = C / 255, in that order of
/// operations (so equal to sss.export.composite_over's numpy form). Returns
/// H x W x 3 values in [0, 1]. Throws std::invalid_argument for K < 1 or an
/// empty image.
std::vector<double> composite_over(const std::uint8_t* rgba, int K, int height, int width,
                                   int num_threads = 0);
/// composite_over of 16-bit RGBA layers (a = A / 65535, c = C / 65535).
std::vector<double> composite_over16(const std::uint16_t* rgba, int K, int height, int width,
                                     int num_threads = 0);

}  // namespace sss
