// Stages 4-6 (docs/algorithm.md): semantic and non-local colour affinities between
// superpixels, placed at their centroid pixels, and their weighted sum.
#pragma once

#include <vector>

#include "sss/image.hpp"
#include "sss/matting.hpp"
#include "sss/sparse.hpp"
#include "sss/superpixels.hpp"

namespace sss {

/// Parameters of the semantic affinity (docs/algorithm.md, stage 4).
struct SemanticParams {
    double steepness = 20.0;  ///< a_s
    double center = 0.85;     ///< w = erf(a_s * ((1 - ||f_s - f_t||) - center))
    int connectivity = 8;     ///< superpixel adjacency: 8 (the reference) or 4
};

/// Parameters of the non-local colour affinity (docs/algorithm.md, stage 5).
struct ColorParams {
    double steepness = 50.0;  ///< a_c
    double center = 0.95;     ///< w = (erf(a_c * ((1 - ||c_s - c_t||) - center)) + 1) / 2
    double radius = 0.2;      ///< pairs with normalised centroid distance <= radius
    int num_threads = 0;      ///< 0: all available; results do not depend on it
};

/// Semantic affinity W_S between adjacent superpixels: N x N (N pixels),
/// with w(s, t) = erf(steepness * ((1 - ||f_s - f_t||) - center)) for the mean
/// features f of every adjacent pair s < t placed at (centroid_s, centroid_t),
/// duplicates summed, then W_S = W + W^T. Exact zeros are not stored.
SparseMatrix semantic_affinity(const LabelView& labels, const ImageView& features,
                               const SemanticParams& params = {});

/// Non-local colour affinity W_C: for every superpixel pair s < t whose
/// centroids (row / H, col / W, with 1-based rows and cols as the reference)
/// lie within `radius`, w(s, t) = (erf(steepness * ((1 - ||c_s - c_t||) -
/// center)) + 1) / 2 with the mean colours c, placed at the centroid pixels,
/// duplicates summed, W_C = W + W^T, exact zeros not stored.
SparseMatrix color_affinity(const LabelView& labels, const ImageView& image,
                            const ColorParams& params = {});

/// semantic_affinity of a superpixel graph with mean features (its
/// connectivity is the graph's, not params.connectivity).
SparseMatrix semantic_affinity(const SuperpixelGraph& graph, const SemanticParams& params = {});

/// color_affinity of a superpixel graph with mean colours.
SparseMatrix color_affinity(const SuperpixelGraph& graph, const ColorParams& params = {});

/// All pairs (i, j), i < j, of the n points (y[i], x[i]) with
/// sqrt((y_i - y_j)^2 + (x_i - x_j)^2) <= radius, found with a uniform grid
/// of cell size ~radius (no loop over all pairs). Flattened [i0, j0, i1, j1,
/// ...], ascending in i; the order of the j of one i is deterministic but
/// unspecified.
std::vector<int> pairs_within_radius(const std::vector<double>& y, const std::vector<double>& x,
                                     double radius, int num_threads = 0);

/// N x N matrix T + T^T where T holds value v_e at (pixel[a_e], pixel[b_e]) for
/// each pair e = (a_e, b_e) (duplicates summed, exact zeros dropped).
SparseMatrix centroid_pair_matrix(std::ptrdiff_t num_pixels, const std::vector<int>& pixel,
                                  const std::vector<int>& pairs, const std::vector<double>& values);

/// sum_i weights[i] * mats[i], accumulated in list order, exact zeros dropped.
/// At most 16 matrices, all of the same shape with canonical CSR storage.
SparseMatrix weighted_sum(const std::vector<SparseRef>& mats, const std::vector<double>& weights);

/// The Laplacian L = D - W of W = weighted_sum(mats, weights) in one pass,
/// without forming W (docs/algorithm.md, stage 6): off-diagonal entries -W_ij where W_ij
/// is nonzero, and the diagonal L_rr = rowsum(W)_r - W_rr stored for every row.
SparseMatrix weighted_laplacian(const std::vector<SparseRef>& mats, const std::vector<double>& weights);

/// Stages 2-6: superpixels, the three affinities and the Laplacian.
struct AffinityParams {
    SlicParams superpixels;        ///< n_segments 2500, compactness 1e-20
    MattingParams matting;         ///< radius 1, eps 1e-7
    SemanticParams semantic;       ///< steepness 20, center 0.85
    ColorParams color;             ///< steepness 50, center 0.95, radius 0.2
    double semantic_weight = 0.01; ///< weight of W_S in W = W_L + w_S W_S + w_C W_C
    double color_weight = 0.01;    ///< weight of W_C
    bool normalized = false;       ///< D^-1/2 (D - W) D^-1/2 (the paper's Eq. 3) instead of D - W
};

/// The Laplacian of stage 6 from the three affinities: D - W of
/// W = W_L + semantic_weight W_S + color_weight W_C, or its normalised form.
SparseMatrix affinity_laplacian(const SparseRef& matting, const SparseRef& semantic,
                                const SparseRef& color, const AffinityParams& params);

/// The three affinities of stages 3-5.
struct AffinityTerms {
    SparseMatrix matting, semantic, color;
};

/// Stages 2-6 in one call: SLIC superpixels of `image` (unless `labels` is
/// given: h x w labels 0..K-1), their graph (computed once for both
/// superpixel affinities), the matting, semantic and colour affinities and
/// their Laplacian (affinity_laplacian above). `labels_out` and
/// `terms_out`, if not null, receive the superpixel labels and the affinities.
SparseMatrix image_laplacian(const ImageView& image, const ImageView& features,
                             const AffinityParams& params, const int* labels = nullptr,
                             std::vector<int>* labels_out = nullptr,
                             AffinityTerms* terms_out = nullptr);

}  // namespace sss
