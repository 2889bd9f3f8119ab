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
}

}  // namespace sss::bindings
