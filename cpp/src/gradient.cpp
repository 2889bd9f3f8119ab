#include "sss/gradient.hpp"

#include <cmath>

namespace sss {

namespace {

constexpr int kTaps = 13, kHalf = 6;
constexpr double kPrefilter[kTaps] = {0.0000, 0.0007, 0.0071, 0.0374, 0.1126, 0.2119, 0.2605,
                                      0.2119, 0.1126, 0.0374, 0.0071, 0.0007, 0.0000};
constexpr double kDerivative[kTaps] = {0.0001, 0.0019, 0.0142, 0.0509, 0.0963, 0.0878, 0.0000,
                                       -0.0878, -0.0963, -0.0509, -0.0142, -0.0019, -0.0001};

// Convolution of `count` lines of length `len` (element i of line l at
// in[l * line_step + i * step]) with a symmetric (sign +1) or antisymmetric
// (sign -1) 13-tap kernel, borders replicated. Convolution is correlation
// with the reversed kernel; the sums pair the taps around the centre as
// scipy.ndimage's correlate1d does for (anti)symmetric kernels.
void convolve_lines(const double* in, double* out, int count, int len, std::ptrdiff_t line_step,
                    std::ptrdiff_t step, const double* kernel, int sign) {
    double fw[kTaps];
    for (int t = 0; t < kTaps; ++t) fw[t] = kernel[kTaps - 1 - t];
    const double* c = fw + kHalf;
    std::vector<double> line(static_cast<std::size_t>(len + 2 * kHalf));
    for (int l = 0; l < count; ++l) {
        const double* src = in + l * line_step;
        for (int i = 0; i < len + 2 * kHalf; ++i) {
            int j = i - kHalf;
            j = j < 0 ? 0 : (j >= len ? len - 1 : j);
            line[static_cast<std::size_t>(i)] = src[j * step];
        }
        double* dst = out + l * line_step;
        for (int i = 0; i < len; ++i) {
            const double* x = line.data() + i + kHalf;
            double v = x[0] * c[0];
            if (sign > 0)
                for (int j = -kHalf; j < 0; ++j) v += (x[j] + x[-j]) * c[j];
            else
                for (int j = -kHalf; j < 0; ++j) v += (x[j] - x[-j]) * c[j];
            dst[i * step] = v;
        }
    }
}

}  // namespace

std::vector<double> image_gradient(const ImageView& image) {
    check_image(image, "image_gradient", 0);
    const int h = image.height, w = image.width, nc = image.channels;
    const std::ptrdiff_t n = image.num_pixels();
    std::vector<double> gx2(static_cast<std::size_t>(n), 0.0), gy2(gx2);
    std::vector<double> ch(static_cast<std::size_t>(n)), tmp(ch), g(ch);
    for (int c = 0; c < nc; ++c) {
        for (std::ptrdiff_t p = 0; p < n; ++p) ch[static_cast<std::size_t>(p)] = image.data[p * nc + c];
        // gy: derivative down the columns, prefilter along the rows
        convolve_lines(ch.data(), tmp.data(), w, h, 1, w, kDerivative, -1);
        convolve_lines(tmp.data(), g.data(), h, w, w, 1, kPrefilter, 1);
        for (std::ptrdiff_t p = 0; p < n; ++p) gy2[p] += g[p] * g[p];
        // gx: prefilter down the columns, derivative along the rows
        convolve_lines(ch.data(), tmp.data(), w, h, 1, w, kPrefilter, 1);
        convolve_lines(tmp.data(), g.data(), h, w, w, 1, kDerivative, -1);
        for (std::ptrdiff_t p = 0; p < n; ++p) gx2[p] += g[p] * g[p];
    }
    std::vector<double> out(static_cast<std::size_t>(n));
    for (std::ptrdiff_t p = 0; p < n; ++p) out[p] = std::sqrt(gx2[p] + gy2[p]);
    return out;
}

}  // namespace sss
