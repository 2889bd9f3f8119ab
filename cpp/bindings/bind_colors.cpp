// Python bindings of the layer colour estimation.
#include <memory>
#include <utility>
#include <vector>

#include "bindings.hpp"
#include "convert.hpp"
#include "sss/colors.hpp"

namespace sss::bindings {
namespace {

void require_same_size(const ImageView& image, const ImageView& alphas) {
    if (image.height != alphas.height || image.width != alphas.width)
        throw py::value_error("alphas and image must have the same height and width");
}

}  // namespace

void bind_colors(py::module_& m) {
    m.def(
        "normalize_alphas",
        [](const py::array& alphas) {
            const ImageView av = image_view(alphas, "alphas", 0);
            std::vector<double> out;
            run_interruptible([&] {
                out = normalize_alphas(av);
            });
            return vector_to_array(std::move(out), {av.height, av.width, av.channels});
        },
        py::arg("alphas"),
        "Alphas of an (H, W, K) float64 array clipped to [0, 1] and renormalised to sum 1.");
    m.def(
        "estimate_layer_colors",
        [](const py::array& image, const py::array& alphas, double eps, int max_iterations,
           double tolerance, int num_threads) {
            const ImageView iv = image_view(image, "image", 3);
            const ImageView av = image_view(alphas, "alphas", 0);
            require_same_size(iv, av);
            LayerColorParams params;
            params.eps = eps;
            params.max_iterations = max_iterations;
            params.tolerance = tolerance;
            params.num_threads = num_threads;
            LayerColors res;
            run_interruptible([&] {
                res = estimate_layer_colors(iv, av, params);
            });
            auto arr = vector_to_array(std::move(res.colors),
                                       {iv.height, iv.width, av.channels, 3});
            return py::make_tuple(arr, res.iterations, res.relative_residual,
                                  res.coarse_iterations);
        },
        py::arg("image"), py::arg("alphas"), py::arg("eps") = 1e-5,
        py::arg("max_iterations") = 100, py::arg("tolerance") = 1e-5, py::arg("num_threads") = 0,
        "(colors (H, W, K, 3), iterations, relative_residual, coarse_iterations) for float64 C-contiguous "
        "image (H, W, 3) and alphas (H, W, K).");
    m.def(
        "project_layer_colors",
        [](const py::array& image, const py::array& alphas, const py::array& colors,
           int num_threads) {
            const ImageView iv = image_view(image, "image", 3);
            const ImageView av = image_view(alphas, "alphas", 0);
            require_same_size(iv, av);
            require_array<double>(colors, "colors", 4);
            if (colors.shape(0) != iv.height || colors.shape(1) != iv.width ||
                colors.shape(2) != av.channels || colors.shape(3) != 3)
                throw py::value_error("colors must have shape (H, W, K, 3) matching the alphas");
            const auto* src = static_cast<const double*>(colors.data());
            std::vector<double> out(src, src + colors.size());
            run_interruptible([&] {
                project_layer_colors(iv, av, out.data(), num_threads);
            });
            return vector_to_array(std::move(out), {iv.height, iv.width, av.channels, 3});
        },
        py::arg("image"), py::arg("alphas"), py::arg("colors"), py::arg("num_threads") = 0,
        "A copy of colors projected so that sum_k alpha_k c_k equals the image exactly.");
}

}  // namespace sss::bindings
