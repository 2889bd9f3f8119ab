#include "sss/multilevel.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "sss/colors.hpp"
#include "sss/parallel.hpp"
#include "sss/resize.hpp"

namespace sss {

namespace {

// Separable box mean along one axis with clipped windows: `count` lines of
// `n` samples, sample i of line l at x[l * line_stride + i * step], C channels.
void box_axis(const double* in, double* out, int lines, int n, std::ptrdiff_t line_stride,
              std::ptrdiff_t step, int C, int r, int threads) {
#pragma omp parallel num_threads(threads)
    {
        std::vector<double> csum(static_cast<size_t>(n + 1) * C);
#pragma omp for schedule(static)
        for (int l = 0; l < lines; ++l) {
            const double* src = in + l * line_stride;
            double* dst = out + l * line_stride;
            std::fill(csum.begin(), csum.begin() + C, 0.0);
            for (int i = 0; i < n; ++i)
                for (int c = 0; c < C; ++c)
                    csum[(i + 1) * C + c] = csum[i * C + c] + src[i * step + c];
            for (int i = 0; i < n; ++i) {
                const int lo = std::max(i - r, 0), hi = std::min(i + r + 1, n);
                const double inv = 1.0 / (hi - lo);
                for (int c = 0; c < C; ++c)
                    dst[i * step + c] = (csum[hi * C + c] - csum[lo * C + c]) * inv;
            }
        }
    }
}

}  // namespace

std::vector<double> box_mean(const ImageView& x, int radius) {
    check_image(x, "box_mean", 0);
    if (radius < 0) throw std::invalid_argument("box_mean: radius must be >= 0");
    const int H = x.height, W = x.width, C = x.channels;
    const size_t n = static_cast<size_t>(H) * W * C;
    std::vector<double> tmp(n), out(n);
    const int threads = (n < (1u << 16)) ? 1 : resolve_threads(0);
    box_axis(x.data, tmp.data(), H, W, static_cast<std::ptrdiff_t>(W) * C, C, C, radius, threads);
    box_axis(tmp.data(), out.data(), W, H, C, static_cast<std::ptrdiff_t>(W) * C, C, radius,
             threads);
    return out;
}

std::vector<float> guided_upsample(const ImageView& layers, const ImageView& guide_low,
                                   const ImageView& guide, const GuidedUpsampleParams& params) {
    check_image(layers, "guided_upsample: layers", 0);
    check_image(guide_low, "guided_upsample: guide_low", 3);
    check_image(guide, "guided_upsample: guide", 3);
    if (layers.height != guide_low.height || layers.width != guide_low.width)
        throw std::invalid_argument("guided_upsample: layers and guide_low differ in size");
    if (params.radius < 0) throw std::invalid_argument("guided_upsample: radius must be >= 0");
    if (!(params.eps > 0) || !std::isfinite(params.eps))
        throw std::invalid_argument("guided_upsample: eps must be positive and finite");
    const int h = layers.height, w = layers.width, K = layers.channels;
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(h) * w;
    const int r = params.radius;
    const int threads = resolve_threads(params.num_threads);

    // Window statistics at the low resolution: E[I] (3), E[I I^T] (6), E[p] (K), E[I p] (3K).
    const int S = 3 + 6 + K + 3 * K;
    std::vector<double> raw(static_cast<size_t>(n) * S);
    for (std::ptrdiff_t p = 0; p < n; ++p) {
        const double* I = guide_low.pixel(p);
        const double* a = layers.pixel(p);
        double* s = raw.data() + p * S;
        s[0] = I[0], s[1] = I[1], s[2] = I[2];
        s[3] = I[0] * I[0], s[4] = I[0] * I[1], s[5] = I[0] * I[2];
        s[6] = I[1] * I[1], s[7] = I[1] * I[2], s[8] = I[2] * I[2];
        for (int k = 0; k < K; ++k) {
            s[9 + k] = a[k];
            for (int c = 0; c < 3; ++c) s[9 + K + 3 * k + c] = I[c] * a[k];
        }
    }
    const std::vector<double> m = box_mean(ImageView{raw.data(), h, w, S}, r);

    // Per-window coefficients a (3 per layer) and b, then their window means.
    const int C = 4 * K;
    std::vector<double> ab(static_cast<size_t>(n) * C);
    for (std::ptrdiff_t p = 0; p < n; ++p) {
        const double* s = m.data() + p * S;
        const double mI[3] = {s[0], s[1], s[2]};
        const double e = params.eps;
        const double c00 = s[3] - mI[0] * mI[0] + e, c01 = s[4] - mI[0] * mI[1],
                     c02 = s[5] - mI[0] * mI[2], c11 = s[6] - mI[1] * mI[1] + e,
                     c12 = s[7] - mI[1] * mI[2], c22 = s[8] - mI[2] * mI[2] + e;
        // inverse of the symmetric positive definite 3 x 3 matrix by its adjugate
        const double i00 = c11 * c22 - c12 * c12, i01 = c02 * c12 - c01 * c22,
                     i02 = c01 * c12 - c02 * c11, i11 = c00 * c22 - c02 * c02,
                     i12 = c01 * c02 - c00 * c12, i22 = c00 * c11 - c01 * c01;
        const double inv_det = 1.0 / (c00 * i00 + c01 * i01 + c02 * i02);
        double* o = ab.data() + p * C;
        for (int k = 0; k < K; ++k) {
            const double mp = s[9 + k];
            const double v0 = s[9 + K + 3 * k + 0] - mI[0] * mp;
            const double v1 = s[9 + K + 3 * k + 1] - mI[1] * mp;
            const double v2 = s[9 + K + 3 * k + 2] - mI[2] * mp;
            const double a0 = (i00 * v0 + i01 * v1 + i02 * v2) * inv_det;
            const double a1 = (i01 * v0 + i11 * v1 + i12 * v2) * inv_det;
            const double a2 = (i02 * v0 + i12 * v1 + i22 * v2) * inv_det;
            o[3 * k + 0] = a0;
            o[3 * k + 1] = a1;
            o[3 * k + 2] = a2;
            o[3 * K + k] = mp - a0 * mI[0] - a1 * mI[1] - a2 * mI[2];
        }
    }
    const std::vector<double> coef = box_mean(ImageView{ab.data(), h, w, C}, r);

    // Full resolution: bilinear coefficients at the pixel centres, applied to the colours.
    const int H = guide.height, W = guide.width;
    std::vector<int> x0(W), x1(W);
    std::vector<double> fx(W);
    for (int x = 0; x < W; ++x) {
        double sx = (x + 0.5) * (static_cast<double>(w) / W) - 0.5;
        sx = std::clamp(sx, 0.0, static_cast<double>(w - 1));
        x0[x] = std::min(static_cast<int>(sx), std::max(w - 2, 0));
        x1[x] = std::min(x0[x] + 1, w - 1);
        fx[x] = sx - x0[x];
    }
    // The output (384 MB for 8 layers of a 12-megapixel photo) is zero-filled
    // a slice at a time with a cancellation check between slices, so that
    // Ctrl-C is not held up by one long fill (page faults on a loaded machine).
    const size_t total = static_cast<size_t>(H) * W * K;
    std::vector<float> out;
    out.reserve(total);
    constexpr size_t kFill = size_t{1} << 22;
    while (out.size() < total) {
        check_cancel();
        out.resize(std::min(total, out.size() + kFill));
    }
    // Rows in bands, with a cancellation check between bands (never inside
    // the parallel region); each pixel depends only on its inputs.
    // (16 rows of a 4000-pixel-wide photo: a few milliseconds, so Ctrl-C is
    // answered quickly even on a loaded machine)
    constexpr int kBand = 16;
    for (int y_begin = 0; y_begin < H; y_begin += kBand) {
        check_cancel();
        const int y_end = std::min(H, y_begin + kBand);
#pragma omp parallel num_threads(threads)
        {
            std::vector<double> q(K);
#pragma omp for schedule(static)
            for (int y = y_begin; y < y_end; ++y) {
                double sy = (y + 0.5) * (static_cast<double>(h) / H) - 0.5;
                sy = std::clamp(sy, 0.0, static_cast<double>(h - 1));
                const int y0 = std::min(static_cast<int>(sy), std::max(h - 2, 0));
                const int y1 = std::min(y0 + 1, h - 1);
                const double fy = sy - y0;
                const double* c0 = coef.data() + static_cast<std::ptrdiff_t>(y0) * w * C;
                const double* c1 = coef.data() + static_cast<std::ptrdiff_t>(y1) * w * C;
                for (int x = 0; x < W; ++x) {
                    const double* g = guide.pixel(static_cast<std::ptrdiff_t>(y) * W + x);
                    const double* a00 = c0 + static_cast<std::ptrdiff_t>(x0[x]) * C;
                    const double* a01 = c0 + static_cast<std::ptrdiff_t>(x1[x]) * C;
                    const double* a10 = c1 + static_cast<std::ptrdiff_t>(x0[x]) * C;
                    const double* a11 = c1 + static_cast<std::ptrdiff_t>(x1[x]) * C;
                    const double w00 = (1 - fx[x]) * (1 - fy), w01 = fx[x] * (1 - fy),
                                 w10 = (1 - fx[x]) * fy, w11 = fx[x] * fy;
                    double sum = 0, best_raw = -1e300;
                    int best = 0;
                    for (int k = 0; k < K; ++k) {
                        double v = 0;
                        for (int j : {3 * k, 3 * k + 1, 3 * k + 2}) {
                            const double cj = w00 * a00[j] + w01 * a01[j] + w10 * a10[j] + w11 * a11[j];
                            v += cj * g[j - 3 * k];
                        }
                        const int jb = 3 * K + k;
                        v += w00 * a00[jb] + w01 * a01[jb] + w10 * a10[jb] + w11 * a11[jb];
                        if (v > best_raw) best_raw = v, best = k;
                        if (params.clip) v = std::clamp(v, 0.0, 1.0);
                        q[k] = v;
                        sum += v;
                    }
                    float* o = out.data() + (static_cast<std::ptrdiff_t>(y) * W + x) * K;
                    if (params.clip) {
                        if (sum > 1e-12) {
                            for (int k = 0; k < K; ++k) o[k] = static_cast<float>(q[k] / sum);
                        } else {  // every layer clipped to 0: the largest raw value takes the pixel
                            for (int k = 0; k < K; ++k) o[k] = 0.0f;
                            o[best] = 1.0f;
                        }
                    } else {
                        for (int k = 0; k < K; ++k) o[k] = static_cast<float>(q[k]);
                    }
                }
            }
        }
    }
    return out;
}

void clean_alphas(float* alphas, std::ptrdiff_t n, int k, double cutoff) {
    if (!(cutoff >= 0.0 && cutoff <= 0.25))
        throw std::invalid_argument("clean_alphas: cutoff must be in [0, 0.25], got " +
                                    std::to_string(cutoff));
    if (k < 1 || n < 0) throw std::invalid_argument("clean_alphas: need n >= 0 and k >= 1");
    const float t = static_cast<float>(cutoff);
    const float scale = static_cast<float>(1.0 - 2.0 * cutoff);
    for (std::ptrdiff_t p = 0; p < n; ++p) {
        float* a = alphas + p * k;
        float s = 0.0f;
        for (int j = 0; j < k; ++j) {
            a[j] = std::min(std::max((a[j] - t) / scale, 0.0f), 1.0f);
            s += a[j];
        }
        if (s > 0.0f)
            for (int j = 0; j < k; ++j) a[j] /= s;
    }
}

namespace {

const ImageView& checked_colors(const ImageView& colors, int height, int width, int K) {
    if (colors.data == nullptr || K < 1 || colors.channels != 3 * K || colors.height < 1 ||
        colors.width < 1)
        throw std::invalid_argument("upsample_layer_colors: colors must be h x w x K x 3 for the "
                                    "K layers of the alphas");
    if (height < 1 || width < 1)
        throw std::invalid_argument("upsample_layer_colors: the photo must have at least one "
                                    "pixel");
    check_finite(colors.data, colors.num_pixels() * colors.channels, "upsample_layer_colors",
                 "colors");
    return colors;
}

}  // namespace

LayerColorUpsampler::LayerColorUpsampler(const ImageView& colors, int height, int width,
                                         int num_layers, int num_threads)
    : height_(height), width_(width), layers_(num_layers),
      up_(checked_colors(colors, height, width, num_layers), height, width,
          ResizeFilter::Bilinear, resolve_threads(num_threads)) {}

void LayerColorUpsampler::rows(int y0, const ImageView& image_rows, const ImageView& alpha_rows,
                               double* out, int num_threads) const {
    rows_impl(y0, image_rows, alpha_rows, out, num_threads);
}

void LayerColorUpsampler::rows(int y0, const ImageView& image_rows, const ImageView& alpha_rows,
                               float* out, int num_threads) const {
    rows_impl(y0, image_rows, alpha_rows, out, num_threads);
}

template <class Out>
void LayerColorUpsampler::rows_impl(int y0, const ImageView& image_rows,
                                    const ImageView& alpha_rows, Out* out,
                                    int num_threads) const {
    const int K = layers_, W = width_, n = image_rows.height;
    if (image_rows.channels != 3 || image_rows.width != W || alpha_rows.channels != K ||
        alpha_rows.width != W || alpha_rows.height != n)
        throw std::invalid_argument("upsample_layer_colors: the rows of the image (n x W x 3) "
                                    "and of the alphas (n x W x K) must match the photo's "
                                    "width and the colours' layers");
    if (y0 < 0 || n < 0 || y0 + n > height_)
        throw std::invalid_argument("upsample_layer_colors: rows " + std::to_string(y0) + " to " +
                                    std::to_string(y0 + n) + " are outside the photo's " +
                                    std::to_string(height_));
    if (n == 0) return;
    check_projection_inputs(image_rows, alpha_rows, "upsample_layer_colors");
    const std::size_t stride = static_cast<std::size_t>(W) * K * 3;
    // every layer's colours at once, one output row at a time, projected while
    // the row is in cache: no full-size copy per layer (the values are those of
    // resize_image per layer followed by project_layer_colors, bitwise)
    const int threads = resolve_threads(num_threads);
#pragma omp parallel num_threads(threads)
    {
        std::vector<double> bp(static_cast<size_t>(2 * K));
        std::vector<double> buffer(std::is_same_v<Out, double> ? 0 : stride);
#pragma omp for schedule(static)
        for (int r = 0; r < n; ++r) {
            double* row = nullptr;
            if constexpr (std::is_same_v<Out, double>)
                row = out + static_cast<std::size_t>(r) * stride;
            else
                row = buffer.data();
            up_.row(y0 + r, row);
            for (int x = 0; x < W; ++x) {
                const std::ptrdiff_t p = static_cast<std::ptrdiff_t>(r) * W + x;
                project_pixel_colors(alpha_rows.pixel(p), K, image_rows.pixel(p), row + x * K * 3,
                                     bp.data());
            }
            if constexpr (!std::is_same_v<Out, double>) {
                Out* dst = out + static_cast<std::size_t>(r) * stride;
                for (std::size_t i = 0; i < stride; ++i) dst[i] = static_cast<Out>(row[i]);
            }
        }
    }
}

std::vector<double> upsample_layer_colors(const ImageView& colors, const ImageView& image,
                                          const ImageView& alphas, int num_threads) {
    const int K = alphas.channels;
    if (image.channels != 3 || image.height != alphas.height || image.width != alphas.width)
        throw std::invalid_argument("upsample_layer_colors: image must be H x W x 3 like the "
                                    "alphas");
    const LayerColorUpsampler up(colors, image.height, image.width, K, num_threads);
    std::vector<double> out(static_cast<size_t>(image.height) * image.width * K * 3);
    up.rows(0, image, alphas, out.data(), num_threads);
    return out;
}

}  // namespace sss
