// Layer colours for K soft layers: Levin et al.'s closed-form colour
// estimation generalised to K layers, solved matrix-free with block-Jacobi
// preconditioned CG (sss/solvers), then projected per pixel onto the compositing constraint.
#include "sss/colors.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "sss/parallel.hpp"
#include "sss/solvers.hpp"

namespace sss {
namespace {

void check_pair(const ImageView& image, const ImageView& alphas, const char* what) {
    check_image(image, what, 3);
    check_image(alphas, what, 0);
    if (alphas.height != image.height || alphas.width != image.width)
        throw std::invalid_argument(std::string(what) + ": alphas are " +
                                    std::to_string(alphas.height) + " x " +
                                    std::to_string(alphas.width) + " but the image is " +
                                    std::to_string(image.height) + " x " +
                                    std::to_string(image.width));
}

// Fixed pixel blocks of the parallel loops and of pcg's sums (results do not
// depend on the thread count).
constexpr int kBlocks = 64;

// Push-pull fill: per layer, alpha-weighted colours averaged down an image
// pyramid and interpolated back up wherever the layer has little weight.
void push_pull_init(const double* image, const double* a, int H, int W, int K, int threads,
                    double* x) {
    struct Level {
        int h, w;
        std::vector<double> wt, sum;  // h*w*K, h*w*K*3
    };
    std::vector<Level> lv;
    {
        Level l0{H, W, {}, {}};
        const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(H) * W;
        l0.wt.assign(a, a + n * K);
        l0.sum.resize(static_cast<size_t>(n * K * 3));
#pragma omp parallel for schedule(static) num_threads(threads)
        for (std::ptrdiff_t p = 0; p < n; ++p)
            for (int k = 0; k < K; ++k)
                for (int c = 0; c < 3; ++c)
                    l0.sum[(p * K + k) * 3 + c] = a[p * K + k] * image[p * 3 + c];
        lv.push_back(std::move(l0));
    }
    while (lv.back().h > 1 || lv.back().w > 1) {
        const Level& f = lv.back();
        Level g{(f.h + 1) / 2, (f.w + 1) / 2, {}, {}};
        g.wt.assign(static_cast<size_t>(g.h) * g.w * K, 0.0);
        g.sum.assign(static_cast<size_t>(g.h) * g.w * K * 3, 0.0);
        for (int y = 0; y < f.h; ++y)
            for (int xx = 0; xx < f.w; ++xx) {
                const std::ptrdiff_t p = static_cast<std::ptrdiff_t>(y) * f.w + xx;
                const std::ptrdiff_t q = static_cast<std::ptrdiff_t>(y / 2) * g.w + xx / 2;
                for (int k = 0; k < K; ++k) {
                    g.wt[q * K + k] += f.wt[p * K + k];
                    for (int c = 0; c < 3; ++c)
                        g.sum[(q * K + k) * 3 + c] += f.sum[(p * K + k) * 3 + c];
                }
            }
        lv.push_back(std::move(g));
    }
    // Top level: the layer's mean colour (or mid-grey for an empty layer).
    std::vector<double> col;
    {
        const Level& t = lv.back();
        col.resize(static_cast<size_t>(K) * 3);
        for (int k = 0; k < K; ++k)
            for (int c = 0; c < 3; ++c)
                col[k * 3 + c] = t.wt[k] > 1e-12 ? t.sum[k * 3 + c] / t.wt[k] : 0.5;
    }
    for (int li = static_cast<int>(lv.size()) - 2; li >= 0; --li) {
        const Level& f = lv[li];
        const Level& g = lv[li + 1];
        std::vector<double> out(static_cast<size_t>(f.h) * f.w * K * 3);
#pragma omp parallel for schedule(static) num_threads(threads)
        for (int y = 0; y < f.h; ++y) {
            // bilinear sample of the coarser level at this pixel's centre
            const double gy = std::clamp((y + 0.5) / 2.0 - 0.5, 0.0, g.h - 1.0);
            const int y0 = static_cast<int>(gy), y1 = std::min(y0 + 1, g.h - 1);
            const double fy = gy - y0;
            for (int xx = 0; xx < f.w; ++xx) {
                const double gx = std::clamp((xx + 0.5) / 2.0 - 0.5, 0.0, g.w - 1.0);
                const int x0 = static_cast<int>(gx), x1 = std::min(x0 + 1, g.w - 1);
                const double fx = gx - x0;
                const std::ptrdiff_t p = static_cast<std::ptrdiff_t>(y) * f.w + xx;
                const std::ptrdiff_t q00 = static_cast<std::ptrdiff_t>(y0) * g.w + x0;
                const std::ptrdiff_t q01 = static_cast<std::ptrdiff_t>(y0) * g.w + x1;
                const std::ptrdiff_t q10 = static_cast<std::ptrdiff_t>(y1) * g.w + x0;
                const std::ptrdiff_t q11 = static_cast<std::ptrdiff_t>(y1) * g.w + x1;
                for (int k = 0; k < K; ++k) {
                    const double wt = f.wt[p * K + k];
                    const double t = std::min(1.0, wt);
                    for (int c = 0; c < 3; ++c) {
                        const double parent =
                            (1 - fy) * ((1 - fx) * col[(q00 * K + k) * 3 + c] +
                                        fx * col[(q01 * K + k) * 3 + c]) +
                            fy * ((1 - fx) * col[(q10 * K + k) * 3 + c] +
                                  fx * col[(q11 * K + k) * 3 + c]);
                        const double own = wt > 1e-12 ? f.sum[(p * K + k) * 3 + c] / wt : 0.0;
                        out[(p * K + k) * 3 + c] = t * own + (1 - t) * parent;
                    }
                }
            }
        }
        col.swap(out);
    }
    std::copy(col.begin(), col.end(), x);
}

// min sum_k (c_k - c0_k)^2 s.t. sum_k a_k c_k = t, lo <= c_k <= hi, for one
// pixel and channel. a_k >= 0, S = sum a_k > 0, S lo <= t <= S hi. The
// constraint function g(lambda) = sum a_k clip(c0_k + lambda a_k) is
// nondecreasing and piecewise linear: locate its breakpoint interval.
void project_one(const double* a, int K, double t, double lo, double hi, double* c,
                 std::ptrdiff_t stride, double* bp) {
    // Most pixels: the minimiser on the plane sum_k a_k c_k = t, c_k + lam a_k,
    // already lies in the box and is then the answer (the problem is convex).
    {
        double sa2 = 0, sac = 0;
        for (int k = 0; k < K; ++k) {
            sa2 += a[k] * a[k];
            sac += a[k] * c[k * stride];
        }
        const double lam = (t - sac) / sa2;
        bool inside = sa2 > 0;
        for (int k = 0; k < K && inside; ++k) {
            const double v = c[k * stride] + lam * a[k];
            inside = a[k] == 0 || (v >= lo && v <= hi);
        }
        if (inside) {
            for (int k = 0; k < K; ++k) {
                double& ck = c[k * stride];
                ck = a[k] > 0 ? ck + lam * a[k] : std::clamp(ck, lo, hi);
            }
            return;
        }
    }
    int nb = 0;
    for (int k = 0; k < K; ++k) {
        if (a[k] > 0) {
            const double c0 = c[k * stride];
            bp[nb++] = (lo - c0) / a[k];
            bp[nb++] = (hi - c0) / a[k];
        }
    }
    auto g = [&](double lam) {
        double s = 0;
        for (int k = 0; k < K; ++k)
            if (a[k] > 0) s += a[k] * std::clamp(c[k * stride] + lam * a[k], lo, hi);
        return s;
    };
    std::sort(bp, bp + nb);
    double lam;
    if (g(bp[0]) >= t) {
        lam = bp[0];
    } else if (g(bp[nb - 1]) <= t) {
        lam = bp[nb - 1];
    } else {
        int lo_i = 0, hi_i = nb - 1;  // g(bp[lo_i]) < t < g(bp[hi_i])
        while (hi_i - lo_i > 1) {
            const int mid = (lo_i + hi_i) / 2;
            if (g(bp[mid]) < t) lo_i = mid; else hi_i = mid;
        }
        const double g0 = g(bp[lo_i]), g1 = g(bp[hi_i]);
        lam = bp[lo_i] + (bp[hi_i] - bp[lo_i]) * (t - g0) / (g1 - g0);
    }
    double s = 0, free2 = 0;
    for (int k = 0; k < K; ++k) {
        double& ck = c[k * stride];
        if (a[k] > 0) {
            const double v = ck + lam * a[k];
            ck = std::clamp(v, lo, hi);
            if (v > lo && v < hi) free2 += a[k] * a[k];
            s += a[k] * ck;
        } else {
            ck = std::clamp(ck, lo, hi);
        }
    }
    // Remove the last rounding error along the unclamped layers.
    if (free2 > 0) {
        const double mu = (t - s) / free2;
        for (int k = 0; k < K; ++k) {
            double& ck = c[k * stride];
            if (a[k] > 0 && ck > lo && ck < hi) ck = std::clamp(ck + mu * a[k], lo, hi);
        }
    }
}

constexpr int kCoarsestSide = 64;

// Preconditioned CG for the LayerColorOp system of `image` (H x W x 3), from
// and into x: the three channels in lockstep, block-Jacobi on each pixel's
// K x K block diag(d_p) + a_p a_p^T, fixed blocks of whole pixels. Returns
// the iterations run.
int run_pcg(const LayerColorOp& op, const double* image, double* x, int max_it, double tol,
            int threads, double& relres) {
    const std::ptrdiff_t n = op.num_pixels();
    const int K = op.num_layers();
    const std::ptrdiff_t m = op.rows();
    std::vector<double> b(static_cast<size_t>(m));
    op.rhs(image, b.data());
    const std::vector<double>& d = op.smoothness_diagonal();
    Eigen::VectorXd diag(n * K);
    for (std::ptrdiff_t i = 0; i < n * K; ++i) diag[i] = std::max(d[i], 1e-12);
    const BlockJacobi M(diag, Eigen::Map<const Eigen::VectorXd>(op.alphas(), n * K), 1.0,
                        K, 3, threads);
    CgParams cg;
    cg.tol = tol;
    cg.max_iterations = max_it;
    cg.num_threads = threads;
    cg.num_rhs = 3;
    cg.stop = CgStop::Lockstep;
    for (int blk = 0; blk <= kBlocks; ++blk) cg.blocks.push_back(n * blk / kBlocks * K * 3);
    const CgResult res = pcg(op, M, b.data(), x, cg);
    relres = res.relres;
    return res.iterations;
}

// Box-average 2x reduction of an h x w x ch array (odd edges average fewer pixels).
std::vector<double> downsample2(const double* src, int h, int w, int ch, int& h2, int& w2) {
    h2 = (h + 1) / 2;
    w2 = (w + 1) / 2;
    std::vector<double> out(static_cast<size_t>(h2) * w2 * ch, 0.0);
    std::vector<int> cnt(static_cast<size_t>(h2) * w2, 0);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const std::ptrdiff_t q = static_cast<std::ptrdiff_t>(y / 2) * w2 + x / 2;
            const std::ptrdiff_t p = static_cast<std::ptrdiff_t>(y) * w + x;
            ++cnt[q];
            for (int c = 0; c < ch; ++c) out[q * ch + c] += src[p * ch + c];
        }
    for (std::ptrdiff_t q = 0; q < static_cast<std::ptrdiff_t>(cnt.size()); ++q)
        for (int c = 0; c < ch; ++c) out[q * ch + c] /= cnt[q];
    return out;
}

// Bilinear 2x enlargement of an h2 x w2 x ch array to h x w (pixel centres aligned).
void upsample2(const double* src, int h2, int w2, int ch, int h, int w, double* out,
               int threads) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int y = 0; y < h; ++y) {
        const double gy = std::clamp((y + 0.5) / 2.0 - 0.5, 0.0, h2 - 1.0);
        const int y0 = static_cast<int>(gy), y1 = std::min(y0 + 1, h2 - 1);
        const double fy = gy - y0;
        for (int x = 0; x < w; ++x) {
            const double gx = std::clamp((x + 0.5) / 2.0 - 0.5, 0.0, w2 - 1.0);
            const int x0 = static_cast<int>(gx), x1 = std::min(x0 + 1, w2 - 1);
            const double fx = gx - x0;
            const double* a00 = src + (static_cast<std::ptrdiff_t>(y0) * w2 + x0) * ch;
            const double* a01 = src + (static_cast<std::ptrdiff_t>(y0) * w2 + x1) * ch;
            const double* a10 = src + (static_cast<std::ptrdiff_t>(y1) * w2 + x0) * ch;
            const double* a11 = src + (static_cast<std::ptrdiff_t>(y1) * w2 + x1) * ch;
            double* o = out + (static_cast<std::ptrdiff_t>(y) * w + x) * ch;
            for (int c = 0; c < ch; ++c)
                o[c] = (1 - fy) * ((1 - fx) * a00[c] + fx * a01[c]) +
                       fy * ((1 - fx) * a10[c] + fx * a11[c]);
        }
    }
}

// Cascadic solve: the same problem on a 2x smaller image gives the starting
// point (CG converges slowly over long distances where a layer is absent,
// and a coarse solution carries that far-field colour at a quarter of the
// cost). The coarsest level starts from the push-pull fill.
int solve_cascadic(const double* image, const double* a, int H, int W, int K,
                   const LayerColorParams& params, int threads, double* x, double& relres,
                   int& coarse_iterations) {
    if (std::min(H, W) >= 2 * kCoarsestSide) {
        int h2, w2;
        const std::vector<double> img2 = downsample2(image, H, W, 3, h2, w2);
        const std::vector<double> a2 = downsample2(a, H, W, K, h2, w2);
        std::vector<double> x2(static_cast<size_t>(h2) * w2 * K * 3);
        const int th2 = (static_cast<std::ptrdiff_t>(h2) * w2 * K < (1 << 16)) ? 1 : threads;
        double rr;
        coarse_iterations += solve_cascadic(img2.data(), a2.data(), h2, w2, K, params, th2,
                                            x2.data(), rr, coarse_iterations);
        upsample2(x2.data(), h2, w2, K * 3, H, W, x, threads);
    } else {
        push_pull_init(image, a, H, W, K, threads, x);
    }
    const LayerColorOp op(a, H, W, K, params.eps, threads);
    return run_pcg(op, image, x, params.max_iterations, params.tolerance, threads, relres);
}

}  // namespace

std::vector<double> normalize_alphas(const ImageView& alphas) {
    check_image(alphas, "normalize_alphas", 0);
    const std::ptrdiff_t n = alphas.num_pixels();
    const int K = alphas.channels;
    check_finite(alphas.data, n * K, "normalize_alphas", "alphas");
    std::vector<double> out(static_cast<size_t>(n * K));
#pragma omp parallel for schedule(static)
    for (std::ptrdiff_t p = 0; p < n; ++p) {
        const double* a = alphas.pixel(p);
        double* o = out.data() + p * K;
        double s = 0;
        for (int k = 0; k < K; ++k) {
            o[k] = std::clamp(a[k], 0.0, 1.0);
            s += o[k];
        }
        if (s > 1e-12) {
            for (int k = 0; k < K; ++k) o[k] /= s;
        } else {
            const int best = static_cast<int>(std::max_element(a, a + K) - a);
            for (int k = 0; k < K; ++k) o[k] = (k == best) ? 1.0 : 0.0;
        }
    }
    return out;
}

LayerColorOp::LayerColorOp(const double* alphas, int height, int width, int layers, double eps,
                           int num_threads)
    : a_(alphas), h_(height), w_(width), k_(layers),
      n_(static_cast<std::ptrdiff_t>(height) * width), threads_(resolve_threads(num_threads)) {
    const size_t nk = static_cast<size_t>(n_) * k_;
    wright_.assign(nk, 0.0);
    wdown_.assign(nk, 0.0);
    diag_.assign(nk, 0.0);
    const int K = k_, W = w_, H = h_;
#pragma omp parallel for schedule(static) num_threads(threads_)
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) {
            const std::ptrdiff_t p = static_cast<std::ptrdiff_t>(y) * W + x;
            for (int k = 0; k < K; ++k) {
                if (x + 1 < W) wright_[p * K + k] = eps + std::abs(a_[p * K + k] - a_[(p + 1) * K + k]);
                if (y + 1 < H) wdown_[p * K + k] = eps + std::abs(a_[p * K + k] - a_[(p + W) * K + k]);
            }
        }
#pragma omp parallel for schedule(static) num_threads(threads_)
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) {
            const std::ptrdiff_t p = static_cast<std::ptrdiff_t>(y) * W + x;
            for (int k = 0; k < K; ++k) {
                double d = wright_[p * K + k] + wdown_[p * K + k];
                if (x > 0) d += wright_[(p - 1) * K + k];
                if (y > 0) d += wdown_[(p - W) * K + k];
                diag_[p * K + k] = d;
            }
        }
}

void LayerColorOp::perform_op_pixels(const double* x, double* y, std::ptrdiff_t p_begin,
                                     std::ptrdiff_t p_end) const {
    const int K = k_, W = w_, H = h_;
    const std::ptrdiff_t stride = static_cast<std::ptrdiff_t>(W) * K * 3;
    for (std::ptrdiff_t p = p_begin; p < p_end; ++p) {
        const int row = static_cast<int>(p / W), col = static_cast<int>(p % W);
        const double* ap = a_ + p * K;
        double s[3] = {0, 0, 0};
        for (int l = 0; l < K; ++l)
            for (int c = 0; c < 3; ++c) s[c] += ap[l] * x[(p * K + l) * 3 + c];
        for (int k = 0; k < K; ++k) {
            const std::ptrdiff_t i = (p * K + k) * 3;
            double acc[3];
            for (int c = 0; c < 3; ++c) acc[c] = ap[k] * s[c] + diag_[p * K + k] * x[i + c];
            if (col + 1 < W) {
                const double w = wright_[p * K + k];
                for (int c = 0; c < 3; ++c) acc[c] -= w * x[i + K * 3 + c];
            }
            if (col > 0) {
                const double w = wright_[(p - 1) * K + k];
                for (int c = 0; c < 3; ++c) acc[c] -= w * x[i - K * 3 + c];
            }
            if (row + 1 < H) {
                const double w = wdown_[p * K + k];
                for (int c = 0; c < 3; ++c) acc[c] -= w * x[i + stride + c];
            }
            if (row > 0) {
                const double w = wdown_[(p - W) * K + k];
                for (int c = 0; c < 3; ++c) acc[c] -= w * x[i - stride + c];
            }
            for (int c = 0; c < 3; ++c) y[i + c] = acc[c];
        }
    }
}

void LayerColorOp::perform_op(const double* x, double* y) const {
    const std::ptrdiff_t n = n_;
#pragma omp parallel for schedule(static) num_threads(threads_)
    for (int b = 0; b < kBlocks; ++b)
        perform_op_pixels(x, y, n * b / kBlocks, n * (b + 1) / kBlocks);
}

void LayerColorOp::perform_op_rows(const double* x, double* y, std::ptrdiff_t begin,
                                   std::ptrdiff_t end) const {
    const std::ptrdiff_t stride = static_cast<std::ptrdiff_t>(k_) * 3;
    perform_op_pixels(x, y, begin / stride, end / stride);
}

void LayerColorOp::rhs(const double* image, double* b) const {
    const int K = k_;
    const std::ptrdiff_t n = n_;
#pragma omp parallel for schedule(static) num_threads(threads_)
    for (std::ptrdiff_t p = 0; p < n; ++p)
        for (int k = 0; k < K; ++k)
            for (int c = 0; c < 3; ++c) b[(p * K + k) * 3 + c] = a_[p * K + k] * image[p * 3 + c];
}

LayerColors estimate_layer_colors(const ImageView& image, const ImageView& alphas,
                                  const LayerColorParams& params) {
    check_pair(image, alphas, "estimate_layer_colors");
    if (!(params.eps > 0.0) || !std::isfinite(params.eps))
        throw std::invalid_argument("estimate_layer_colors: eps must be a finite value > 0");
    if (params.max_iterations < 0)
        throw std::invalid_argument("estimate_layer_colors: max_iterations must be >= 0");
    if (!(params.tolerance >= 0.0))
        throw std::invalid_argument("estimate_layer_colors: tolerance must be >= 0");
    const int H = image.height, W = image.width, K = alphas.channels;
    const std::ptrdiff_t n = image.num_pixels();
    check_finite(image.data, n * 3, "estimate_layer_colors", "image");
    // Small problems run serially: the 3 barriers per CG iteration cost more
    // than they save below ~64k unknowns per channel.
    const int threads = (n * K < (1 << 16)) ? 1 : resolve_threads(params.num_threads);

    const std::vector<double> a = normalize_alphas(alphas);
    const ImageView av{a.data(), H, W, K};
    LayerColors res;
    res.colors.resize(static_cast<size_t>(n) * K * 3);
    double* x = res.colors.data();
    res.iterations = solve_cascadic(image.data, a.data(), H, W, K, params, threads, x,
                                    res.relative_residual, res.coarse_iterations);
    project_layer_colors(image, av, x, threads);
    return res;
}

void check_projection(const ImageView& image, const ImageView& alphas, const double* colors,
                      const char* what) {
    check_projection_inputs(image, alphas, what);
    check_finite(colors, image.num_pixels() * alphas.channels * 3, what, "colors");
}

void check_projection_inputs(const ImageView& image, const ImageView& alphas, const char* what) {
    check_pair(image, alphas, what);
    const std::ptrdiff_t n = image.num_pixels();
    const int K = alphas.channels;
    check_finite(image.data, n * 3, what, "image");
    check_finite(alphas.data, n * K, what, "alphas");
    for (std::ptrdiff_t p = 0; p < n; ++p) {
        const double* a = alphas.pixel(p);
        double s = 0;
        for (int k = 0; k < K; ++k) {
            if (a[k] < 0)
                throw std::invalid_argument(std::string(what) +
                                            ": alphas must be >= 0 (normalise them first)");
            s += a[k];
        }
        if (!(s > 0))
            throw std::invalid_argument(std::string(what) + ": alphas sum to 0 at pixel " +
                                        std::to_string(p) + " (normalise them first)");
    }
}

void project_layer_colors(const ImageView& image, const ImageView& alphas, double* colors,
                          int num_threads) {
    check_projection(image, alphas, colors, "project_layer_colors");
    const std::ptrdiff_t n = image.num_pixels();
    const int K = alphas.channels;
    const int threads = resolve_threads(num_threads);
#pragma omp parallel num_threads(threads)
    {
        std::vector<double> bp(static_cast<size_t>(2 * K));
#pragma omp for schedule(static)
        for (std::ptrdiff_t p = 0; p < n; ++p)
            project_pixel_colors(alphas.pixel(p), K, image.data + p * 3, colors + p * K * 3,
                                 bp.data());
    }
}

void project_pixel_colors(const double* a, int K, const double* rgb, double* colors,
                          double* scratch) {
    double s = 0;
    for (int k = 0; k < K; ++k) s += a[k];
    for (int c = 0; c < 3; ++c) {
        const double t = rgb[c];
        const double lo = std::min(0.0, t / s), hi = std::max(1.0, t / s);
        project_one(a, K, t, lo, hi, colors + c, 3, scratch);
    }
}

}  // namespace sss
