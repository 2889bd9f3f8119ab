#include "sss/pipeline.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "sss/cancel.hpp"
#include "sss/gradient.hpp"
#include "sss/grouping.hpp"
#include "sss/progress.hpp"
#include "sss/random.hpp"
#include "sss/resize.hpp"

namespace sss {

Params::Params() {
    constrained.iterations = 20;
    constrained.sample_stride = 2;
    eigen.num_vectors = 50;
    eigen.tol = 1e-6;
    // the working level is a small problem of fixed size that does not gain
    // from more threads (docs/multilevel.md)
    num_threads = 1;
}

Params Params::multilevel() { return Params(); }

Params Params::reference() {
    Params p;
    p.method = Method::Reference;
    p.constrained.iterations = 40;
    p.constrained.sample_stride = 0;
    p.eigen.num_vectors = 100;
    p.eigen.tol = 1e-10;
    p.num_threads = 0;
    p.levels.alpha_cutoff = 0.0;
    p.grouping = GroupingParams{};
    p.subject.enabled = false;
    p.layer_matting.enabled = false;
    return p;
}

namespace {

long long sample_count(int h, int w, int s) {
    auto count = [s](int len) {
        const int start = std::min(s / 2, len - 1);
        return static_cast<long long>((len - start + s - 1) / s);
    };
    return count(h) * count(w);
}

// A stage: reports its start and end to the hook and resets the progress fraction.
class Stage {
public:
    Stage(const StageHook& hook, const char* name, bool fractions)
        : hook_(hook), name_(name), fractions_(fractions) {
        check_cancel();
        if (fractions_) report_progress(0.0);
        if (hook_) hook_(name_, StageEvent::Begin, fractions_);
    }
    void done() {
        if (hook_) hook_(name_, StageEvent::End, fractions_);
    }

private:
    const StageHook& hook_;
    const char* name_;
    bool fractions_;
};

// Layers clipped to [0, 1] and renormalised to sum to one, in float32 as numpy does.
std::vector<float> clip_to_simplex(const double* alphas, std::ptrdiff_t n, int k) {
    std::vector<float> out(static_cast<std::size_t>(n) * k);
    std::vector<float> row(static_cast<std::size_t>(k));
    for (std::ptrdiff_t p = 0; p < n; ++p) {
        for (int j = 0; j < k; ++j) {
            const float v = static_cast<float>(alphas[p * k + j]);
            row[j] = std::min(std::max(v, 0.0f), 1.0f);
        }
        float s = numpy_sum(row.data(), k);
        s = std::max(s, static_cast<float>(1e-12));
        for (int j = 0; j < k; ++j) out[static_cast<std::size_t>(p * k + j)] = row[j] / s;
    }
    return out;
}

}  // namespace

int auto_sample_stride(int height, int width, long long min_samples) {
    int s = 1;
    while (sample_count(height, width, s + 1) >= min_samples) ++s;
    return s;
}

namespace {

/// The checks of segment's arguments that the stages themselves do not make
/// (Python's sss.segment makes the same before calling the core). `features`
/// at the working level: NaN in the photo's features carries over to them.
void check_segment_inputs(const ImageView& image, const ImageView& features,
                          const Params& params) {
    if (params.method != Method::Multilevel && params.method != Method::Reference)
        throw std::invalid_argument("segment: params.method must be Method::Multilevel or "
                                    "Method::Reference, got " +
                                    std::to_string(static_cast<int>(params.method)));
    if (params.num_layers < 1 || params.num_layers > params.initial.num_layers)
        throw std::invalid_argument(
            "segment: num_layers must be in [1, initial.num_layers = " +
            std::to_string(params.initial.num_layers) + "] (the layers that are grouped into "
            "the output), got " + std::to_string(params.num_layers));
    const double cutoff = params.levels.alpha_cutoff;
    if (!(cutoff >= 0.0 && cutoff <= 0.25))
        throw std::invalid_argument("segment: levels.alpha_cutoff must be in [0, 0.25], got " +
                                    std::to_string(cutoff));
    if (params.method == Method::Multilevel) check_layer_matting_params(params.layer_matting);
    check_finite(image.data, image.num_pixels() * 3, "segment", "image");
    check_finite(features.data, features.num_pixels() * features.channels, "segment",
                 "features");
    // values slightly outside [0, 1] (a bicubic resize's overshoot) are used as
    // they are; 0-255 values are a photo not scaled to [0, 1]
    const auto [lo, hi] = std::minmax_element(image.data, image.data + image.num_pixels() * 3);
    if (*lo < -0.1 || *hi > 1.1)
        throw std::invalid_argument(
            "segment: image values must lie in [0, 1] (a little outside is accepted), got " +
            std::to_string(*lo) + " to " + std::to_string(*hi) +
            " (8-bit values must be divided by 255)");
}

}  // namespace

SoftSegments segment(const ImageView& image, const ImageView& features, const Params& params,
                     const Overrides& overrides) {
    check_image(image, "image", 3);
    check_image(features, "features", 3);
    if (params.method == Method::Reference)
        return segment_working(image, image, features, params, overrides);
    int wh = 0, ww = 0;
    working_shape(image.height, image.width, params.levels.working_pixels, wh, ww);
    std::vector<double> work_buf, feat_buf;
    ImageView work = image, feat = features;
    if (wh != image.height || ww != image.width) {
        work_buf = resize_image(image, wh, ww, ResizeFilter::Bicubic,
                                params.levels.upsample.num_threads);
        work = ImageView{work_buf.data(), wh, ww, 3};
    }
    if (features.height != wh || features.width != ww) {
        if (features.height != image.height || features.width != image.width)
            throw std::invalid_argument(
                "features of " + std::to_string(features.height) + " x " +
                std::to_string(features.width) + " pixels match neither the image's " +
                std::to_string(image.height) + " x " + std::to_string(image.width) +
                " nor the working level's " + std::to_string(wh) + " x " + std::to_string(ww));
        feat_buf = resize_image(features, wh, ww, ResizeFilter::Bilinear,
                                params.levels.upsample.num_threads);
        feat = ImageView{feat_buf.data(), wh, ww, 3};
    }
    return segment_working(image, work, feat, params, overrides);
}

SoftSegments segment_working(const ImageView& image, const ImageView& working_image,
                             const ImageView& working_features, const Params& params,
                             const Overrides& overrides) {
    check_image(image, "image", 3);
    check_image(working_image, "working_image", 3);
    check_image(working_features, "working_features", 3);
    check_segment_inputs(image, working_features, params);
    const bool reference = params.method == Method::Reference;
    const int h = working_image.height, w = working_image.width;
    if (working_features.height != h || working_features.width != w)
        throw std::invalid_argument("working_features and working_image differ in size");
    if (reference && (h != image.height || w != image.width))
        throw std::invalid_argument(
            "the reference method works on the photo itself: working_image must have its size");
    if (params.num_layers < 1)
        throw std::invalid_argument("num_layers must be >= 1, got " +
                                    std::to_string(params.num_layers));
    const std::ptrdiff_t n = working_image.num_pixels();
    const int threads = params.num_threads;
    const StageHook& hook = overrides.on_stage;
    Rng rng(params.seed);
    SoftSegments out;
    out.height = image.height;
    out.width = image.width;
    out.working_height = h;
    out.working_width = w;

    // stages 2-6 (a stage of their own unless a ready Laplacian replaces them)
    SparseMatrix L_own;
    if (overrides.laplacian == nullptr) {
        Stage st(hook, "affinities", false);
        AffinityParams ap = params.affinity;
        ap.superpixels.num_threads = threads;
        ap.matting.num_threads = threads;
        ap.color.num_threads = threads;
        SparseMatrix L = image_laplacian(working_image, working_features, ap,
                                         overrides.superpixels, &out.superpixels);
        L_own.swap(L);
        st.done();
    } else {
        if (overrides.laplacian->rows() != n || overrides.laplacian->cols() != n)
            throw std::invalid_argument("laplacian must be " + std::to_string(n) + " x " +
                                        std::to_string(n));
        if (overrides.superpixels != nullptr)
            out.superpixels.assign(overrides.superpixels, overrides.superpixels + n);
    }
    const SparseRef L = overrides.laplacian != nullptr ? *overrides.laplacian : SparseRef(L_own);

    // stage 7
    EigenResult eig;
    {
        Stage st(hook, "eigenvectors", true);
        if (overrides.eigensolver) {
            eig = overrides.eigensolver(L, params.eigen.num_vectors);
        } else {
            EigenParams ep = params.eigen;
            ep.grid_height = h;
            ep.grid_width = w;
            ep.num_threads = threads;
            eig = smallest_eigenvectors(L, ep);
        }
        st.done();
    }
    out.eigenvalues = eig.values;

    // stage 8
    {
        Stage st(hook, "constrained sparsification", true);
        const RowMatrixXd E = eig.vectors;
        Eigen::MatrixXd().swap(eig.vectors);
        if (working_features.channels < 1) throw std::invalid_argument("features: no channels");
        const Eigen::Map<const RowMatrixXd> F(working_features.data, n, working_features.channels);
        const std::vector<int> labels =
            splitting_kmeans(F, params.initial.num_layers, params.initial.kmeans, rng);
        ConstrainedParams cp = params.constrained;
        if (cp.sample_stride == 0) cp.sample_stride = auto_sample_stride(h, w);
        if (cp.prune_every == 0) cp.prune_every = (cp.iterations + 3) / 4;
        cp.num_threads = threads;
        cp.image_width = w;
        ConstrainedResult res = constrained_sparsify(E, eig.values, L, labels.data(),
                                                     params.initial.num_layers, cp);
        out.initial_alphas.swap(res.alphas);
        st.done();
    }

    // stage 9
    {
        Stage st(hook, "grouping", false);
        GroupingResult g = group_layers(out.initial_alphas, working_features, params.num_layers,
                                        rng, params.grouping.replicates,
                                        params.grouping.min_mass);
        out.grouped_alphas.swap(g.grouped);
        out.group_ids = std::move(g.group_ids);
        st.done();
    }
    const int k = static_cast<int>(out.grouped_alphas.cols());
    out.num_layers = k;

    // stage 10
    std::vector<double> alphas;
    {
        Stage st(hook, "relaxed sparsification", true);
        const std::vector<double> grad = image_gradient(working_image);
        RelaxedParams rp = params.relaxed;
        rp.num_threads = threads;
        const ImageView lv{out.grouped_alphas.data(), h, w, k};
        const ImageView gv{grad.data(), h, w, 1};
        RelaxedResult res = relaxed_sparsify(lv, L, gv, rp);
        if (!res.cg_log.empty()) out.last_cg = res.cg_log.back();
        alphas.assign(res.alphas.data(), res.alphas.data() + res.alphas.size());
        st.done();
    }
    SparseMatrix().swap(L_own);
    for (double v : alphas)
        if (!std::isfinite(v))
            throw std::runtime_error("relaxed sparsification produced NaN or infinite values; "
                                     "the input is numerically degenerate");

    const bool upsampled = !reference && (h != image.height || w != image.width);
    std::vector<double> guide_low;
    if (upsampled) {
        guide_low.assign(working_image.data, working_image.data + n * 3);
        for (double& v : guide_low) v = std::min(std::max(v, 0.0), 1.0);
    }
    auto clean = [&](std::vector<float>& a) {
        if (params.levels.alpha_cutoff > 0.0)
            clean_alphas(a.data(), static_cast<std::ptrdiff_t>(a.size()) / k, k,
                         params.levels.alpha_cutoff);
    };
    // the working-level layers carried to `guide`'s size as the final layers are
    auto carry_layers = [&](const ImageView& guide) {
        std::vector<float> a = guided_upsample(ImageView{alphas.data(), h, w, k},
                                               ImageView{guide_low.data(), h, w, 3}, guide,
                                               params.levels.upsample);
        clean(a);
        return a;
    };
    // stage 10b starts from the layers carried to its matting level and carries
    // its result to the photo's size itself: the working-level layers then go
    // to the matting level only (a 24-megapixel photo: 0.5 s and 0.5 GB less)
    const bool layer_matting = upsampled && params.layer_matting.enabled;
    const LayerMattingParams& lp = params.layer_matting;
    int lh = 0, lw = 0;
    bool lm_full = false;  // the photo is its own matting level
    std::vector<double> lm_image, lm_layers;
    std::vector<float> lm_in;
    if (layer_matting) {
        working_shape(image.height, image.width, lp.max_pixels, lh, lw);
        lm_full = lh == image.height && lw == image.width;
    }
    if (reference) {
        out.alphas.assign(alphas.begin(), alphas.end());
        clean(out.alphas);
    } else if (upsampled) {
        Stage st(hook, "upsampling", false);
        if (!layer_matting || lm_full) {
            out.alphas = carry_layers(image);
        } else {
            lm_image = resize_image_clipped(image, lh, lw, ResizeFilter::Bicubic, lp.num_threads);
            lm_in = carry_layers(ImageView{lm_image.data(), lh, lw, 3});
        }
        st.done();
    } else {
        out.alphas = clip_to_simplex(alphas.data(), n, k);
        clean(out.alphas);
    }

    // stage 10b: every layer matted at the matting level; `lm_layers` keeps them
    // there for stage 11 when its matting level is the same
    if (layer_matting) {
        Stage st(hook, "layer matting", true);
        const ImageView img_view = lm_full ? image : ImageView{lm_image.data(), lh, lw, 3};
        const std::vector<float>& carried = lm_full ? out.alphas : lm_in;
        const std::vector<double> lay(carried.begin(), carried.end());
        std::vector<float>().swap(lm_in);
        lm_layers = matte_layers(ImageView{lay.data(), lh, lw, k}, img_view, lp);
        if (lm_full) {
            out.alphas.assign(lm_layers.begin(), lm_layers.end());
        } else {
            out.alphas = guided_upsample(ImageView{lm_layers.data(), lh, lw, k}, img_view, image,
                                         params.levels.upsample);
        }
        clean(out.alphas);
        st.done();
    }

    // stage 11
    if (!reference && params.subject.enabled && overrides.saliency.data != nullptr) {
        Stage st(hook, "subject matting", true);
        check_image(overrides.saliency, "saliency", 1);
        const SubjectMattingParams& sp = params.subject;
        int mh = 0, mw = 0;
        working_shape(image.height, image.width, sp.max_pixels, mh, mw);
        SubjectMattingResult r;
        const bool at_photo = (mh == image.height && mw == image.width) || !upsampled;
        if (!at_photo && !lm_layers.empty() && mh == lh && mw == lw) {
            // the layers stage 10b matted, and the photo, at the same matting level
            const ImageView img_view{lm_image.data(), mh, mw, 3};
            const ImageView lay_view{lm_layers.data(), mh, mw, k};
            r = matte_subject(out.alphas.data(), k, image, overrides.saliency, sp, &img_view,
                              &lay_view);
        } else if (at_photo || !lm_layers.empty()) {
            // the final layers (at another matting level: resized there by matte_subject)
            r = matte_subject(out.alphas.data(), k, image, overrides.saliency, sp);
        } else {
            // the photo and the layers at the matting level, as at full size
            const std::vector<double> img_m =
                resize_image_clipped(image, mh, mw, ResizeFilter::Bicubic, sp.num_threads);
            const ImageView img_view{img_m.data(), mh, mw, 3};
            std::vector<float> lay_f = carry_layers(img_view);
            const std::vector<double> lay_m(lay_f.begin(), lay_f.end());
            std::vector<float>().swap(lay_f);
            const ImageView lay_view{lay_m.data(), mh, mw, k};
            r = matte_subject(out.alphas.data(), k, image, overrides.saliency, sp, &img_view,
                              &lay_view);
        }
        if (r.applied) out.matted_subject = r.subject;
        st.done();
    }
    return out;
}

}  // namespace sss
