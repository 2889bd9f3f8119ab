// Bindings of the multilevel pipeline's guided upsampling.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "convert.hpp"
#include "sss/alpha_sampling.hpp"
#include "sss/layer_matting.hpp"
#include "sss/multilevel.hpp"
#include "sss/subject_matting.hpp"

namespace py = pybind11;

namespace sss::bindings {

namespace {

/// rows y0.. of the upsampler's colours for the given rows of the photo and alphas
template <class T>
py::array upsampled_rows(const LayerColorUpsampler& up, int y0, const ImageView& iv,
                         const ImageView& av, int num_threads) {
    std::vector<T> out(static_cast<size_t>(iv.num_pixels()) * up.layers() * 3);
    run_interruptible([&] { up.rows(y0, iv, av, out.data(), num_threads); });
    return vector_to_array(std::move(out), {iv.height, iv.width, up.layers(), 3});
}

}  // namespace

void bind_multilevel(py::module_& m) {
    m.def(
        "box_mean",
        [](const py::array& x, int radius) {
            const ImageView v = image_view(x, "x", 0);
            std::vector<double> out = run_interruptible([&] { return box_mean(v, radius); });
            return vector_to_array(std::move(out), {v.height, v.width, v.channels});
        },
        py::arg("x"), py::arg("radius"),
        "Clipped-window box mean of an (H, W, C) float64 image.");
    m.def(
        "guided_upsample",
        [](const py::array& layers, const py::array& guide_low, const py::array& guide,
           int radius, double eps, bool clip, int num_threads) {
            const ImageView lv = image_view(layers, "layers", 0);
            const ImageView gl = image_view(guide_low, "guide_low", 3);
            const ImageView g = image_view(guide, "guide", 3);
            GuidedUpsampleParams params;
            params.radius = radius;
            params.eps = eps;
            params.clip = clip;
            params.num_threads = num_threads;
            std::vector<float> out =
                run_interruptible([&] { return guided_upsample(lv, gl, g, params); });
            return vector_to_array(std::move(out), {g.height, g.width, lv.channels});
        },
        py::arg("layers"), py::arg("guide_low"), py::arg("guide"), py::arg("radius"),
        py::arg("eps"), py::arg("clip"), py::arg("num_threads"),
        "Guided upsampling of (h, w, K) layers to the size of the (H, W, 3) guide.");
    py::class_<LayerColorUpsampler>(
        m, "LayerColorUpsampler",
        "(h, w, K, 3) layer colours resized to the photo's size and projected onto its "
        "normalised alphas, a band of rows at a time: built from the small colours and the "
        "photo's size; rows(y0, image_rows, alpha_rows, single) gives rows y0.. of the "
        "(H, W, K, 3) result, float32 with single=True, else float64.")
        .def(py::init([](const py::array& colors, int height, int width, int num_threads) {
                 require_array<double>(colors, "colors", 4);
                 if (colors.shape(3) != 3)
                     throw py::value_error("colors must have shape (h, w, K, 3)");
                 const int K = static_cast<int>(colors.shape(2));
                 const ImageView cv{static_cast<const double*>(colors.data()),
                                    static_cast<int>(colors.shape(0)),
                                    static_cast<int>(colors.shape(1)), 3 * K};
                 return run_interruptible(
                     [&] { return LayerColorUpsampler(cv, height, width, K, num_threads); });
             }),
             py::arg("colors"), py::arg("height"), py::arg("width"), py::arg("num_threads") = 0)
        .def(
            "rows",
            [](const LayerColorUpsampler& up, int y0, const py::array& image_rows,
               const py::array& alpha_rows, bool single, int num_threads) -> py::array {
                const ImageView iv = image_view(image_rows, "image_rows", 3);
                const ImageView av = image_view(alpha_rows, "alpha_rows", 0);
                return single ? upsampled_rows<float>(up, y0, iv, av, num_threads)
                              : upsampled_rows<double>(up, y0, iv, av, num_threads);
            },
            py::arg("y0"), py::arg("image_rows"), py::arg("alpha_rows"), py::arg("single") = true,
            py::arg("num_threads") = 0)
        .def_property_readonly("height", &LayerColorUpsampler::height)
        .def_property_readonly("width", &LayerColorUpsampler::width)
        .def_property_readonly("layers", &LayerColorUpsampler::layers);
    m.def(
        "matte_subject",
        [](const py::array& alphas, const py::array& image, const py::array& saliency,
           const SubjectMattingParams& params) {
            const ImageView av = image_view(alphas, "alphas", 0);
            const ImageView iv = image_view(image, "image", 3);
            const ImageView sv = image_view(saliency, "saliency", 1);
            if (av.height != iv.height || av.width != iv.width)
                throw py::value_error("alphas and image differ in size");
            std::vector<float> out(av.data, av.data + av.num_pixels() * av.channels);
            SubjectMattingResult r = run_interruptible(
                [&] { return matte_subject(out.data(), av.channels, iv, sv, params); });
            py::dict info;
            info["applied"] = r.applied;
            info["confidence"] = r.confidence;
            info["subject"] = py::cast(r.subject);
            info["unknown_fraction"] = r.unknown_fraction;
            info["known_subject"] = r.known_subject;
            info["matting_shape"] = py::make_tuple(r.matting_height, r.matting_width);
            return py::make_tuple(
                vector_to_array(std::move(out), {av.height, av.width, av.channels}), info);
        },
        py::arg("alphas"), py::arg("image"), py::arg("saliency"), py::arg("params"),
        "sss::matte_subject on a float32 copy of (H, W, K) layers: (layers, info dict).");
    m.def(
        "matte_layers",
        [](const py::array& alphas, const py::array& image, const LayerMattingParams& params) {
            const ImageView av = image_view(alphas, "alphas", 0);
            const ImageView iv = image_view(image, "image", 3);
            if (av.height != iv.height || av.width != iv.width)
                throw py::value_error("alphas and image differ in size");
            std::vector<double> out =
                run_interruptible([&] { return matte_layers(av, iv, params); });
            return vector_to_array(std::move(out), {av.height, av.width, av.channels});
        },
        py::arg("alphas"), py::arg("image"), py::arg("params"),
        "sss::matte_layers of (H, W, K) layers at the image's size: (H, W, K) float64.");
    m.def(
        "layer_trimap",
        [](const py::array& layer, double certain, int erosion) {
            const ImageView lv = image_view(layer, "layer", 1);
            std::vector<double> t = layer_trimap(lv.data, lv.height, lv.width, certain, erosion);
            return vector_to_array(std::move(t), {lv.height, lv.width});
        },
        py::arg("layer"), py::arg("certain"), py::arg("erosion"),
        "sss::layer_trimap of an (H, W, 1) layer: (H, W) values 0, 0.5, 1.");
    m.def(
        "subject_trimap",
        [](const py::array& subject, const py::array& saliency,
           const SubjectMattingParams& params) {
            const ImageView uv = image_view(subject, "subject", 1);
            const ImageView sv = image_view(saliency, "saliency", 1);
            if (uv.height != sv.height || uv.width != sv.width)
                throw py::value_error("subject and saliency differ in size");
            std::vector<double> t = subject_trimap(uv.data, sv.data, uv.height, uv.width, params);
            return vector_to_array(std::move(t), {uv.height, uv.width});
        },
        py::arg("subject"), py::arg("saliency"), py::arg("params"),
        "sss::subject_trimap of (H, W, 1) maps: (H, W) values 0, 0.5, 1.");
    m.def(
        "closed_form_matte",
        [](const py::array& image, const py::array& trimap, const py::array& prior_alpha,
           const SubjectMattingParams& params, const py::object& prior_weight) {
            const ImageView iv = image_view(image, "image", 3);
            const ImageView tv = image_view(trimap, "trimap", 1);
            const ImageView pv = image_view(prior_alpha, "prior_alpha", 1);
            if (tv.height != iv.height || tv.width != iv.width || pv.height != iv.height ||
                pv.width != iv.width)
                throw py::value_error("image, trimap and prior_alpha differ in size");
            const double* wp = nullptr;
            py::array w;
            if (!prior_weight.is_none()) {
                w = py::cast<py::array>(prior_weight);
                const ImageView wv = image_view(w, "prior_weight", 1);
                if (wv.height != iv.height || wv.width != iv.width)
                    throw py::value_error("image and prior_weight differ in size");
                wp = wv.data;
            }
            const std::vector<double> t(tv.data, tv.data + tv.num_pixels());
            std::vector<double> a = run_interruptible(
                [&] { return closed_form_matte(iv, t, pv.data, params, wp); });
            return vector_to_array(std::move(a), {iv.height, iv.width});
        },
        py::arg("image"), py::arg("trimap"), py::arg("prior_alpha"), py::arg("params"),
        py::arg("prior_weight") = py::none(),
        "sss::closed_form_matte: the (H, W) matte of the trimap's unknown pixels; "
        "prior_weight: (H, W, 1) float64 or None.");
    m.def(
        "sampled_alpha",
        [](const py::array& image, const py::array& trimap, int neighbours, double sigma,
           int band, int num_threads) {
            const ImageView iv = image_view(image, "image", 3);
            const ImageView tv = image_view(trimap, "trimap", 1);
            if (tv.height != iv.height || tv.width != iv.width)
                throw py::value_error("image and trimap differ in size");
            AlphaSamplingParams params;
            params.neighbours = neighbours;
            params.sigma = sigma;
            params.band = band;
            params.num_threads = num_threads;
            const std::vector<double> t(tv.data, tv.data + tv.num_pixels());
            SampledAlpha r = run_interruptible([&] { return sampled_alpha(iv, t, params); });
            return py::make_tuple(vector_to_array(std::move(r.alpha), {iv.height, iv.width}),
                                  vector_to_array(std::move(r.confidence), {iv.height, iv.width}));
        },
        py::arg("image"), py::arg("trimap"), py::arg("neighbours"), py::arg("sigma"),
        py::arg("band"), py::arg("num_threads"),
        "sss::sampled_alpha of an (H, W, 3) image and (H, W, 1) trimap: (alpha, confidence).");
    m.def(
        "clean_alphas",
        [](const py::array& alphas, double cutoff) {
            const ImageView av = image_view(alphas, "alphas", 0);
            std::vector<float> out(av.data, av.data + av.num_pixels() * av.channels);
            clean_alphas(out.data(), av.num_pixels(), av.channels, cutoff);
            return vector_to_array(std::move(out), {av.height, av.width, av.channels});
        },
        py::arg("alphas"), py::arg("cutoff"),
        "(H, W, K) layers with alpha below cutoff snapped to 0 and above 1 - cutoff to 1, "
        "renormalised; a float32 copy.");
}

}  // namespace sss::bindings
