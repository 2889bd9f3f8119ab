// Python bindings of stage 2 (SLIC-0 superpixels and the superpixel graph).
#include "bindings.hpp"
#include "convert.hpp"
#include "convert_labels.hpp"
#include "sss/superpixels.hpp"

namespace sss::bindings {

void bind_superpixels(py::module_& m) {
    m.def(
        "superpixels",
        [](const py::array& image, int n_segments, double compactness, int max_iter,
           double min_size_factor, double search_factor, int num_threads) {
            const ImageView view = image_view(image, "image", 3);
            SlicParams params;
            params.n_segments = n_segments;
            params.compactness = compactness;
            params.max_iter = max_iter;
            params.min_size_factor = min_size_factor;
            params.search_factor = search_factor;
            params.num_threads = num_threads;
            SlicResult res;
            run_interruptible([&] {
                res = slic_superpixels(view, params);
            });
            return py::make_tuple(to_numpy(res.labels, {view.height, view.width}), res.count,
                                  res.iterations);
        },
        py::arg("image"), py::arg("n_segments") = SlicParams{}.n_segments,
        py::arg("compactness") = SlicParams{}.compactness, py::arg("max_iter") = SlicParams{}.max_iter,
        py::arg("min_size_factor") = SlicParams{}.min_size_factor,
        py::arg("search_factor") = SlicParams{}.search_factor,
        py::arg("num_threads") = 0,
        "SLIC-0 superpixels of an (H, W, 3) float64 C-contiguous RGB image: "
        "(labels (H, W) int32, count, iterations).");
    m.def(
        "rgb_to_lab",
        [](const py::array& image, int num_threads) {
            const ImageView view = image_view(image, "image", 3);
            py::array_t<double> out({static_cast<py::ssize_t>(view.height),
                                     static_cast<py::ssize_t>(view.width), py::ssize_t(3)});
            double* o = out.mutable_data();
            run_interruptible([&] {
                rgb_to_lab(view, o, num_threads);
            });
            return out;
        },
        py::arg("image"), py::arg("num_threads") = 0,
        "CIELAB (D65) of an (H, W, 3) float64 sRGB image, without clipping.");
    m.def(
        "check_labels",
        [](const py::array& labels) { return check_labels(label_view(labels, "labels"), "labels"); },
        py::arg("labels"), "Number of labels of a consecutive 0..K-1 int32 label map; raises otherwise.");
    m.def(
        "superpixel_graph",
        [](const py::array& labels, int connectivity) {
            const LabelView lv = label_view(labels, "labels");
            const int K = check_labels(lv, "labels");
            const std::vector<int> pairs = adjacent_pairs(lv, K, connectivity);
            const Centroids c = centroid_pixels(lv, K);
            py::dict d;
            d["count"] = K;
            d["pairs"] = to_numpy(pairs, {static_cast<py::ssize_t>(pairs.size() / 2), 2});
            d["sizes"] = to_numpy(c.size, {K});
            d["centroid_row"] = to_numpy(c.row, {K});
            d["centroid_col"] = to_numpy(c.col, {K});
            return d;
        },
        py::arg("labels"), py::arg("connectivity") = 8,
        "Adjacent pairs, sizes and centroid pixels of a consecutive int32 label map.");
    m.def(
        "region_means",
        [](const py::array& labels, const py::array& values) {
            const LabelView lv = label_view(labels, "labels");
            const int K = check_labels(lv, "labels");
            const ImageView v = image_view(values, "values", 0);
            const std::vector<double> means = region_means(lv, K, v);
            return to_numpy(means, {K, v.channels});
        },
        py::arg("labels"), py::arg("values"), "Per-label mean of an (H, W, C) float64 array.");
}

}  // namespace sss::bindings
