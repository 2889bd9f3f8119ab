#include "sss/layer_matting.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <stdexcept>
#include <string>

#include "blas.hpp"
#include "mask.hpp"
#include "matte_params.hpp"
#include "sss/alpha_sampling.hpp"
#include "sss/cancel.hpp"
#include "sss/parallel.hpp"
#include "sss/progress.hpp"
#include "sss/subject_matting.hpp"

namespace sss {

void check_layer_matting_params(const LayerMattingParams& p) {
    if (p.max_pixels < 1)
        throw std::invalid_argument("layer matting: max_pixels must be >= 1, got " +
                                    std::to_string(p.max_pixels));
    if (!(p.certain >= 0.5 && p.certain <= 1.0))
        throw std::invalid_argument("layer matting: certain must be in [0.5, 1], got " +
                                    std::to_string(p.certain));
    if (p.erosion < 0)
        throw std::invalid_argument("layer matting: erosion must be >= 0, got " +
                                    std::to_string(p.erosion));
    detail::check_matte_params(p, "layer matting");
}

std::vector<double> layer_trimap(const double* layer, int height, int width, double certain,
                                 int erosion) {
    if (layer == nullptr || height < 1 || width < 1)
        throw std::invalid_argument("layer_trimap: empty layer");
    const std::size_t n = static_cast<std::size_t>(height) * width;
    std::vector<unsigned char> in(n), out(n);
    for (std::size_t p = 0; p < n; ++p) {
        in[p] = layer[p] > certain;
        out[p] = layer[p] < 1.0 - certain;
    }
    detail::erode_mask(in, height, width, erosion);
    detail::erode_mask(out, height, width, erosion);
    std::vector<double> t(n, 0.5);
    for (std::size_t p = 0; p < n; ++p) {
        if (in[p]) t[p] = 1.0;
        else if (out[p]) t[p] = 0.0;
    }
    return t;
}

std::vector<double> matte_layers(const ImageView& layers, const ImageView& image,
                                 const LayerMattingParams& params) {
    check_image(image, "image", 3);
    if (layers.data == nullptr || layers.channels < 1)
        throw std::invalid_argument("matte_layers: no layers");
    if (layers.height != image.height || layers.width != image.width)
        throw std::invalid_argument("matte_layers: the layers (" + std::to_string(layers.height) +
                                    " x " + std::to_string(layers.width) +
                                    ") and the image (" + std::to_string(image.height) + " x " +
                                    std::to_string(image.width) + ") differ in size");
    check_layer_matting_params(params);
    const int K = layers.channels, h = image.height, w = image.width;
    const std::size_t n = static_cast<std::size_t>(h) * w;
    check_finite(layers.data, static_cast<std::ptrdiff_t>(n) * K, "matte_layers", "layers");
    std::vector<double> out(layers.data, layers.data + n * K);
    if (!params.enabled) return out;

    // one affinity for every layer's matte
    const SparseMatrix W = closed_form_affinity(image, params.eps, params.num_threads);
    check_cancel();

    // layer k's matte into column k of `out`; several layers side by side, one
    // per thread (their factorisations are independent, so the result does not
    // depend on how many run at once)
    const int T = std::min(resolve_threads(params.num_threads), K);
    AlphaSamplingParams sp = alpha_sampling_params(params);
    if (T > 1) sp.num_threads = 1;
    auto matte_layer = [&](int k) {
        std::vector<double> a(n);
        for (std::size_t p = 0; p < n; ++p)
            a[p] = std::min(std::max(layers.data[p * K + k], 0.0), 1.0);
        const std::vector<double> tri = layer_trimap(a.data(), h, w, params.certain,
                                                     params.erosion);
        bool has_in = false, has_out = false, has_unknown = false;
        for (double t : tri) {
            has_in |= t == 1.0;
            has_out |= t == 0.0;
            has_unknown |= t == 0.5;
        }
        // a layer without a certain inside or outside has nothing to propagate
        if (!(has_in && has_out && has_unknown)) return;
        std::vector<double> matte;
        if (params.sampling_weight > 0.0) {
            const MattePull pull =
                sampled_pull(image, tri, a.data(), params.prior, params.sampling_weight, sp);
            matte = closed_form_matte(W, tri, pull.alpha.data(), params.prior, pull.weight.data());
        } else {
            matte = closed_form_matte(W, tri, a.data(), params.prior);
        }
        for (std::size_t p = 0; p < n; ++p) out[p * K + k] = matte[p];
    };
    detail::BlasThreads blas_guard(1);  // each factorisation's BLAS calls stay serial
    if (T == 1) {
        // not inside an inactive parallel region (an if clause): CHOLMOD's BLAS
        // calls there ran 4-10 times slower (measured)
        for (int k = 0; k < K; ++k) {
            matte_layer(k);
            check_cancel();
            report_progress(static_cast<double>(k + 1) / K);
        }
    } else {
        // the next layer goes to whichever thread is free (the bands differ
        // several-fold in size); a cancel request skips the layers not started
        std::vector<std::exception_ptr> failed(static_cast<std::size_t>(K));
        int done = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(T)
        for (int k = 0; k < K; ++k) {
            if (cancel_requested()) continue;
            try {
                matte_layer(k);
            } catch (...) {
                failed[static_cast<std::size_t>(k)] = std::current_exception();
            }
#pragma omp critical(sss_layer_matting_progress)
            report_progress(static_cast<double>(++done) / K);
        }
        for (const std::exception_ptr& e : failed)
            if (e) std::rethrow_exception(e);
        check_cancel();
    }
    // back onto the simplex; a pixel every matte left empty keeps its layers
    constexpr double kEmpty = 1e-6;
    for (std::size_t p = 0; p < n; ++p) {
        double s = 0.0;
        for (int k = 0; k < K; ++k) s += out[p * K + k];
        if (s > kEmpty) {
            for (int k = 0; k < K; ++k) out[p * K + k] /= s;
        } else {
            for (int k = 0; k < K; ++k)
                out[p * K + k] = std::min(std::max(layers.data[p * K + k], 0.0), 1.0);
        }
    }
    return out;
}

}  // namespace sss
