// The per-stage parameter structs (sss/pipeline.hpp and the stage headers) as
// Python classes with keyword constructors and a readable repr, the random
// source, and the whole pipeline.
#include <pybind11/eigen.h>
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "bindings.hpp"
#include "convert.hpp"
#include "sss/gradient.hpp"
#include "sss/grouping.hpp"
#include "sss/pipeline.hpp"
#include "sss/random.hpp"
#include "sss/resize.hpp"

namespace sss::bindings {

namespace {

// A py::class_ for a parameter struct that records its fields, for the
// keyword constructor (unknown names raise TypeError) and the repr.
template <class T>
class ParamsClass {
public:
    ParamsClass(py::module_& m, const char* name, const char* doc)
        : cls_(m, name, doc), names_(std::make_shared<std::vector<std::string>>()) {
        auto names = names_;
        const std::string type_name = name;
        cls_.def(py::init([names, type_name](const py::kwargs& kw) {
                     auto obj = std::make_unique<T>();
                     py::object self = py::cast(obj.get(), py::return_value_policy::reference);
                     for (auto item : kw) {
                         const auto key = item.first.cast<std::string>();
                         if (std::find(names->begin(), names->end(), key) == names->end())
                             throw py::type_error(type_name + "() got an unexpected keyword "
                                                  "argument '" + key + "'; its fields are " +
                                                  join(*names));
                         self.attr(key.c_str()) = item.second;
                     }
                     return obj;
                 }),
                 "Keyword arguments set the fields; the others keep their defaults.");
        cls_.def("__repr__", [names, type_name](py::object self) {
            std::string out = type_name + "(";
            for (std::size_t i = 0; i < names->size(); ++i) {
                if (i) out += ", ";
                out += (*names)[i] + "=" +
                       py::repr(self.attr((*names)[i].c_str())).cast<std::string>();
            }
            return out + ")";
        });
        // equal when every field's repr is (so that NaN, "found automatically", equals NaN)
        cls_.def("__eq__", [](py::object a, py::object b) {
            return py::isinstance(b, py::type::of(a)) &&
                   py::repr(a).cast<std::string>() == py::repr(b).cast<std::string>();
        });
        cls_.def("__copy__", [](const T& self) { return T(self); });
        cls_.def("__deepcopy__", [](const T& self, py::dict) { return T(self); });
        cls_.def("_fields", [names](py::object) { return *names; },
                 "Names of the fields, in declaration order.");
    }

    template <class M>
    ParamsClass& field(const char* name, M T::*member, const char* doc) {
        names_->push_back(name);
        cls_.def_readwrite(name, member, doc);
        return *this;
    }

    template <class Get, class Set>
    ParamsClass& property(const char* name, Get get, Set set, const char* doc) {
        names_->push_back(name);
        cls_.def_property(name, get, set, doc);
        return *this;
    }

    py::class_<T>& cls() { return cls_; }

private:
    static std::string join(const std::vector<std::string>& v) {
        std::string s;
        for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
        return s;
    }
    py::class_<T> cls_;
    std::shared_ptr<std::vector<std::string>> names_;
};

template <class E>
E parse_enum(const std::string& value, const char* what,
             const std::vector<std::pair<const char*, E>>& options) {
    std::string allowed;
    for (const auto& [name, e] : options) {
        if (value == name) return e;
        allowed += std::string(allowed.empty() ? "" : ", ") + "'" + name + "'";
    }
    throw py::value_error(std::string(what) + " must be one of " + allowed + ", got '" + value +
                          "'");
}

template <class E>
std::string enum_name(E value, const std::vector<std::pair<const char*, E>>& options) {
    for (const auto& [name, e] : options)
        if (e == value) return name;
    return "?";
}

const std::vector<std::pair<const char*, Method>> kMethods{{"multilevel", Method::Multilevel},
                                                           {"reference", Method::Reference}};
const std::vector<std::pair<const char*, EigenMethod>> kEigenMethods{
    {"block", EigenMethod::Block}, {"lanczos", EigenMethod::Lanczos}};


py::array_t<float> matrix_to_float(const RowMatrixXd& m, int h, int w) {
    py::array_t<float> out({static_cast<py::ssize_t>(h), static_cast<py::ssize_t>(w),
                            static_cast<py::ssize_t>(m.cols())});
    float* o = out.mutable_data();
    for (Eigen::Index i = 0; i < m.size(); ++i) o[i] = static_cast<float>(m.data()[i]);
    return out;
}

void bind_params(py::module_& m) {
    ParamsClass<SlicParams>(m, "SlicParams", "SLIC-0 superpixels (stage 2).")
        .field("n_segments", &SlicParams::n_segments, "requested number of superpixels (2500)")
        .field("compactness", &SlicParams::compactness,
               "initial compactness, Lab units (1e-20; SLIC-0 adapts it)")
        .field("max_iter", &SlicParams::max_iter, "k-means iterations at most (10)")
        .field("min_size_factor", &SlicParams::min_size_factor,
               "fragments below this times N / n_segments are merged (0.25)")
        .field("search_factor", &SlicParams::search_factor,
               "clusters compete for pixels within search_factor * S per axis (1)");
    ParamsClass<MattingParams>(m, "MattingParams", "Matting affinity (stage 3).")
        .field("radius", &MattingParams::radius, "window radius in pixels (1: 3 x 3 windows)")
        .field("eps", &MattingParams::eps, "regulariser, divided by the window size (1e-7)");
    ParamsClass<SemanticParams>(m, "SemanticParams", "Semantic affinity (stage 4).")
        .field("steepness", &SemanticParams::steepness, "a_s of erf(a_s (1 - ||df|| - c)) (20)")
        .field("center", &SemanticParams::center, "c (0.85)")
        .field("connectivity", &SemanticParams::connectivity,
               "superpixel adjacency, 8 (the reference) or 4");
    ParamsClass<ColorParams>(m, "ColorParams", "Non-local colour affinity (stage 5).")
        .field("steepness", &ColorParams::steepness, "a_c (50)")
        .field("center", &ColorParams::center, "c (0.95)")
        .field("radius", &ColorParams::radius, "normalised centroid distance of the pairs (0.2)");
    ParamsClass<AffinityParams>(m, "AffinityParams",
                                "Stages 2-6: superpixels, affinities and the Laplacian.")
        .field("superpixels", &AffinityParams::superpixels, "SlicParams")
        .field("matting", &AffinityParams::matting, "MattingParams")
        .field("semantic", &AffinityParams::semantic, "SemanticParams")
        .field("color", &AffinityParams::color, "ColorParams")
        .field("semantic_weight", &AffinityParams::semantic_weight, "weight of W_S (0.01)")
        .field("color_weight", &AffinityParams::color_weight, "weight of W_C (0.01)")
        .field("normalized", &AffinityParams::normalized,
               "the paper's normalised Laplacian (Eq. 3) instead of the reference's D - W");
    ParamsClass<EigenParams>(m, "EigenParams", "Eigensolver (stage 7).")
        .field("num_vectors", &EigenParams::num_vectors,
               "eigenvectors (reference 100, multilevel 50)")
        .property(
            "method", [](const EigenParams& p) { return enum_name(p.method, kEigenMethods); },
            [](EigenParams& p, const std::string& v) {
                p.method = parse_enum(v, "method", kEigenMethods);
            },
            "'block' (block Krylov-Schur) or 'lanczos' (Spectra)")
        .field("ncv", &EigenParams::ncv, "basis size (0: the method's default)")
        .field("tol", &EigenParams::tol, "relative tolerance (reference 1e-10, multilevel 1e-6)")
        .field("max_restarts", &EigenParams::max_restarts, "restarts before giving up (1000)")
        .field("block_size", &EigenParams::block_size,
               "block method: vectors per solve (0: clamp(k / 6, 4, 16))")
        .field("shift", &EigenParams::shift, "shift sigma (NaN: found automatically)");
    ParamsClass<SplittingParams>(m, "SplittingParams",
                                 "Splitting k-means, the initialisation of stage 8.")
        .field("start_clusters", &SplittingParams::start_clusters, "first k-means' clusters (5)")
        .field("replicates", &SplittingParams::replicates, "its replicates (7)")
        .field("rerun_below", &SplittingParams::rerun_below,
               "full k-means after each split while fewer clusters (13)")
        .field("max_iter", &SplittingParams::max_iter, "Lloyd iterations per run (100)");
    ParamsClass<InitialParams>(m, "InitialParams", "Initial layers of stage 8.")
        .field("num_layers", &InitialParams::num_layers, "initial layers (40)")
        .field("kmeans", &InitialParams::kmeans, "SplittingParams");
    ParamsClass<ConstrainedParams>(m, "ConstrainedParams", "Constrained sparsification (stage 8).")
        .field("max_iter", &ConstrainedParams::iterations,
               "IRLS iterations (reference 40, multilevel 20)")
        .field("gamma", &ConstrainedParams::gamma, "sparsity exponent (0.8)")
        .field("sparsity_weight", &ConstrainedParams::weight, "w0 = w1 of the penalty (0.3)")
        .field("clamp", &ConstrainedParams::clamp, "lower clamp of |alpha|, |1 - alpha| (1e-10)")
        .field("prune_threshold", &ConstrainedParams::prune_threshold,
               "layers with max |alpha| below it are dropped (0.1)")
        .field("prune_every", &ConstrainedParams::prune_every,
               "pruning period (0: ceil(max_iter / 4))")
        .field("sample_stride", &ConstrainedParams::sample_stride,
               "sparsity energy on every s-th pixel each way (0: auto, the reference; "
               "multilevel 2)");
    ParamsClass<GroupingParams>(m, "GroupingParams", "Grouping of the layers (stage 9).")
        .field("replicates", &GroupingParams::replicates,
               "k-means runs, the least inertia kept (reference 1, multilevel 10)")
        .field("min_mass", &GroupingParams::min_mass,
               "layers with less alpha than this fraction of the pixels join the nearest "
               "group instead of taking part in the k-means (reference 0, multilevel 0.005)");
    ParamsClass<RelaxedParams>(m, "RelaxedParams", "Relaxed sparsification (stage 10).")
        .field("max_iter", &RelaxedParams::iterations, "reweighted solves (20)")
        .field("cg_max_iter", &RelaxedParams::cg_iterations, "CG iterations per solve (100)")
        .field("final_cg_max_iter", &RelaxedParams::final_cg_iterations,
               "CG iterations of the final solve (1000)")
        .field("tol", &RelaxedParams::cg_tol, "relative residual of every CG solve (1e-6)")
        .field("sparsity_sigma", &RelaxedParams::sparsity, "sigma_S, weight of the sparsity term (1)")
        .field("fidelity_sigma", &RelaxedParams::fidelity, "sigma_F, weight of the fidelity term (1)")
        .field("constraint_delta", &RelaxedParams::constraint, "delta, weight of the sum-to-one term (100)")
        .field("low", &RelaxedParams::low, "input alphas below are set to 0 (0.1)")
        .field("high", &RelaxedParams::high, "input alphas above are set to 1 (0.9)")
        .field("gamma_base", &RelaxedParams::gamma_base,
               "gamma_p = gamma_base + min(gradient_p, gradient_cap) (0.9)")
        .field("gradient_cap", &RelaxedParams::gradient_cap, "(0.1)")
        .field("clamp", &RelaxedParams::clamp, "lower clamp of |alpha|, |1 - alpha| (0.01)")
        .property(
            "preconditioner",
            [](const RelaxedParams& p) { return p.preconditioner; },
            [](RelaxedParams& p, const std::string& v) {
                relaxed_preconditioner(v);  // unknown names raise ValueError
                p.preconditioner = v;
            },
            "a name of sss._core.relaxed_preconditioners() ('block_jacobi', 'jacobi', 'none')");
    ParamsClass<GuidedUpsampleParams>(m, "UpsampleParams", "Guided upsampling (multilevel).")
        .field("radius", &GuidedUpsampleParams::radius, "window radius at the working level (1)")
        .field("eps", &GuidedUpsampleParams::eps, "regulariser of the colour model (1e-4)")
        .field("clip", &GuidedUpsampleParams::clip, "clip to [0, 1] and renormalise (True)");
    ParamsClass<MultilevelParams>(m, "MultilevelParams", "The multilevel method's levels.")
        .field("working_pixels", &MultilevelParams::working_pixels,
               "pixel budget of the working level (19200 = 160 x 120)")
        .field("feature_pixels", &MultilevelParams::feature_pixels,
               "pixel budget of the feature network's copy (640 x 480)")
        .field("upsample", &MultilevelParams::upsample, "UpsampleParams")
        .field("alpha_cutoff", &MultilevelParams::alpha_cutoff,
               "final clean-up: alpha below it -> 0, above 1 - it -> 1 (0.01; reference 0)");
    ParamsClass<LayerMattingParams>(
        m, "LayerMattingParams",
        "Layer matting (stage 10b, multilevel): every layer's boundary matted at a finer "
        "level than the working level (sss.layer_matting).")
        .field("enabled", &LayerMattingParams::enabled,
               "run the stage when the layers are upsampled (multilevel True, reference False)")
        .field("max_pixels", &LayerMattingParams::max_pixels,
               "pixel budget of the matting level (640 x 480)")
        .field("certain", &LayerMattingParams::certain,
               "a layer is known above this (1) and below 1 - this (0) (0.95)")
        .field("erosion", &LayerMattingParams::erosion,
               "pixels at the matting level each known region is shrunk by (1)")
        .field("eps", &LayerMattingParams::eps, "the matting affinity's regulariser (1e-6)")
        .field("prior", &LayerMattingParams::prior,
               "weight pulling unknown pixels to the layer's value (1e-5, > 0)")
        .field("sampling_weight", &LayerMattingParams::sampling_weight,
               "weight of the colour-sampled alpha (sss.alpha_sampling), times its "
               "confidence, in the pull of unknown pixels (0.1; 0: the layer's value alone)")
        .field("sampling_neighbours", &LayerMattingParams::sampling_neighbours,
               "in-layer and out-of-layer colour samples tried per unknown pixel (4)")
        .field("sampling_sigma", &LayerMattingParams::sampling_sigma,
               "colour-line residual, relative to |F - B|, at which the sampled alpha's "
               "confidence is 1/e (0.1)")
        .field("sampling_band", &LayerMattingParams::sampling_band,
               "known pixels within this many steps of the unknown region are colour samples (2)")
        .field("num_threads", &LayerMattingParams::num_threads,
               "threads, 0: all cores; results do not depend on it");
    ParamsClass<SubjectMattingParams>(
        m, "SubjectMattingParams",
        "Subject matting (stage 11, multilevel): the salient subject's boundary matted at a "
        "finer level (sss.subject_matting).")
        .field("enabled", &SubjectMattingParams::enabled,
               "run the stage when a salient-object map is at hand (multilevel True, "
               "reference False)")
        .field("max_pixels", &SubjectMattingParams::max_pixels,
               "pixel budget of the matting level (640 x 480)")
        .field("min_confidence", &SubjectMattingParams::min_confidence,
               "the map's cue_confidence below which nothing is done (0.5)")
        .field("map_guide_pixels", &SubjectMattingParams::map_guide_pixels,
               "the map's edges are moved onto the photo's colours from a copy of this many "
               "pixels (2000; 0: the map as it is)")
        .field("min_known_subject", &SubjectMattingParams::min_known_subject,
               "nothing is done when the trimap's known subject is less than this fraction "
               "of the subject's alpha (0.1)")
        .field("layer_threshold", &SubjectMattingParams::layer_threshold,
               "a layer is the subject's when the mean map under it exceeds this (0.5)")
        .field("map_certain", &SubjectMattingParams::map_certain,
               "the map is trusted above this and below 1 - this (0.9)")
        .field("layers_certain", &SubjectMattingParams::layers_certain,
               "known subject needs the subject's layers above this, known "
               "background (the map below 1 - map_certain) below it (0.95)")
        .field("erosion", &SubjectMattingParams::erosion,
               "pixels at the matting level the trusted regions are shrunk by (3)")
        .field("eps", &SubjectMattingParams::eps, "the matting affinity's regulariser (1e-6)")
        .field("prior", &SubjectMattingParams::prior,
               "weight pulling unknown pixels to the layers' value (1e-5, > 0)")
        .field("sampling_weight", &SubjectMattingParams::sampling_weight,
               "weight of the colour-sampled alpha (sss.alpha_sampling), times its "
               "confidence, in the pull of unknown pixels (3e-3; 0: the layers' value alone)")
        .field("sampling_neighbours", &SubjectMattingParams::sampling_neighbours,
               "foreground and background colour samples tried per unknown pixel (4)")
        .field("sampling_sigma", &SubjectMattingParams::sampling_sigma,
               "colour-line residual, relative to |F - B|, at which the sampled alpha's "
               "confidence is 1/e (0.1)")
        .field("sampling_band", &SubjectMattingParams::sampling_band,
               "known pixels within this many steps of the unknown region are colour samples (2)")
        .field("fallback_radius", &SubjectMattingParams::fallback_radius,
               "box radius of the proportions where a group had no alpha (8)")
        .field("num_threads", &SubjectMattingParams::num_threads,
               "threads, 0: all cores; results do not depend on it");
    ParamsClass<Params> params(m, "Params",
                               "Every parameter of the pipeline; Params.reference() and "
                               "Params.multilevel() give each method's defaults.");
    params
        .property(
            "method", [](const Params& p) { return enum_name(p.method, kMethods); },
            [](Params& p, const std::string& v) { p.method = parse_enum(v, "method", kMethods); },
            "'multilevel' or 'reference'")
        .field("num_layers", &Params::num_layers, "output layers (5)")
        .field("seed", &Params::seed, "seed of the k-means steps (0)")
        .field("num_threads", &Params::num_threads,
               "threads, 0: all cores (multilevel default 1); results do not depend on it")
        .field("affinity", &Params::affinity, "AffinityParams")
        .field("eigen", &Params::eigen, "EigenParams")
        .field("initial", &Params::initial, "InitialParams")
        .field("constrained", &Params::constrained, "ConstrainedParams")
        .field("grouping", &Params::grouping, "GroupingParams")
        .field("relaxed", &Params::relaxed, "RelaxedParams")
        .field("levels", &Params::levels, "MultilevelParams (multilevel method only)")
        .field("layer_matting", &Params::layer_matting,
               "LayerMattingParams (multilevel method only)")
        .field("subject", &Params::subject, "SubjectMattingParams (multilevel method only)");
    params.cls().def_static("reference", &Params::reference,
                            "The reference method's defaults (the authors' values).");
    params.cls().def_static("for_method", [](const std::string& method) {
        return parse_enum(method, "method", kMethods) == Method::Reference ? Params::reference()
                                                                            : Params::multilevel();
    }, py::arg("method"), "Params.reference() or Params.multilevel() by name.");
    params.cls().def_static("multilevel", &Params::multilevel,
                            "The multilevel method's defaults.");
}

}  // namespace

void bind_pipeline(py::module_& m) {
    bind_params(m);

    py::class_<Rng>(m, "Rng", "numpy.random.default_rng(seed), draw for draw (sss/random.hpp).")
        .def(py::init<std::uint64_t>(), py::arg("seed") = 0)
        .def(py::init<std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, bool,
                      std::uint32_t>(),
             py::arg("state_high"), py::arg("state_low"), py::arg("inc_high"),
             py::arg("inc_low"), py::arg("has_uint32") = false, py::arg("uinteger") = 0)
        .def("random", &Rng::random)
        .def("integers", &Rng::integers, py::arg("n"))
        .def("choice", &Rng::choice, py::arg("weights"), py::arg("total"))
        .def("choice_without_replacement", &Rng::choice_without_replacement, py::arg("n"),
             py::arg("k"));

    m.def(
        "numpy_sum",
        [](const py::array& x) {
            require_array<double>(x, "x", 1);
            return numpy_sum(static_cast<const double*>(x.data()), x.shape(0));
        },
        py::arg("x"), "Sum of a float64 vector, rounded as numpy's sum.");
    m.def(
        "splitting_kmeans",
        [](const py::array& X, int k, const SplittingParams& params, std::uint64_t seed) {
            require_array<double>(X, "X", 2);
            Eigen::Map<const RowMatrixXd> Xm(static_cast<const double*>(X.data()), X.shape(0),
                                             X.shape(1));
            std::vector<int> labels;
            run_interruptible([&] {
                Rng rng(seed);
                labels = splitting_kmeans(Xm, k, params, rng);
            });
            return vector_to_array(std::move(labels), {static_cast<py::ssize_t>(X.shape(0))});
        },
        py::arg("X"), py::arg("k"), py::arg("params"), py::arg("seed"),
        "Splitting k-means labels (int32) of the (n, d) points with numpy.random.default_rng(seed).");
    m.def(
        "image_gradient",
        [](const py::array& image) {
            const ImageView v = image_view(image, "image", 0);
            std::vector<double> g;
            {
                py::gil_scoped_release release;
                g = image_gradient(v);
            }
            return vector_to_array(std::move(g), {v.height, v.width});
        },
        py::arg("image"), "Gradient magnitude (H, W) of an (H, W, C) float64 image.");
    m.def(
        "resize_image",
        [](const py::array& image, int height, int width, const std::string& filter) {
            const ImageView v = image_view(image, "image", 0);
            const ResizeFilter f = parse_enum(
                filter, "filter",
                std::vector<std::pair<const char*, ResizeFilter>>{
                    {"bicubic", ResizeFilter::Bicubic}, {"bilinear", ResizeFilter::Bilinear}});
            std::vector<double> out;
            {
                py::gil_scoped_release release;
                out = resize_image(v, height, width, f);
            }
            return vector_to_array(std::move(out), {height, width, v.channels});
        },
        py::arg("image"), py::arg("height"), py::arg("width"), py::arg("filter") = "bicubic",
        "An (H, W, C) float64 image resized as sss.io.resize does with Pillow.");
    m.def(
        "image_laplacian",
        [](const py::array& image, const py::array& features, const py::object& labels,
           const AffinityParams& params, int num_threads, bool return_parts) {
            const ImageView img = image_view(image, "image", 3);
            const ImageView feat = image_view(features, "features", 0);
            py::array lab;
            const int* lp = nullptr;
            if (!labels.is_none()) {
                lab = labels.cast<py::array>();
                require_array<int>(lab, "labels", 2);
                if (lab.shape(0) != img.height || lab.shape(1) != img.width)
                    throw py::value_error("labels must match the image's size");
                lp = static_cast<const int*>(lab.data());
            }
            AffinityParams p = params;
            p.superpixels.num_threads = num_threads;
            p.matting.num_threads = num_threads;
            p.color.num_threads = num_threads;
            std::vector<int> used;
            AffinityTerms terms;
            auto* L = new SparseMatrix();
            std::unique_ptr<SparseMatrix> owner(L);
            run_interruptible([&] {
                SparseMatrix res = image_laplacian(img, feat, p, lp, &used,
                                                   return_parts ? &terms : nullptr);
                L->swap(res);
            });
            py::object parts = py::none();
            if (return_parts)
                parts = py::make_tuple(csr_to_python(std::move(terms.matting)),
                                       csr_to_python(std::move(terms.semantic)),
                                       csr_to_python(std::move(terms.color)));
            return py::make_tuple(csr_to_python(std::move(*L)),
                                  vector_to_array(std::move(used), {img.height, img.width}),
                                  parts);
        },
        py::arg("image"), py::arg("features"), py::arg("labels"), py::arg("params"),
        py::arg("num_threads") = 0, py::arg("return_parts") = false,
        "Stages 2-6 (sss::image_laplacian): (L, labels, (W_L, W_S, W_C) or None), CSR parts.");
    m.def(
        "segment",
        [](const py::array& image, const py::array& working_image,
           const py::array& working_features, const Params& params,
           const py::object& superpixels, const py::object& laplacian,
           const py::object& eigensolver, const py::object& on_stage,
           const py::object& saliency) {
            const ImageView img = image_view(image, "image", 3);
            const ImageView work = image_view(working_image, "working_image", 3);
            const ImageView feat = image_view(working_features, "working_features", 3);
            Overrides ov;
            py::array sal;
            if (!saliency.is_none()) {
                sal = saliency.cast<py::array>();
                ov.saliency = image_view(sal, "saliency", 1);
            }
            py::array labels;
            if (!superpixels.is_none()) {
                labels = superpixels.cast<py::array>();
                require_array<int>(labels, "superpixels", 2);
                if (labels.shape(0) != work.height || labels.shape(1) != work.width)
                    throw py::value_error("superpixels must match the image's size");
                ov.superpixels = static_cast<const int*>(labels.data());
            }
            std::unique_ptr<Eigen::Map<const SparseMatrix>> Lmap;
            std::unique_ptr<SparseRef> Lref;
            py::tuple Lparts;
            if (!laplacian.is_none()) {
                Lparts = laplacian.cast<py::tuple>();
                const py::ssize_t n = work.num_pixels();
                Lmap = std::make_unique<Eigen::Map<const SparseMatrix>>(
                    csr_view(Lparts[0].cast<py::array>(), Lparts[1].cast<py::array>(),
                             Lparts[2].cast<py::array>(), n, n, "laplacian"));
                Lref = std::make_unique<SparseRef>(*Lmap);
                ov.laplacian = Lref.get();
            }
            if (!eigensolver.is_none()) {
                ov.eigensolver = [eigensolver](const SparseRef& L, int k) {
                    py::gil_scoped_acquire gil;
                    const SparseMatrix copy = L;
                    py::object sp = py::module_::import("scipy.sparse");
                    py::array data(copy.nonZeros(), copy.valuePtr());
                    py::array indices(copy.nonZeros(), copy.innerIndexPtr());
                    py::array indptr(copy.rows() + 1, copy.outerIndexPtr());
                    py::object Lpy = sp.attr("csr_matrix")(
                        py::make_tuple(data, indices, indptr),
                        py::make_tuple(copy.rows(), copy.cols()));
                    py::tuple res = eigensolver(Lpy, k);
                    EigenResult out;
                    out.values = res[0].cast<Eigen::VectorXd>();
                    out.vectors = res[1].cast<Eigen::MatrixXd>();
                    return out;
                };
            }
            if (!on_stage.is_none()) {
                ov.on_stage = [on_stage](const char* stage, StageEvent event, bool fractions) {
                    py::gil_scoped_acquire gil;
                    on_stage(stage, event == StageEvent::Begin, fractions);
                };
            }
            SoftSegments res;
            run_interruptible([&] { res = segment_working(img, work, feat, params, ov); });
            const int h = res.working_height, w = res.working_width;
            py::dict out;
            out["alphas"] = vector_to_array(std::move(res.alphas),
                                            {res.height, res.width, res.num_layers});
            out["initial_alphas"] = matrix_to_float(res.initial_alphas, h, w);
            out["grouped_alphas"] = matrix_to_float(res.grouped_alphas, h, w);
            out["group_ids"] = vector_to_array(std::move(res.group_ids),
                                               {static_cast<py::ssize_t>(res.initial_alphas.cols())});
            out["eigenvalues"] = py::cast(res.eigenvalues);
            out["superpixels"] = res.superpixels.empty()
                                     ? py::object(py::none())
                                     : py::object(vector_to_array(std::move(res.superpixels),
                                                                  {h, w}));
            out["working_shape"] = py::make_tuple(h, w);
            out["matted_subject"] = py::cast(res.matted_subject);
            out["last_cg"] = py::make_tuple(res.last_cg.flag, res.last_cg.relres,
                                            res.last_cg.iterations, res.last_cg.iterations_run);
            return out;
        },
        py::arg("image"), py::arg("working_image"), py::arg("working_features"), py::arg("params"),
        py::arg("superpixels") = py::none(), py::arg("laplacian") = py::none(),
        py::arg("eigensolver") = py::none(), py::arg("on_stage") = py::none(),
        py::arg("saliency") = py::none(),
        "sss::segment_working: the pipeline from the working level's photo and 3-D features "
        "to the layers at the photo's size; a dict of the result's arrays.");
}

}  // namespace sss::bindings
