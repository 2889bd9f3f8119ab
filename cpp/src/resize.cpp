// Pillow's resampling (libImaging/Resample.c) for 32-bit float images.
#include "sss/resize.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "sss/parallel.hpp"

namespace sss {

namespace {

double bicubic(double x) {
    constexpr double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

double bilinear(double x) {
    if (x < 0.0) x = -x;
    if (x < 1.0) return 1.0 - x;
    return 0.0;
}

struct Coeffs {
    int ksize = 0;
    std::vector<int> bounds;  // xmin, count per output
    std::vector<double> k;    // ksize per output
};

Coeffs precompute(int in_size, int out_size, ResizeFilter filter) {
    double (*fn)(double) = filter == ResizeFilter::Bicubic ? bicubic : bilinear;
    const double support_base = filter == ResizeFilter::Bicubic ? 2.0 : 1.0;
    const float in0 = 0.0f, in1 = static_cast<float>(in_size);
    const double scale = static_cast<double>(in1 - in0) / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    const double support = support_base * filterscale;
    Coeffs c;
    c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
    c.bounds.resize(static_cast<std::size_t>(out_size) * 2);
    c.k.assign(static_cast<std::size_t>(out_size) * c.ksize, 0.0);
    for (int xx = 0; xx < out_size; ++xx) {
        const double center = in0 + (xx + 0.5) * scale;
        double ww = 0.0;
        const double ss = 1.0 / filterscale;
        int xmin = static_cast<int>(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = static_cast<int>(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        double* k = &c.k[static_cast<std::size_t>(xx) * c.ksize];
        for (int x = 0; x < xmax; ++x) {
            const double w = fn((x + xmin - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        for (int x = 0; x < xmax; ++x)
            if (ww != 0.0) k[x] /= ww;
        c.bounds[2 * xx] = xmin;
        c.bounds[2 * xx + 1] = xmax;
    }
    return c;
}

}  // namespace

std::vector<double> resize_image(const ImageView& image, int out_height, int out_width,
                                 ResizeFilter filter, int num_threads) {
    const int threads = resolve_threads(num_threads);
    const RowResizer rows(image, out_height, out_width, filter, threads);
    const std::size_t stride = static_cast<std::size_t>(out_width) * image.channels;
    std::vector<double> out(static_cast<std::size_t>(out_height) * stride);
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int yy = 0; yy < out_height; ++yy) rows.row(yy, out.data() + yy * stride);
    return out;
}

std::vector<double> resize_image_clipped(const ImageView& image, int out_height, int out_width,
                                         ResizeFilter filter, int num_threads) {
    std::vector<double> out = resize_image(image, out_height, out_width, filter, num_threads);
    for (double& v : out) v = std::min(std::max(v, 0.0), 1.0);
    return out;
}

RowResizer::RowResizer(const ImageView& image, int out_height, int out_width,
                       ResizeFilter filter, int num_threads)
    : channels_(image.channels) {
    check_image(image, "resize_image", 0);
    if (out_height < 1 || out_width < 1)
        throw std::invalid_argument("resize_image: output size must be at least 1 x 1, got " +
                                    std::to_string(out_height) + " x " +
                                    std::to_string(out_width));
    const int h = image.height, w = image.width, nc = image.channels;
    const bool horiz = out_width != w;
    vert_ = out_height != h;
    const Coeffs ch = precompute(w, out_width, filter);
    const Coeffs cv = precompute(h, out_height, filter);
    // the horizontal pass, over the rows the vertical pass reads (Pillow's order)
    int first = 0, rows = h;
    vbounds_ = cv.bounds;
    if (horiz && vert_) {
        first = cv.bounds[0];
        rows = cv.bounds[2 * out_height - 2] + cv.bounds[2 * out_height - 1] - first;
        for (int i = 0; i < out_height; ++i) vbounds_[2 * i] -= first;
    }
    vk_ = cv.k;
    vksize_ = cv.ksize;
    src_width_ = horiz ? out_width : w;
    src_.resize(static_cast<std::size_t>(rows) * src_width_ * nc);
    const int threads = resolve_threads(num_threads);
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int y = 0; y < rows; ++y) {
        const double* row = image.data + static_cast<std::size_t>(y + first) * w * nc;
        float* dst = src_.data() + static_cast<std::size_t>(y) * src_width_ * nc;
        if (!horiz) {
            for (int i = 0; i < w * nc; ++i) dst[i] = static_cast<float>(row[i]);
            continue;
        }
        for (int xx = 0; xx < out_width; ++xx) {
            const int xmin = ch.bounds[2 * xx], xmax = ch.bounds[2 * xx + 1];
            const double* k = &ch.k[static_cast<std::size_t>(xx) * ch.ksize];
            for (int c = 0; c < nc; ++c) {
                double ss = 0.0;  // the float32 plane of resize_image, then the same sum
                for (int x = 0; x < xmax; ++x)
                    ss += static_cast<float>(row[(x + xmin) * nc + c]) * k[x];
                dst[xx * nc + c] = static_cast<float>(ss);
            }
        }
    }
}

void RowResizer::row(int yy, double* out) const {
    const int nc = channels_;
    const std::size_t stride = static_cast<std::size_t>(src_width_) * nc;
    if (!vert_) {
        const float* src = src_.data() + static_cast<std::size_t>(yy) * stride;
        for (std::size_t i = 0; i < stride; ++i) out[i] = src[i];
        return;
    }
    const int ymin = vbounds_[2 * yy], ymax = vbounds_[2 * yy + 1];
    const double* k = &vk_[static_cast<std::size_t>(yy) * vksize_];
    const float* base = src_.data() + static_cast<std::size_t>(ymin) * stride;
    for (std::size_t i = 0; i < stride; ++i) {
        double ss = 0.0;
        for (int y = 0; y < ymax; ++y) ss += base[static_cast<std::size_t>(y) * stride + i] * k[y];
        out[i] = static_cast<float>(ss);
    }
}

void working_shape(int height, int width, long long max_pixels, int& out_height, int& out_width) {
    if (max_pixels < 1)
        throw std::invalid_argument("working_shape: max_pixels must be >= 1, got " +
                                    std::to_string(max_pixels));
    if (static_cast<long long>(height) * width <= max_pixels) {
        out_height = height;
        out_width = width;
        return;
    }
    const double s = std::sqrt(static_cast<double>(max_pixels) /
                               (static_cast<double>(height) * static_cast<double>(width)));
    out_height = std::max(1, static_cast<int>(std::floor(height * s)));
    out_width = std::max(1, static_cast<int>(std::floor(width * s)));
}

}  // namespace sss
