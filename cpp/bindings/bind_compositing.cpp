// Python bindings of the 8- and 16-bit layer conversions (sss.export.compositing).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "convert.hpp"
#include "sss/compositing.hpp"

namespace sss::bindings {
namespace {

void check_bits(int bits) {
    if (bits != 8 && bits != 16)
        throw py::value_error("bits must be 8 or 16, got " + std::to_string(bits));
}

template <class Level>
py::tuple over_tuple(BasicOverStack<Level>&& res, const ImageView& av) {
    return py::make_tuple(
        vector_to_array(std::move(res.levels), {av.height, av.width, av.channels}),
        vector_to_array(std::move(res.effective), {av.height, av.width, av.channels}));
}

template <class Level, class Color>
py::array rgba_result(const ImageView& iv, const ImageView& wv, const py::array& levels,
                      const Color* cv, const std::vector<int>& order, int num_threads) {
    const auto* lv = static_cast<const Level*>(levels.data());
    std::vector<Level> out;
    run_interruptible([&] {
        if constexpr (sizeof(Level) == 1)
            out = rgba_layers(iv, wv, lv, cv, order, num_threads);
        else
            out = rgba_layers16(iv, wv, lv, cv, order, num_threads);
    });
    return vector_to_array(std::move(out), {wv.channels, wv.height, wv.width, 4});
}

template <class Level>
py::array composite_result(const py::array& rgba, int num_threads) {
    require_array<Level>(rgba, "rgba", 4);
    if (rgba.shape(3) != 4) throw py::value_error("rgba must have shape (K, H, W, 4)");
    const int K = static_cast<int>(rgba.shape(0));
    const int h = static_cast<int>(rgba.shape(1));
    const int w = static_cast<int>(rgba.shape(2));
    const auto* data = static_cast<const Level*>(rgba.data());
    std::vector<double> out;
    run_interruptible([&] {
        if constexpr (sizeof(Level) == 1)
            out = composite_over(data, K, h, w, num_threads);
        else
            out = composite_over16(data, K, h, w, num_threads);
    });
    return vector_to_array(std::move(out), {h, w, 3});
}

}  // namespace

void bind_compositing(py::module_& m) {
    m.def(
        "quantize_alphas",
        [](const py::array& alphas, int num_threads, int bits) -> py::array {
            check_bits(bits);
            const ImageView av = image_view(alphas, "alphas", 0);
            if (bits == 8) {
                std::vector<std::uint8_t> out;
                run_interruptible([&] { out = quantize_alphas(av, num_threads); });
                return vector_to_array(std::move(out), {av.height, av.width, av.channels});
            }
            std::vector<std::uint16_t> out;
            run_interruptible([&] { out = quantize_alphas16(av, num_threads); });
            return vector_to_array(std::move(out), {av.height, av.width, av.channels});
        },
        py::arg("alphas"), py::arg("num_threads") = 0, py::arg("bits") = 8,
        "uint8 (bits=8) or uint16 (bits=16) levels (H, W, K) summing to 255 or 65535 per "
        "pixel of normalised float64 alphas (largest-remainder rounding).");
    m.def(
        "over_alphas",
        [](const py::array& alphas, const std::vector<int>& order, int num_threads,
           int bits) -> py::tuple {
            check_bits(bits);
            const ImageView av = image_view(alphas, "alphas", 0);
            if (bits == 8) {
                OverStack res;
                run_interruptible([&] { res = over_alphas(av, order, num_threads); });
                return over_tuple(std::move(res), av);
            }
            OverStack16 res;
            run_interruptible([&] { res = over_alphas16(av, order, num_threads); });
            return over_tuple(std::move(res), av);
        },
        py::arg("alphas"), py::arg("order"), py::arg("num_threads") = 0, py::arg("bits") = 8,
        "(levels uint8/uint16 (H, W, K), effective float64 (H, W, K)) of an 'over' stack of "
        "normalised alphas, stack position t in channel t, layers top to bottom as `order`.");
    m.def(
        "rgba_layers",
        [](const py::array& image, const py::array& weights, const py::array& levels,
           const py::array& colors, const std::vector<int>& order, int num_threads) {
            const ImageView iv = image_view(image, "image", 3);
            const ImageView wv = image_view(weights, "weights", 0);
            const bool deep = py::isinstance<py::array_t<std::uint16_t>>(levels);
            if (deep)
                require_array<std::uint16_t>(levels, "levels", 3);
            else
                require_array<std::uint8_t>(levels, "levels", 3);
            const bool single = py::isinstance<py::array_t<float>>(colors);
            if (single)
                require_array<float>(colors, "colors", 4);
            else
                require_array<double>(colors, "colors", 4);
            if (levels.shape(0) != wv.height || levels.shape(1) != wv.width ||
                levels.shape(2) != wv.channels)
                throw py::value_error("levels must have the shape of the weights");
            if (colors.shape(0) != wv.height || colors.shape(1) != wv.width ||
                colors.shape(2) != wv.channels || colors.shape(3) != 3)
                throw py::value_error("colors must have shape (H, W, K, 3) matching the weights");
            if (single) {
                const auto* cv = static_cast<const float*>(colors.data());
                return deep ? rgba_result<std::uint16_t>(iv, wv, levels, cv, order, num_threads)
                            : rgba_result<std::uint8_t>(iv, wv, levels, cv, order, num_threads);
            }
            const auto* cv = static_cast<const double*>(colors.data());
            return deep ? rgba_result<std::uint16_t>(iv, wv, levels, cv, order, num_threads)
                        : rgba_result<std::uint8_t>(iv, wv, levels, cv, order, num_threads);
        },
        py::arg("image"), py::arg("weights"), py::arg("levels"), py::arg("colors"),
        py::arg("order"), py::arg("num_threads") = 0,
        "RGBA layers (K, H, W, 4) of the levels' type (uint8 or uint16): colours (float32 or "
        "float64) of the layers `order` projected onto the blending weights (H, W, K) and "
        "rounded; alpha = levels (H, W, K).");
    m.def(
        "composite_over",
        [](const py::array& rgba, int num_threads) {
            if (py::isinstance<py::array_t<std::uint16_t>>(rgba))
                return composite_result<std::uint16_t>(rgba, num_threads);
            return composite_result<std::uint8_t>(rgba, num_threads);
        },
        py::arg("rgba"), py::arg("num_threads") = 0,
        "'over' composite (H, W, 3) float64 on black of uint8 or uint16 RGBA layers "
        "(K, H, W, 4) given top first, on the stored values.");
}

}  // namespace sss::bindings
