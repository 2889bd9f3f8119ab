#include "sss/subject_matting.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "blas.hpp"
#include "mask.hpp"
#include "matte_params.hpp"
#include "sss/alpha_sampling.hpp"
#include "sss/cancel.hpp"
#include "sss/eigensolver.hpp"
#include "sss/matting.hpp"
#include "sss/multilevel.hpp"
#include "sss/parallel.hpp"
#include "sss/progress.hpp"
#include "sss/resize.hpp"
#include "sss/sparse.hpp"

namespace sss {

namespace {

void check_params(const SubjectMattingParams& p) {
    auto in01 = [](double v) { return v >= 0.0 && v <= 1.0; };
    if (p.max_pixels < 1)
        throw std::invalid_argument("subject matting: max_pixels must be >= 1, got " +
                                    std::to_string(p.max_pixels));
    if (p.map_guide_pixels < 0)
        throw std::invalid_argument("subject matting: map_guide_pixels must be >= 0, got " +
                                    std::to_string(p.map_guide_pixels));
    if (!in01(p.min_known_subject))
        throw std::invalid_argument("subject matting: min_known_subject must be in [0, 1]");
    if (!in01(p.min_confidence) || !in01(p.layer_threshold))
        throw std::invalid_argument(
            "subject matting: min_confidence and layer_threshold must be in [0, 1]");
    if (!(p.map_certain >= 0.5 && p.map_certain <= 1.0) ||
        !(p.layers_certain >= 0.5 && p.layers_certain <= 1.0))
        throw std::invalid_argument(
            "subject matting: map_certain and layers_certain must be in [0.5, 1], got " +
            std::to_string(p.map_certain) + " and " + std::to_string(p.layers_certain));
    if (p.erosion < 0 || p.fallback_radius < 0)
        throw std::invalid_argument("subject matting: erosion and fallback_radius must be >= 0");
    detail::check_matte_params(p, "subject matting");
}

}  // namespace

double map_confidence(const double* map, std::ptrdiff_t n, double certain, double uncertain) {
    if (!(uncertain > certain))
        throw std::invalid_argument("map_confidence: uncertain must be larger than certain");
    if (n <= 0) return 0.0;
    double s = 0.0;  // numpy's pairwise sum is not needed: the result is compared, not stored
    for (std::ptrdiff_t i = 0; i < n; ++i) s += 4.0 * map[i] * (1.0 - map[i]);
    const double u = s / static_cast<double>(n);
    return std::clamp((uncertain - u) / (uncertain - certain), 0.0, 1.0);
}

std::vector<int> subject_layer_indices(const ImageView& layers, const ImageView& map,
                                       double threshold) {
    check_image(layers, "layers", 0);
    check_image(map, "map", 1);
    if (map.height != layers.height || map.width != layers.width)
        throw std::invalid_argument("subject_layer_indices: map and layers differ in size");
    const int k = layers.channels;
    std::vector<double> mass(k, 0.0), weighted(k, 0.0);
    for (std::ptrdiff_t p = 0; p < layers.num_pixels(); ++p)
        for (int j = 0; j < k; ++j) {
            const double a = layers.data[p * k + j];
            mass[j] += a;
            weighted[j] += a * map.data[p];
        }
    std::vector<int> out;
    for (int j = 0; j < k; ++j)
        if (mass[j] > 0.0 && weighted[j] / mass[j] > threshold) out.push_back(j);
    return out;
}

std::vector<double> subject_trimap(const double* subject, const double* map, int height,
                                   int width, const SubjectMattingParams& params) {
    check_params(params);
    const std::size_t n = static_cast<std::size_t>(height) * width;
    std::vector<unsigned char> fg(n), bg(n);
    const double mc = params.map_certain, lc = params.layers_certain;
    for (std::size_t p = 0; p < n; ++p) {
        fg[p] = map[p] > mc && subject[p] > lc;
        // the map alone is trusted to rule pixels out, unless the layers are
        // certain they are the subject's (docs/cues.md)
        bg[p] = map[p] < 1.0 - mc && subject[p] < lc;
    }
    detail::erode_mask(fg, height, width, params.erosion);
    detail::erode_mask(bg, height, width, params.erosion);
    std::vector<double> tri(n, 0.5);
    for (std::size_t p = 0; p < n; ++p) {
        if (fg[p]) tri[p] = 1.0;
        if (bg[p]) tri[p] = 0.0;
    }
    return tri;
}

std::vector<double> closed_form_matte(const ImageView& image, const std::vector<double>& trimap,
                                      const double* prior_alpha,
                                      const SubjectMattingParams& params,
                                      const double* prior_weight) {
    check_image(image, "image", 3);
    check_params(params);
    const std::ptrdiff_t n = image.num_pixels();
    if (static_cast<std::ptrdiff_t>(trimap.size()) != n)
        throw std::invalid_argument("closed_form_matte: trimap and image differ in size");
    if (prior_weight != nullptr)
        for (std::ptrdiff_t p = 0; p < n; ++p)
            if (!(prior_weight[p] >= 0.0 && std::isfinite(prior_weight[p])))
                throw std::invalid_argument(
                    "closed_form_matte: prior_weight must be finite and >= 0");
    bool any_unknown = false;
    for (std::ptrdiff_t p = 0; p < n && !any_unknown; ++p)
        any_unknown = trimap[p] != 0.0 && trimap[p] != 1.0;
    if (!any_unknown) return trimap;
    const SparseMatrix W = closed_form_affinity(image, params.eps, params.num_threads);
    check_cancel();
    report_progress(0.3);
    std::vector<double> alpha = closed_form_matte(W, trimap, prior_alpha, params.prior,
                                                  prior_weight);
    check_cancel();
    return alpha;
}

SparseMatrix closed_form_affinity(const ImageView& image, double eps, int num_threads) {
    MattingParams mp;
    mp.radius = 1;
    mp.eps = eps;
    mp.num_threads = num_threads;
    return matting_affinity(image, mp);
}

std::vector<double> closed_form_matte(const SparseMatrix& W, const std::vector<double>& trimap,
                                      const double* prior_alpha, double prior,
                                      const double* prior_weight) {
    const std::ptrdiff_t n = W.rows();
    if (static_cast<std::ptrdiff_t>(trimap.size()) != n || W.cols() != n)
        throw std::invalid_argument("closed_form_matte: trimap and affinity differ in size");
    std::vector<int> idx(static_cast<std::size_t>(n), -1);
    int nu = 0;
    for (std::ptrdiff_t p = 0; p < n; ++p)
        if (trimap[p] != 0.0 && trimap[p] != 1.0) idx[p] = nu++;
    std::vector<double> alpha(trimap);
    if (nu == 0) return alpha;
    // L = D - W (laplacian_from_affinity) read straight from W: L_uu = D_u - W_uu,
    // -L_uk t_k = W_uk t_k; b adds prior a0_u
    Eigen::VectorXd b(nu);
    std::vector<Eigen::Triplet<double, int>> trip;
    trip.reserve(static_cast<std::size_t>(nu) * 25);
    for (std::ptrdiff_t p = 0; p < n; ++p) {
        const int i = idx[p];
        if (i < 0) continue;
        // the shift below adds `prior` to the diagonal; the extra weight goes in here
        const double extra = prior_weight != nullptr ? prior_weight[p] : 0.0;
        double r = (prior + extra) * std::min(std::max(prior_alpha[p], 0.0), 1.0);
        double d = extra;
        for (SparseMatrix::InnerIterator it(W, p); it; ++it) d += it.value();
        trip.emplace_back(i, i, d);
        for (SparseMatrix::InnerIterator it(W, p); it; ++it) {
            const int j = idx[it.col()];
            if (j >= 0)
                trip.emplace_back(i, j, -it.value());
            else
                r += it.value() * trimap[it.col()];
        }
        b[i] = r;
    }
    SparseMatrix Luu(nu, nu);
    Luu.setFromTriplets(trip.begin(), trip.end());
    decltype(trip)().swap(trip);
    Eigen::VectorXd x(nu);
    {
        detail::BlasThreads blas_guard(1);
        ShiftSolveOp solver{SparseRef(Luu)};
        if (!solver.try_set_shift(-prior, true))
            throw std::runtime_error("closed_form_matte: the matting system is not positive "
                                     "definite (numerically degenerate image)");
        solver.perform_op(b.data(), x.data());
    }
    for (std::ptrdiff_t p = 0; p < n; ++p)
        if (idx[p] >= 0) {
            const double v = x[idx[p]];
            if (!std::isfinite(v))
                throw std::runtime_error("closed_form_matte: the solve produced NaN");
            alpha[p] = std::min(std::max(v, 0.0), 1.0);
        }
    return alpha;
}

MattePull sampled_pull(const ImageView& image, const std::vector<double>& trimap,
                       const double* a0, double prior, double sampling_weight,
                       const AlphaSamplingParams& sampling) {
    const SampledAlpha s = sampled_alpha(image, trimap, sampling);
    const std::size_t n = trimap.size();
    MattePull pull{std::vector<double>(n), std::vector<double>(n)};
    for (std::size_t p = 0; p < n; ++p) {
        // (closed_form_matte reads both at the unknown pixels only)
        const double ws = sampling_weight * s.confidence[p];
        pull.weight[p] = ws;
        pull.alpha[p] = (prior * a0[p] + ws * s.alpha[p]) / (prior + ws);
    }
    return pull;
}

SubjectMattingResult matte_subject(float* alphas, int num_layers, const ImageView& image,
                                   const ImageView& map, const SubjectMattingParams& params,
                                   const ImageView* matting_image,
                                   const ImageView* matting_layers) {
    check_image(image, "image", 3);
    check_image(map, "map", 1);
    check_params(params);
    if (alphas == nullptr || num_layers < 1)
        throw std::invalid_argument("matte_subject: no layers");
    const int K = num_layers, H = image.height, W = image.width;
    check_finite(map.data, map.num_pixels(), "matte_subject", "map");
    for (std::ptrdiff_t i = 0; i < map.num_pixels(); ++i)
        if (map.data[i] < 0.0 || map.data[i] > 1.0)
            throw std::invalid_argument("matte_subject: map values must lie in [0, 1]");
    SubjectMattingResult res;
    if (!params.enabled) return res;
    int mh = 0, mw = 0;
    working_shape(H, W, params.max_pixels, mh, mw);
    res.matting_height = mh;
    res.matting_width = mw;
    const bool full = mh == H && mw == W;
    const std::size_t nm = static_cast<std::size_t>(mh) * mw;

    // the map at the matting level, and its confidence
    std::vector<double> map_m;
    if (map.height == mh && map.width == mw) {
        map_m.assign(map.data, map.data + nm);
    } else {
        map_m = resize_image_clipped(map, mh, mw, ResizeFilter::Bilinear, params.num_threads);
    }
    res.confidence = map_confidence(map_m.data(), static_cast<std::ptrdiff_t>(nm));
    if (res.confidence < params.min_confidence) return res;

    // the photo and the layers at the matting level
    std::vector<double> img_buf, lay_buf;
    ImageView img_m = image;
    if (matting_image != nullptr) {
        if (matting_image->height != mh || matting_image->width != mw || matting_image->channels != 3)
            throw std::invalid_argument("matte_subject: matting_image is not the matting level");
        img_m = *matting_image;
    } else if (!full) {
        img_buf = resize_image_clipped(image, mh, mw, ResizeFilter::Bicubic, params.num_threads);
        img_m = ImageView{img_buf.data(), mh, mw, 3};
    }
    ImageView lay_m;
    if (matting_layers != nullptr) {
        if (matting_layers->height != mh || matting_layers->width != mw ||
            matting_layers->channels != K)
            throw std::invalid_argument("matte_subject: matting_layers is not the matting level");
        lay_m = *matting_layers;
    } else {
        std::vector<double> a(alphas, alphas + static_cast<std::size_t>(H) * W * K);
        lay_buf = full ? std::move(a)
                       : resize_image(ImageView{a.data(), H, W, K}, mh, mw,
                                      ResizeFilter::Bilinear, params.num_threads);
        lay_m = ImageView{lay_buf.data(), mh, mw, K};
    }
    // the map's edges moved onto the photo's: fitted as a function of the colour in
    // windows of a small copy and carried back (guided_upsample), as the layers are
    if (params.map_guide_pixels > 0) {
        int gh = 0, gw = 0;
        working_shape(mh, mw, params.map_guide_pixels, gh, gw);
        if (gh < mh || gw < mw) {
            const std::vector<double> img_g = resize_image_clipped(
                img_m, gh, gw, ResizeFilter::Bilinear, params.num_threads);
            const std::vector<double> map_g = resize_image_clipped(
                ImageView{map_m.data(), mh, mw, 1}, gh, gw, ResizeFilter::Bilinear,
                params.num_threads);
            std::vector<double> two(static_cast<std::size_t>(gh) * gw * 2);
            for (std::size_t p = 0; p < map_g.size(); ++p) {
                two[2 * p] = map_g[p];
                two[2 * p + 1] = 1.0 - map_g[p];
            }
            GuidedUpsampleParams up;
            up.num_threads = params.num_threads;
            const std::vector<float> r = guided_upsample(ImageView{two.data(), gh, gw, 2},
                                                         ImageView{img_g.data(), gh, gw, 3},
                                                         img_m, up);
            for (std::size_t p = 0; p < nm; ++p) map_m[p] = static_cast<double>(r[2 * p]);
        }
    }
    const ImageView map_view{map_m.data(), mh, mw, 1};
    res.subject = subject_layer_indices(lay_m, map_view, params.layer_threshold);
    if (res.subject.empty() || static_cast<int>(res.subject.size()) == K) {
        res.subject.clear();
        return res;
    }
    std::vector<char> in_subject(K, 0);
    for (int j : res.subject) in_subject[j] = 1;
    check_cancel();
    report_progress(0.05);

    // the matte at the matting level
    std::vector<double> u(nm, 0.0);
    for (std::size_t p = 0; p < nm; ++p) {
        double s = 0.0;
        for (int j : res.subject) s += lay_m.data[p * K + j];
        u[p] = std::min(std::max(s, 0.0), 1.0);
    }
    const std::vector<double> tri = subject_trimap(u.data(), map_m.data(), mh, mw, params);
    std::size_t unknown = 0, known_subject = 0;
    double mass = 0.0;
    for (std::size_t p = 0; p < nm; ++p) {
        unknown += tri[p] == 0.5;
        known_subject += tri[p] == 1.0;
        mass += u[p];
    }
    res.unknown_fraction = static_cast<double>(unknown) / static_cast<double>(nm);
    res.known_subject = mass > 0.0 ? static_cast<double>(known_subject) / mass : 0.0;
    // a subject the trimap hardly knows (a thin object, or one the map places
    // elsewhere) would be matted away: leave the layers as they are
    if (res.known_subject < params.min_known_subject) {
        res.subject.clear();
        return res;
    }
    // the colours' own estimate where a known foreground and background colour
    // explain a pixel, pulled towards with weight sampling_weight * confidence
    std::vector<double> matte;
    if (params.sampling_weight > 0.0) {
        const MattePull pull = sampled_pull(img_m, tri, u.data(), params.prior,
                                            params.sampling_weight, alpha_sampling_params(params));
        matte = closed_form_matte(img_m, tri, pull.alpha.data(), params, pull.weight.data());
    } else {
        matte = closed_form_matte(img_m, tri, u.data(), params);
    }
    check_cancel();
    report_progress(0.9);

    // each group's proportions where it had no alpha: its layers' box mean
    std::vector<double> smooth = box_mean(lay_m, params.fallback_radius);
    smooth = box_mean(ImageView{smooth.data(), mh, mw, K}, params.fallback_radius);

    // the matte at full size (one layer, not clipped by the upsampling: the same as
    // upsampling the pair (a, 1 - a) with clipping, which sums to one)
    std::vector<float> matte_full;
    if (!full) {
        GuidedUpsampleParams up;
        up.num_threads = params.num_threads;
        up.clip = false;
        matte_full = guided_upsample(ImageView{matte.data(), mh, mw, 1}, img_m, image, up);
    }
    const std::ptrdiff_t n = image.num_pixels();
    constexpr double kTiny = 1e-3;
    const int threads = resolve_threads(params.num_threads);
    (void)threads;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
    for (std::ptrdiff_t p = 0; p < n; ++p) {
        const double t = full ? matte[p]
                               : std::min(std::max(static_cast<double>(matte_full[p]), 0.0), 1.0);
        float* a = alphas + p * K;
        double su = 0.0, sb = 0.0;
        for (int j = 0; j < K; ++j) (in_subject[j] ? su : sb) += std::max(0.0f, a[j]);
        const bool fall_s = su <= kTiny, fall_b = sb <= kTiny;
        const double* sm = nullptr;
        double ssu = 0.0, ssb = 0.0;
        if (fall_s || fall_b) {
            const int y = static_cast<int>(static_cast<long long>(p / W) * mh / H);
            const int x = static_cast<int>(static_cast<long long>(p % W) * mw / W);
            sm = smooth.data() + (static_cast<std::size_t>(y) * mw + x) * K;
            for (int j = 0; j < K; ++j) (in_subject[j] ? ssu : ssb) += sm[j];
        }
        const int ns = static_cast<int>(res.subject.size()), nb = K - ns;
        for (int j = 0; j < K; ++j) {
            const bool s = in_subject[j];
            const double target = s ? t : 1.0 - t;
            double share;
            if (!(s ? fall_s : fall_b))
                share = std::max(0.0f, a[j]) / (s ? su : sb);
            else if ((s ? ssu : ssb) > 0.0)
                share = sm[j] / (s ? ssu : ssb);
            else
                share = 1.0 / (s ? ns : nb);
            a[j] = static_cast<float>(target * share);
        }
    }
    res.applied = true;
    report_progress(1.0);
    return res;
}

}  // namespace sss
