#include "sss/grouping.hpp"

#include <stdexcept>
#include <string>

namespace sss {

GroupingResult group_layers(const Eigen::Ref<const RowMatrixXd>& layers,
                            const ImageView& features, int num_groups, Rng& rng,
                            int replicates, double min_mass) {
    check_image(features, "group_layers features", 0);
    const Eigen::Index n = layers.rows(), k = layers.cols();
    const int d = features.channels;
    if (features.num_pixels() != n)
        throw std::invalid_argument("group_layers: features and layers differ in size");
    if (num_groups < 1)
        throw std::invalid_argument("group_layers: num_groups must be >= 1, got " +
                                    std::to_string(num_groups));
    GroupingResult out;
    out.group_ids.resize(static_cast<std::size_t>(k));
    int groups = num_groups;
    if (k <= num_groups) {
        for (Eigen::Index i = 0; i < k; ++i) out.group_ids[static_cast<std::size_t>(i)] = int(i);
        groups = static_cast<int>(k);
    } else {
        // alpha-weighted mean feature of every layer; sums accumulated pixel by pixel
        Eigen::VectorXd sums = Eigen::VectorXd::Zero(k);
        RowMatrixXd comp = RowMatrixXd::Zero(k, d);
        for (Eigen::Index p = 0; p < n; ++p) {
            const double* f = features.pixel(p);
            for (Eigen::Index i = 0; i < k; ++i) {
                const double a = layers(p, i);
                sums[i] += a;
                for (int c = 0; c < d; ++c) comp(i, c) += a * f[c];
            }
        }
        for (Eigen::Index i = 0; i < k; ++i) {
            const double s = sums[i] == 0.0 ? 1.0 : sums[i];
            for (int c = 0; c < d; ++c) comp(i, c) /= s;
        }
        // near-empty layers: their mean feature is noise, and k-means would give
        // such an outlier a group of its own
        std::vector<Eigen::Index> big, small;
        for (Eigen::Index i = 0; i < k; ++i)
            (min_mass > 0.0 && sums[i] < min_mass * static_cast<double>(n) ? small : big)
                .push_back(i);
        if (!small.empty() && static_cast<Eigen::Index>(big.size()) > num_groups) {
            // (row gathers written out: Eigen 3.3, which the build accepts, has no comp(idx, all))
            auto rows = [&](const std::vector<Eigen::Index>& idx) {
                RowMatrixXd r(static_cast<Eigen::Index>(idx.size()), d);
                for (std::size_t j = 0; j < idx.size(); ++j) r.row(Eigen::Index(j)) = comp.row(idx[j]);
                return r;
            };
            KmeansResult km = kmeans(rows(big), num_groups, KmeansStart::Plus, replicates, 100, rng);
            std::vector<int> nearest;
            nearest_sqdist(rows(small), km.centers, &nearest, 1);
            for (std::size_t j = 0; j < big.size(); ++j)
                out.group_ids[static_cast<std::size_t>(big[j])] = km.labels[j];
            for (std::size_t j = 0; j < small.size(); ++j)
                out.group_ids[static_cast<std::size_t>(small[j])] = nearest[j];
        } else {
            KmeansResult km = kmeans(comp, num_groups, KmeansStart::Plus, replicates, 100, rng);
            out.group_ids = std::move(km.labels);
        }
    }
    // each pixel's group sums in layer order, rounded as numpy's sum over the last axis
    out.grouped = RowMatrixXd::Zero(n, groups);
    std::vector<std::vector<Eigen::Index>> members(static_cast<std::size_t>(groups));
    for (Eigen::Index i = 0; i < k; ++i)
        members[static_cast<std::size_t>(out.group_ids[static_cast<std::size_t>(i)])].push_back(i);
    std::vector<double> buf(static_cast<std::size_t>(k));
    for (Eigen::Index p = 0; p < n; ++p) {
        for (int g = 0; g < groups; ++g) {
            const auto& sel = members[static_cast<std::size_t>(g)];
            for (std::size_t j = 0; j < sel.size(); ++j) buf[j] = layers(p, sel[j]);
            out.grouped(p, g) = numpy_sum(buf.data(), static_cast<std::ptrdiff_t>(sel.size()));
        }
    }
    return out;
}

}  // namespace sss
