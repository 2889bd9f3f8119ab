// Python bindings of stages 4-6 (semantic and colour affinities, weighted sum).
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "convert.hpp"
#include "convert_labels.hpp"
#include "sss/affinity.hpp"

namespace sss::bindings {

void bind_affinity(py::module_& m) {
    m.def(
        "semantic_affinity",
        [](const py::array& labels, const py::array& features, double steepness, double center,
           int connectivity) {
            const LabelView lv = label_view(labels, "labels");
            const ImageView fv = image_view(features, "features", 0);
            SemanticParams params;
            params.steepness = steepness;
            params.center = center;
            params.connectivity = connectivity;
            return csr_result([&] { return semantic_affinity(lv, fv, params); });
        },
        py::arg("labels"), py::arg("features"), py::arg("steepness") = SemanticParams{}.steepness,
        py::arg("center") = SemanticParams{}.center, py::arg("connectivity") = SemanticParams{}.connectivity,
        "Semantic affinity at centroid pixels as CSR parts (data, indices, indptr, shape).");
    m.def(
        "color_affinity",
        [](const py::array& labels, const py::array& image, double steepness, double center,
           double radius, int num_threads) {
            const LabelView lv = label_view(labels, "labels");
            const ImageView iv = image_view(image, "image", 0);
            ColorParams params;
            params.steepness = steepness;
            params.center = center;
            params.radius = radius;
            params.num_threads = num_threads;
            return csr_result([&] { return color_affinity(lv, iv, params); });
        },
        py::arg("labels"), py::arg("image"), py::arg("steepness") = ColorParams{}.steepness,
        py::arg("center") = ColorParams{}.center, py::arg("radius") = ColorParams{}.radius, py::arg("num_threads") = 0,
        "Non-local colour affinity at centroid pixels as CSR parts.");
    m.def(
        "pairs_within_radius",
        [](const py::array& points, double radius, int num_threads) {
            require_array<double>(points, "points", 2);
            if (points.shape(1) != 2) throw py::value_error("points: expected shape (n, 2)");
            const py::ssize_t n = points.shape(0);
            const double* p = static_cast<const double*>(points.data());
            std::vector<double> y(static_cast<size_t>(n)), x(static_cast<size_t>(n));
            for (py::ssize_t i = 0; i < n; ++i) {
                y[static_cast<size_t>(i)] = p[2 * i];
                x[static_cast<size_t>(i)] = p[2 * i + 1];
            }
            std::vector<int> pairs;
            run_interruptible([&] {
                pairs = pairs_within_radius(y, x, radius, num_threads);
            });
            return to_numpy(pairs, {static_cast<py::ssize_t>(pairs.size() / 2), 2});
        },
        py::arg("points"), py::arg("radius"), py::arg("num_threads") = 0,
        "Pairs (i, j), i < j, of rows of an (n, 2) float64 array within `radius` (grid search).");
    auto combine = [](const py::list& mats, const std::vector<double>& weights, bool laplacian) {
        std::vector<Eigen::Map<const SparseMatrix>> maps;
        for (const auto& item : mats) {
            const py::tuple t = item.cast<py::tuple>();
            if (t.size() != 5)
                throw py::value_error("expected (data, indices, indptr, rows, cols) tuples");
            maps.push_back(csr_view(t[0].cast<py::array>(), t[1].cast<py::array>(),
                                    t[2].cast<py::array>(), t[3].cast<py::ssize_t>(),
                                    t[4].cast<py::ssize_t>(), "matrix"));
        }
        std::vector<SparseRef> refs;
        refs.reserve(maps.size());
        for (const auto& mp : maps) refs.emplace_back(mp);
        return csr_result([&] {
            return laplacian ? weighted_laplacian(refs, weights) : weighted_sum(refs, weights);
        });
    };
    m.def(
        "weighted_sum",
        [combine](const py::list& mats, const std::vector<double>& weights) {
            return combine(mats, weights, false);
        },
        py::arg("matrices"), py::arg("weights"),
        "sum_i weights[i] * matrices[i] for canonical CSR matrices given as "
        "(data, indices, indptr, rows, cols) tuples.");
    m.def(
        "weighted_laplacian",
        [combine](const py::list& mats, const std::vector<double>& weights) {
            return combine(mats, weights, true);
        },
        py::arg("matrices"), py::arg("weights"),
        "D - W for W = sum_i weights[i] * matrices[i] (canonical CSR tuples), in one pass.");
}

}  // namespace sss::bindings
