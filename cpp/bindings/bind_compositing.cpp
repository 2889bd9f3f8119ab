// Python bindings of the 8-bit layer conversions (sss.export.compositing).
#include <cstdint>
#include <utility>
#include <vector>

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "convert.hpp"
#include "sss/compositing.hpp"

namespace sss::bindings {

void bind_compositing(py::module_& m) {
    m.def(
        "quantize_alphas",
        [](const py::array& alphas, int num_threads) {
            const ImageView av = image_view(alphas, "alphas", 0);
            std::vector<std::uint8_t> out;
            run_interruptible([&] {
                out = quantize_alphas(av, num_threads);
            });
            return vector_to_array(std::move(out), {av.height, av.width, av.channels});
        },
        py::arg("alphas"), py::arg("num_threads") = 0,
        "uint8 levels (H, W, K) summing to 255 per pixel of normalised float64 alphas "
        "(largest-remainder rounding).");
    m.def(
        "over_alphas",
        [](const py::array& alphas, const std::vector<int>& order, int num_threads) {
            const ImageView av = image_view(alphas, "alphas", 0);
            OverStack res;
            run_interruptible([&] {
                res = over_alphas(av, order, num_threads);
            });
            return py::make_tuple(
                vector_to_array(std::move(res.levels), {av.height, av.width, av.channels}),
                vector_to_array(std::move(res.effective), {av.height, av.width, av.channels}));
        },
        py::arg("alphas"), py::arg("order"), py::arg("num_threads") = 0,
        "(levels uint8 (H, W, K), effective float64 (H, W, K)) of an 'over' stack of "
        "normalised alphas, stack position t in channel t, layers top to bottom as `order`.");
    m.def(
        "rgba_layers",
        [](const py::array& image, const py::array& weights, const py::array& levels,
           const py::array& colors, const std::vector<int>& order, int num_threads) {
            const ImageView iv = image_view(image, "image", 3);
            const ImageView wv = image_view(weights, "weights", 0);
            require_array<std::uint8_t>(levels, "levels", 3);
            require_array<double>(colors, "colors", 4);
            if (levels.shape(0) != wv.height || levels.shape(1) != wv.width ||
                levels.shape(2) != wv.channels)
                throw py::value_error("levels must have the shape of the weights");
            if (colors.shape(0) != wv.height || colors.shape(1) != wv.width ||
                colors.shape(2) != wv.channels || colors.shape(3) != 3)
                throw py::value_error("colors must have shape (H, W, K, 3) matching the weights");
            const auto* lv = static_cast<const std::uint8_t*>(levels.data());
            const auto* cv = static_cast<const double*>(colors.data());
            std::vector<std::uint8_t> out;
            run_interruptible([&] {
                out = rgba_layers(iv, wv, lv, cv, order, num_threads);
            });
            return vector_to_array(std::move(out), {wv.channels, wv.height, wv.width, 4});
        },
        py::arg("image"), py::arg("weights"), py::arg("levels"), py::arg("colors"),
        py::arg("order"), py::arg("num_threads") = 0,
        "uint8 RGBA layers (K, H, W, 4): colours of the layers `order` projected onto the "
        "blending weights (H, W, K) and rounded; alpha = levels (H, W, K) uint8.");
    m.def(
        "composite_over",
        [](const py::array& rgba, int num_threads) {
            require_array<std::uint8_t>(rgba, "rgba", 4);
            if (rgba.shape(3) != 4)
                throw py::value_error("rgba must have shape (K, H, W, 4)");
            const int K = static_cast<int>(rgba.shape(0));
            const int h = static_cast<int>(rgba.shape(1));
            const int w = static_cast<int>(rgba.shape(2));
            const auto* data = static_cast<const std::uint8_t*>(rgba.data());
            std::vector<double> out;
            run_interruptible([&] {
                out = composite_over(data, K, h, w, num_threads);
            });
            return vector_to_array(std::move(out), {h, w, 3});
        },
        py::arg("rgba"), py::arg("num_threads") = 0,
        "'over' composite (H, W, 3) float64 on black of uint8 RGBA layers (K, H, W, 4) given "
        "top first, on the stored values.");
}

}  // namespace sss::bindings
