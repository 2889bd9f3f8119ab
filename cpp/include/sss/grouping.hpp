// Stage 9 (docs/algorithm.md): grouping the layers of constrained
// sparsification into the requested number of layers.
#pragma once

#include <vector>

#include "sss/image.hpp"
#include "sss/kmeans.hpp"

namespace sss {

/// Stage 9's parameters (Params::grouping).
struct GroupingParams {
    int replicates = 1;      ///< k-means runs, the one of least inertia kept (reference: 1)
    /// layers holding less than this fraction of the pixels' alpha do not take part in the
    /// k-means and join the group of the nearest centre (reference: 0)
    double min_mass = 0.0;
};

struct GroupingResult {
    RowMatrixXd grouped;        ///< N x G: group g is the sum of its layers
    std::vector<int> group_ids; ///< group of each input layer
};

/// Groups the N x K soft `layers` by k-means (k-means++ start, `replicates`
/// runs, random source `rng`) on their alpha-weighted mean features
/// sum_p alpha_k(p) f(p) / sum_p alpha_k(p) (`features`: H x W x D with
/// H W = N) into `num_groups` groups, and sums the layers of each group. With
/// K <= num_groups every layer is its own group (G = K). Layers whose total
/// alpha is below `min_mass` N (a fraction of the pixels) are left out of the
/// k-means when more than num_groups layers remain, and each joins the group
/// of the nearest centre. As sss.group_layers.
GroupingResult group_layers(const Eigen::Ref<const RowMatrixXd>& layers,
                            const ImageView& features, int num_groups, Rng& rng,
                            int replicates = 1, double min_mass = 0.0);

}  // namespace sss
