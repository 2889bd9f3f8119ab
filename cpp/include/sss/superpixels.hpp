// Stage 2 (docs/algorithm.md): SLIC-0 superpixels and the superpixel graph (adjacency,
// centroid pixels, region means).
#pragma once

#include <cstddef>
#include <vector>

#include "sss/image.hpp"

namespace sss {

/// A read-only view of an H x W label map (row-major, pixel p = row * width + col).
/// Valid label maps hold the consecutive labels 0 .. count-1, each present.
struct LabelView {
    const int* data = nullptr;
    int height = 0;
    int width = 0;

    std::ptrdiff_t num_pixels() const {
        return static_cast<std::ptrdiff_t>(height) * static_cast<std::ptrdiff_t>(width);
    }
};

/// Checks that `labels` is non-empty and holds the consecutive labels
/// 0 .. K-1, every one present, and returns K. Throws std::invalid_argument
/// naming `what` and the problem (negative label, missing label) otherwise.
int check_labels(const LabelView& labels, const char* what);

/// CIELAB (D65 white, 2-degree observer) of an sRGB image with values
/// nominally in [0, 1]. Values outside [0, 1] are converted as they are (no
/// clipping or rescaling). `out` receives H * W * 3 values, L* in [0, 100].
void rgb_to_lab(const ImageView& rgb, double* out, int num_threads = 0);

/// Parameters of SLIC-0 superpixels.
struct SlicParams {
    int n_segments = 2500;        ///< requested number of superpixels
    double compactness = 1e-20;   ///< initial compactness m (Lab units); SLIC-0 adapts it
    int max_iter = 10;        ///< k-means iterations (fewer if labels stop changing)
    double min_size_factor = 0.25;  ///< fragments smaller than this times N / n_segments are merged
    double search_factor = 1.0;   ///< a cluster competes for pixels within search_factor * S per axis
    /// 0: all available (OpenMP), but at most one per kSlicPixelsPerThread
    /// pixels; results do not depend on it.
    int num_threads = 0;
};

/// Default work per thread of slic_superpixels (see SlicParams::num_threads).
constexpr long kSlicPixelsPerThread = 500000;

/// Result of slic_superpixels: labels 0 .. count-1 (row-major), each 4-connected.
struct SlicResult {
    std::vector<int> labels;
    int count = 0;
    int iterations = 0;  ///< k-means iterations run
};

/// SLIC-0 superpixels (Achanta et al. 2012, zero-parameter variant) of an RGB image.
///
/// The image is converted to CIELAB; seeds are placed on a regular grid of
/// step S = sqrt(N / n_segments) and moved to the lowest Lab gradient in their
/// 3x3 neighbourhood. Each iteration assigns every pixel to the cluster
/// minimising dc^2 / m_k^2 + ds^2 / S^2 among the clusters whose centre is
/// within search_factor * S pixels along both axes, then moves the centres to
/// their pixels' means. SLIC-0's adaptive compactness: m_k = `compactness` in
/// the first iteration, afterwards m_k^2 is the largest squared colour
/// distance of the cluster's pixels to its centre seen so far (never
/// decreasing). Stops after max_iter iterations or when no label changes.
/// Finally every label is split into 4-connected components and components
/// smaller than min_size_factor * N / n_segments pixels are merged into the
/// adjacent one with the closest mean colour (smallest first). Labels are
/// numbered in raster order of their first pixel. Deterministic, independent
/// of the thread count.
SlicResult slic_superpixels(const ImageView& image, const SlicParams& params = {});

/// Unique label pairs (a, b), a < b, of distinct labels at neighbouring
/// pixels (`connectivity` 4 or 8), sorted lexicographically, flattened as
/// [a0, b0, a1, b1, ...]. `count` is the number of labels (check_labels).
std::vector<int> adjacent_pairs(const LabelView& labels, int count, int connectivity = 8);

/// Per-label pixel count and centroid pixel: the mean row / col of the
/// label's pixels rounded half away from zero (computed exactly in integers).
struct Centroids {
    std::vector<int> size;
    std::vector<int> row;
    std::vector<int> col;
};
Centroids centroid_pixels(const LabelView& labels, int count);

/// What the semantic and colour affinities need to know about a label map,
/// computed once for both (docs/algorithm.md stages 4-5).
struct SuperpixelGraph {
    int height = 0, width = 0;      ///< size of the label map
    int count = 0;                  ///< number of labels K
    std::vector<int> pairs;         ///< adjacent_pairs: [a0, b0, a1, b1, ...], a < b
    Centroids centroids;            ///< size and centroid pixel of every label
    std::vector<double> mean_color;    ///< K x color_channels (empty without an image)
    int color_channels = 0;
    std::vector<double> mean_feature;  ///< K x feature_channels (empty without features)
    int feature_channels = 0;
};

/// The graph of `labels` (check_labels) with `connectivity` 4 or 8 and the
/// per-label means of `image` and `features` (either may be null; same size
/// as the labels).
SuperpixelGraph superpixel_graph(const LabelView& labels, const ImageView* image,
                                 const ImageView* features, int connectivity = 8);

/// Per-label mean of `values` (H x W x C, same size as the labels):
/// count x C, row-major.
std::vector<double> region_means(const LabelView& labels, int count, const ImageView& values);

}  // namespace sss
