// 8- and 16-bit layers for editors (see sss/compositing.hpp).
#include "sss/compositing.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "sss/colors.hpp"
#include "sss/parallel.hpp"

namespace sss {
namespace {

void check_order(const std::vector<int>& order, int K, const char* what) {
    if (static_cast<int>(order.size()) != K)
        throw std::invalid_argument(std::string(what) + ": order must list each of the " +
                                    std::to_string(K) + " layers once");
    std::vector<char> seen(K, 0);
    for (int layer : order) {
        if (layer < 0 || layer >= K || seen[layer])
            throw std::invalid_argument(std::string(what) +
                                        ": order must be a permutation of 0.." +
                                        std::to_string(K - 1));
        seen[layer] = 1;
    }
}

void check_alphas(const ImageView& alphas, const char* what) {
    check_image(alphas, what, 0);
    check_finite(alphas.data, alphas.num_pixels() * alphas.channels, what, "alphas");
}

template <class Level>
std::vector<Level> quantize_levels(const ImageView& alphas, int num_threads) {
    constexpr double top = std::numeric_limits<Level>::max();
    check_alphas(alphas, "quantize_alphas");
    const int K = alphas.channels;
    const std::ptrdiff_t n = alphas.num_pixels();
    std::vector<Level> out(static_cast<size_t>(n) * K);
    const int threads = resolve_threads(num_threads);
#pragma omp parallel num_threads(threads)
    {
        std::vector<double> rem(K);
        std::vector<char> taken(K);
#pragma omp for schedule(static)
        for (std::ptrdiff_t p = 0; p < n; ++p) {
            const double* a = alphas.pixel(p);
            Level* q = out.data() + p * K;
            double total = 0;
            for (int k = 0; k < K; ++k) {
                const double v = a[k] * top;
                const double f = std::floor(v);
                rem[k] = v - f;
                q[k] = static_cast<Level>(std::clamp(f, 0.0, top));
                total += f;
                taken[k] = 0;
            }
            const int missing = static_cast<int>(std::nearbyint(top - total));
            for (int j = 0; j < std::min(missing, K); ++j) {
                int best = -1;
                for (int k = 0; k < K; ++k)
                    if (!taken[k] && (best < 0 || rem[k] > rem[best])) best = k;
                taken[best] = 1;
                ++q[best];
            }
        }
    }
    return out;
}

template <class Level>
BasicOverStack<Level> over_levels(const ImageView& alphas, const std::vector<int>& order,
                                  int num_threads) {
    constexpr double top = std::numeric_limits<Level>::max();
    check_alphas(alphas, "over_alphas");
    const int K = alphas.channels;
    check_order(order, K, "over_alphas");
    const std::ptrdiff_t n = alphas.num_pixels();
    BasicOverStack<Level> out;
    out.levels.resize(static_cast<size_t>(n) * K);
    out.effective.resize(static_cast<size_t>(n) * K);
    const int threads = resolve_threads(num_threads);
#pragma omp parallel for schedule(static) num_threads(threads)
    for (std::ptrdiff_t p = 0; p < n; ++p) {
        const double* a = alphas.pixel(p);
        double remaining = 1.0;
        for (int t = 0; t < K; ++t) {
            double b = 1.0;
            if (t < K - 1) {
                b = remaining > 0 ? a[order[t]] / remaining : 0.0;
                b = std::clamp(b, 0.0, 1.0);
            }
            const double level = std::nearbyint(b * top);  // half to even, as numpy
            out.levels[p * K + t] = static_cast<Level>(level);
            const double bq = level / top;
            out.effective[p * K + t] = bq * remaining;
            remaining = remaining * (1.0 - bq);
        }
    }
    return out;
}

template <class Level, class Color>
std::vector<Level> rgba_levels(const ImageView& image, const ImageView& weights,
                               const Level* levels, const Color* colors,
                               const std::vector<int>& order, int num_threads) {
    constexpr double top = std::numeric_limits<Level>::max();
    check_projection_inputs(image, weights, "rgba_layers");
    check_finite(colors, weights.num_pixels() * weights.channels * 3, "rgba_layers", "colors");
    const int K = weights.channels;
    check_order(order, K, "rgba_layers");
    const std::ptrdiff_t n = weights.num_pixels();
    std::vector<Level> out(static_cast<size_t>(n) * K * 4);
    const int threads = resolve_threads(num_threads);
#pragma omp parallel num_threads(threads)
    {
        std::vector<double> c(static_cast<size_t>(K) * 3), scratch(static_cast<size_t>(2 * K));
#pragma omp for schedule(static)
        for (std::ptrdiff_t p = 0; p < n; ++p) {
            for (int t = 0; t < K; ++t)
                for (int ch = 0; ch < 3; ++ch)
                    c[t * 3 + ch] = colors[(p * K + order[t]) * 3 + ch];
            project_pixel_colors(weights.pixel(p), K, image.pixel(p), c.data(), scratch.data());
            for (int t = 0; t < K; ++t) {
                Level* o = out.data() + (t * n + p) * 4;
                for (int ch = 0; ch < 3; ++ch)
                    o[ch] = static_cast<Level>(
                        std::nearbyint(std::clamp(c[t * 3 + ch], 0.0, 1.0) * top));
                o[3] = levels[p * K + t];
            }
        }
    }
    return out;
}

template <class Level>
std::vector<double> composite_levels(const Level* rgba, int K, int height, int width,
                                     int num_threads) {
    constexpr double top = std::numeric_limits<Level>::max();
    if (K < 1 || height < 1 || width < 1)
        throw std::invalid_argument("composite_over: needs at least one layer of at least 1 x 1 "
                                    "pixels, got " + std::to_string(K) + " layers of " +
                                    std::to_string(height) + " x " + std::to_string(width));
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(height) * width;
    std::vector<double> out(static_cast<size_t>(n) * 3);
    const int threads = resolve_threads(num_threads);
#pragma omp parallel for schedule(static) num_threads(threads)
    for (std::ptrdiff_t p = 0; p < n; ++p) {
        double o[3] = {0.0, 0.0, 0.0};
        for (int t = K - 1; t >= 0; --t) {
            const Level* v = rgba + (t * n + p) * 4;
            const double a = v[3] / top;
            for (int ch = 0; ch < 3; ++ch) o[ch] = a * (v[ch] / top) + (1.0 - a) * o[ch];
        }
        for (int ch = 0; ch < 3; ++ch) out[p * 3 + ch] = o[ch];
    }
    return out;
}

}  // namespace

std::vector<std::uint8_t> quantize_alphas(const ImageView& alphas, int num_threads) {
    return quantize_levels<std::uint8_t>(alphas, num_threads);
}

std::vector<std::uint16_t> quantize_alphas16(const ImageView& alphas, int num_threads) {
    return quantize_levels<std::uint16_t>(alphas, num_threads);
}

OverStack over_alphas(const ImageView& alphas, const std::vector<int>& order, int num_threads) {
    return over_levels<std::uint8_t>(alphas, order, num_threads);
}

OverStack16 over_alphas16(const ImageView& alphas, const std::vector<int>& order,
                          int num_threads) {
    return over_levels<std::uint16_t>(alphas, order, num_threads);
}

std::vector<std::uint8_t> rgba_layers(const ImageView& image, const ImageView& weights,
                                      const std::uint8_t* levels, const double* colors,
                                      const std::vector<int>& order, int num_threads) {
    return rgba_levels(image, weights, levels, colors, order, num_threads);
}

std::vector<std::uint16_t> rgba_layers16(const ImageView& image, const ImageView& weights,
                                         const std::uint16_t* levels, const double* colors,
                                         const std::vector<int>& order, int num_threads) {
    return rgba_levels(image, weights, levels, colors, order, num_threads);
}

std::vector<std::uint8_t> rgba_layers(const ImageView& image, const ImageView& weights,
                                      const std::uint8_t* levels, const float* colors,
                                      const std::vector<int>& order, int num_threads) {
    return rgba_levels(image, weights, levels, colors, order, num_threads);
}

std::vector<std::uint16_t> rgba_layers16(const ImageView& image, const ImageView& weights,
                                         const std::uint16_t* levels, const float* colors,
                                         const std::vector<int>& order, int num_threads) {
    return rgba_levels(image, weights, levels, colors, order, num_threads);
}

std::vector<double> composite_over(const std::uint8_t* rgba, int K, int height, int width,
                                   int num_threads) {
    return composite_levels(rgba, K, height, width, num_threads);
}

std::vector<double> composite_over16(const std::uint16_t* rgba, int K, int height, int width,
                                     int num_threads) {
    return composite_levels(rgba, K, height, width, num_threads);
}

}  // namespace sss
