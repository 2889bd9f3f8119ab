// Python bindings of stage 1 (feature preprocessing).
#include <algorithm>
#include <string>

#include "bindings.hpp"
#include "convert.hpp"
#include "sss/features.hpp"

namespace sss::bindings {

void bind_features(py::module_& m) {
    m.def(
        "preprocess_features",
        [](const py::array& features, const py::array& image, double clip, int neighborhood_size,
           double smoothing, int num_components, int num_threads) {
            const ImageView fv = image_view(features, "features", 0);
            const ImageView iv = image_view(image, "image", 3);
            FeaturePrepParams params;
            params.clip = clip;
            params.neighborhood_size = neighborhood_size;
            params.smoothing = smoothing;
            params.num_components = num_components;
            params.num_threads = num_threads;
            auto* out = new std::vector<double>();
            py::capsule keep(out, [](void* p) { delete static_cast<std::vector<double>*>(p); });
            run_interruptible([&] {
                *out = preprocess_features(fv, iv, params);
            });
            const py::ssize_t h = fv.height, w = fv.width, k = num_components;
            return py::array_t<double>({h, w, k},
                                       {static_cast<py::ssize_t>(sizeof(double)) * w * k,
                                        static_cast<py::ssize_t>(sizeof(double)) * k,
                                        static_cast<py::ssize_t>(sizeof(double))},
                                       out->data(), keep);
        },
        py::arg("features"), py::arg("image"), py::arg("clip") = 5.0,
        py::arg("neighborhood_size") = 10, py::arg("smoothing") = 0.01,
        py::arg("num_components") = 3, py::arg("num_threads") = 0,
        "Clip, guided-filter (guide: image), PCA and [0,1]-rescale (H, W, D) float64 "
        "features; returns (H, W, num_components) float64.");
    m.def(
        "guided_filter",
        [](const py::array& planes, const py::array& image, int neighborhood_size, double eps,
           int num_threads, bool reference) {
            // planes: (C, H, W) float64 C-contiguous; filtered copy returned
            require_array<double>(planes, "planes", 3);
            const ImageView iv = image_view(image, "image", 3);
            if (planes.shape(1) != iv.height || planes.shape(2) != iv.width)
                throw py::value_error("planes: shape (C, H, W) must match the image's H, W");
            py::array_t<double> out({planes.shape(0), planes.shape(1), planes.shape(2)});
            std::copy_n(static_cast<const double*>(planes.data()), planes.size(),
                        static_cast<double*>(out.mutable_data()));
            double* data = static_cast<double*>(out.mutable_data());
            const int C = static_cast<int>(planes.shape(0));
            run_interruptible([&] {
                if (reference)
                    guided_filter_planes_reference(iv, data, C, neighborhood_size, eps, num_threads);
                else
                    guided_filter_planes(iv, data, C, neighborhood_size, eps, num_threads);
            });
            return out;
        },
        py::arg("planes"), py::arg("image"), py::arg("neighborhood_size") = 10,
        py::arg("eps") = 0.01, py::arg("num_threads") = 0, py::arg("reference") = false,
        "Guided filter of each (H, W) plane of a (C, H, W) float64 array with an (H, W, 3) "
        "float64 guide (colour filter; reference=True: planes 3k+c guided by image channel c "
        "alone, the C mod 3 last ones by the colour filter); returns a filtered copy.");
}

}  // namespace sss::bindings
