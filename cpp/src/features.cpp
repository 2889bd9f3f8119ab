// Stage 1 (docs/algorithm.md): feature preprocessing (clip, guided filter, PCA, rescale).
#include "sss/features.hpp"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "sss/parallel.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace sss {
namespace {

// Index of position i in a signal of length n padded by repeating the edge
// samples (MATLAB imfilter/padarray 'replicate', which imguidedfilter uses).
inline int edge(int i, int n) { return i < 0 ? 0 : (i >= n ? n - 1 : i); }

// Top-k eigenvectors (as columns, largest eigenvalue first) of a symmetric
// matrix, each with its largest-magnitude entry made positive.
Eigen::MatrixXd top_eigenvectors(const Eigen::MatrixXd& C, int k) {
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(C);
    if (es.info() != Eigen::Success)
        throw std::runtime_error("preprocess_features: eigendecomposition of the feature "
                                 "covariance failed");
    const int d = static_cast<int>(C.rows());
    Eigen::MatrixXd V(d, k);
    for (int j = 0; j < k; ++j) {
        V.col(j) = es.eigenvectors().col(d - 1 - j);  // eigenvalues are ascending
        Eigen::Index imax = 0;
        V.col(j).cwiseAbs().maxCoeff(&imax);
        if (V(imax, j) < 0) V.col(j) = -V.col(j);
    }
    return V;
}

// The n rows in blocks of kRowBlock (the last one shorter): the blocks, and
// so every sum over them, do not depend on the thread count.
constexpr std::ptrdiff_t kRowBlock = 4096;
inline int row_block_count(std::ptrdiff_t n) {
    return static_cast<int>((n + kRowBlock - 1) / kRowBlock);
}

// Calls f(i, begin, end) for every row block i on a team of `nthreads`.
template <class F>
void for_row_blocks(std::ptrdiff_t n, int nthreads, F&& f) {
    const int blocks = row_block_count(n);
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (int i = 0; i < blocks; ++i) {
        const std::ptrdiff_t b = i * kRowBlock, e = std::min(n, b + kRowBlock);
        f(i, b, e);
    }
}

// Centre the columns of X in place and return their covariance (1/N
// normalisation), summing the row blocks' parts in block order. Threads work
// on row blocks; Eigen's own GEMM threading is
// not used (inside a parallel region it runs serially), so `nthreads` is the
// whole story and oversubscribed machines do not stall in GEMM barriers.
Eigen::MatrixXd center_and_covariance(Eigen::MatrixXd& X, int nthreads) {
    const std::ptrdiff_t n = X.rows();
    const Eigen::Index d = X.cols();
    const Eigen::RowVectorXd mean = X.colwise().mean();
    std::vector<Eigen::MatrixXd> parts(static_cast<size_t>(row_block_count(n)),
                                       Eigen::MatrixXd::Zero(d, d));
    for_row_blocks(n, nthreads, [&](int t, std::ptrdiff_t b, std::ptrdiff_t e) {
        auto rows = X.middleRows(b, e - b);
        rows.rowwise() -= mean;
        parts[static_cast<size_t>(t)].selfadjointView<Eigen::Lower>().rankUpdate(rows.transpose());
    });
    Eigen::MatrixXd C = Eigen::MatrixXd::Zero(d, d);
    for (const auto& P : parts) C += P;
    C /= static_cast<double>(n);
    return C.selfadjointView<Eigen::Lower>();
}

// Y = X * V by row blocks (same threading rule as above).
Eigen::MatrixXd project(const Eigen::MatrixXd& X, const Eigen::MatrixXd& V, int nthreads) {
    const std::ptrdiff_t n = X.rows();
    Eigen::MatrixXd Y(n, V.cols());
    for_row_blocks(n, nthreads, [&](int, std::ptrdiff_t b, std::ptrdiff_t e) {
        Y.middleRows(b, e - b).noalias() = X.middleRows(b, e - b) * V;
    });
    return Y;
}

}  // namespace

void box_mean(const double* in, double* out, int height, int width, int lo, int hi,
              double* work) {
    if (height <= 0 || width <= 0 || lo < 0 || hi < 0)
        throw std::invalid_argument("box_mean: bad size or window");
    const std::ptrdiff_t H = height, W = width;
    std::vector<double> own;
    if (work == nullptr) {
        own.resize(static_cast<size_t>(H * W));
        work = own.data();
    }
    double* tmp = work;
    // horizontal running sums; clamped lookups only near the two borders
    const int x_in_lo = std::min(lo + 1, width);            // x - lo - 1 >= 0 from here
    const int x_in_hi = std::max(width - hi, x_in_lo);      // x + hi < width before here
    for (std::ptrdiff_t y = 0; y < H; ++y) {
        const double* row = in + y * W;
        double* t = tmp + y * W;
        double s = 0.0;
        for (int j = -lo; j <= hi; ++j) s += row[edge(j, width)];
        t[0] = s;
        int x = 1;
        for (; x < std::min(x_in_lo, width); ++x) {
            s += row[edge(x + hi, width)] - row[edge(x - lo - 1, width)];
            t[x] = s;
        }
        for (; x < x_in_hi; ++x) {
            s += row[x + hi] - row[x - lo - 1];
            t[x] = s;
        }
        for (; x < width; ++x) {
            s += row[edge(x + hi, width)] - row[edge(x - lo - 1, width)];
            t[x] = s;
        }
    }
    // vertical running sums over whole rows, accumulated in `out` row by row
    const double scale = 1.0 / (static_cast<double>(lo + hi + 1) * (lo + hi + 1));
    double* acc = out;  // row 0 of out holds the running sum until it is scaled
    std::fill(acc, acc + W, 0.0);
    for (int j = -lo; j <= hi; ++j) {
        const double* r = tmp + static_cast<std::ptrdiff_t>(edge(j, height)) * W;
        for (std::ptrdiff_t x = 0; x < W; ++x) acc[x] += r[x];
    }
    for (int y = 1; y < height; ++y) {
        const double* ra = tmp + static_cast<std::ptrdiff_t>(edge(y + hi, height)) * W;
        const double* rs = tmp + static_cast<std::ptrdiff_t>(edge(y - lo - 1, height)) * W;
        const double* prev = out + static_cast<std::ptrdiff_t>(y - 1) * W;
        double* o = out + static_cast<std::ptrdiff_t>(y) * W;
        for (std::ptrdiff_t x = 0; x < W; ++x) o[x] = prev[x] + (ra[x] - rs[x]);
    }
    for (std::ptrdiff_t i = 0; i < H * W; ++i) out[i] *= scale;
}

// Arguments shared by both guided-filter variants.
static void check_guided_filter_args(const ImageView& guide, int channels, int neighborhood_size,
                              double eps) {
    check_image(guide, "guided_filter: guide", 3);
    if (neighborhood_size < 1)
        throw std::invalid_argument("guided_filter: neighborhood_size must be >= 1, got " +
                                    std::to_string(neighborhood_size));
    if (!(eps > 0.0) || !std::isfinite(eps))
        throw std::invalid_argument("guided_filter: eps must be finite and > 0");
    if (channels < 0) throw std::invalid_argument("guided_filter: negative channel count");
}

void guided_filter_planes(const ImageView& guide, double* planes, int channels,
                          int neighborhood_size, double eps, int num_threads) {
    check_guided_filter_args(guide, channels, neighborhood_size, eps);
    const int H = guide.height, W = guide.width;
    const std::ptrdiff_t N = guide.num_pixels();
    const int lo = (neighborhood_size - 1) / 2, hi = neighborhood_size / 2;
    const int nthreads = resolve_threads(num_threads);
    const auto plane = [N](std::vector<double>& v, int i) { return v.data() + i * N; };

    // guide statistics, shared by every channel: means (3) and inverse
    // regularised covariances (6 unique entries of a symmetric 3x3)
    std::vector<double> I(static_cast<size_t>(3 * N)), mI(static_cast<size_t>(3 * N)),
        inv(static_cast<size_t>(6 * N));
    for (std::ptrdiff_t p = 0; p < N; ++p)
        for (int c = 0; c < 3; ++c) I[c * N + p] = guide.data[p * 3 + c];
    {
        static const int pairs[6][2] = {{0, 0}, {0, 1}, {0, 2}, {1, 1}, {1, 2}, {2, 2}};
        std::vector<double> prod(static_cast<size_t>(6 * N)), mprod(static_cast<size_t>(6 * N));
#pragma omp parallel for schedule(static) num_threads(nthreads)
        for (int i = 0; i < 9; ++i) {
            if (i < 3) {
                box_mean(plane(I, i), plane(mI, i), H, W, lo, hi, nullptr);
            } else {
                const int a = pairs[i - 3][0], b = pairs[i - 3][1];
                double* pr = plane(prod, i - 3);
                const double* Ia = plane(I, a);
                const double* Ib = plane(I, b);
                for (std::ptrdiff_t p = 0; p < N; ++p) pr[p] = Ia[p] * Ib[p];
                box_mean(pr, plane(mprod, i - 3), H, W, lo, hi, nullptr);
            }
        }
#pragma omp parallel for schedule(static) num_threads(nthreads)
        for (std::ptrdiff_t p = 0; p < N; ++p) {
            const double m0 = mI[p], m1 = mI[N + p], m2 = mI[2 * N + p];
            Eigen::Matrix3d S;
            S(0, 0) = mprod[p] - m0 * m0 + eps;
            S(0, 1) = S(1, 0) = mprod[N + p] - m0 * m1;
            S(0, 2) = S(2, 0) = mprod[2 * N + p] - m0 * m2;
            S(1, 1) = mprod[3 * N + p] - m1 * m1 + eps;
            S(1, 2) = S(2, 1) = mprod[4 * N + p] - m1 * m2;
            S(2, 2) = mprod[5 * N + p] - m2 * m2 + eps;
            const Eigen::Matrix3d Si = S.inverse();
            inv[p] = Si(0, 0);
            inv[N + p] = Si(0, 1);
            inv[2 * N + p] = Si(0, 2);
            inv[3 * N + p] = Si(1, 1);
            inv[4 * N + p] = Si(1, 2);
            inv[5 * N + p] = Si(2, 2);
        }
    }

#pragma omp parallel num_threads(nthreads)
    {
        // per-thread work planes: mp, mIp(3), a(3), b, and box outputs reuse them
        std::vector<double> buf(static_cast<size_t>(9 * N));
        std::vector<double> tmp(static_cast<size_t>(N)), work(static_cast<size_t>(N));
#pragma omp for schedule(dynamic, 1)
        for (int c = 0; c < channels; ++c) {
            double* P = planes + static_cast<std::ptrdiff_t>(c) * N;
            double* mp = plane(buf, 0);
            box_mean(P, mp, H, W, lo, hi, work.data());
            for (int k = 0; k < 3; ++k) {
                const double* Ik = plane(I, k);
                for (std::ptrdiff_t p = 0; p < N; ++p) tmp[p] = Ik[p] * P[p];
                box_mean(tmp.data(), plane(buf, 1 + k), H, W, lo, hi, work.data());
            }
            double* a0 = plane(buf, 4);
            double* a1 = plane(buf, 5);
            double* a2 = plane(buf, 6);
            double* b = plane(buf, 7);
            for (std::ptrdiff_t p = 0; p < N; ++p) {
                const double m0 = mI[p], m1 = mI[N + p], m2 = mI[2 * N + p];
                const double c0 = buf[N + p] - m0 * mp[p];
                const double c1 = buf[2 * N + p] - m1 * mp[p];
                const double c2 = buf[3 * N + p] - m2 * mp[p];
                const double i00 = inv[p], i01 = inv[N + p], i02 = inv[2 * N + p];
                const double i11 = inv[3 * N + p], i12 = inv[4 * N + p], i22 = inv[5 * N + p];
                const double x0 = i00 * c0 + i01 * c1 + i02 * c2;
                const double x1 = i01 * c0 + i11 * c1 + i12 * c2;
                const double x2 = i02 * c0 + i12 * c1 + i22 * c2;
                a0[p] = x0;
                a1[p] = x1;
                a2[p] = x2;
                b[p] = mp[p] - x0 * m0 - x1 * m1 - x2 * m2;
            }
            // mean of a and b over the windows; the mean planes overwrite buf 0..3
            box_mean(a0, plane(buf, 0), H, W, lo, hi, work.data());
            box_mean(a1, plane(buf, 1), H, W, lo, hi, work.data());
            box_mean(a2, plane(buf, 2), H, W, lo, hi, work.data());
            box_mean(b, plane(buf, 3), H, W, lo, hi, work.data());
            const double* I0 = plane(I, 0);
            const double* I1 = plane(I, 1);
            const double* I2 = plane(I, 2);
            for (std::ptrdiff_t p = 0; p < N; ++p)
                P[p] = buf[p] * I0[p] + buf[N + p] * I1[p] + buf[2 * N + p] * I2[p] + buf[3 * N + p];
        }
    }
}

void guided_filter_planes_reference(const ImageView& guide, double* planes, int channels,
                                    int neighborhood_size, double eps, int num_threads) {
    check_guided_filter_args(guide, channels, neighborhood_size, eps);
    const int H = guide.height, W = guide.width;
    const std::ptrdiff_t N = guide.num_pixels();
    const int lo = (neighborhood_size - 1) / 2, hi = neighborhood_size / 2;
    const int nthreads = resolve_threads(num_threads);
    const int grouped = channels - channels % 3;  // channels filtered in groups of three

    if (grouped > 0) {
        // per guide channel g: the channel, its window mean and 1 / (variance + eps)
        std::vector<double> I(static_cast<size_t>(3 * N)), mI(static_cast<size_t>(3 * N)),
            ivar(static_cast<size_t>(3 * N));
        for (std::ptrdiff_t p = 0; p < N; ++p)
            for (int c = 0; c < 3; ++c) I[c * N + p] = guide.data[p * 3 + c];
#pragma omp parallel for schedule(static) num_threads(nthreads)
        for (int g = 0; g < 3; ++g) {
            const double* Ig = I.data() + g * N;
            double* m = mI.data() + g * N;
            double* iv = ivar.data() + g * N;
            std::vector<double> sq(static_cast<size_t>(N)), msq(static_cast<size_t>(N));
            for (std::ptrdiff_t p = 0; p < N; ++p) sq[p] = Ig[p] * Ig[p];
            box_mean(Ig, m, H, W, lo, hi, nullptr);
            box_mean(sq.data(), msq.data(), H, W, lo, hi, nullptr);
            for (std::ptrdiff_t p = 0; p < N; ++p) iv[p] = 1.0 / (msq[p] - m[p] * m[p] + eps);
        }
#pragma omp parallel num_threads(nthreads)
        {
            std::vector<double> buf(static_cast<size_t>(4 * N)), work(static_cast<size_t>(N));
            double* mp = buf.data();
            double* mip = buf.data() + N;
            double* a = buf.data() + 2 * N;
            double* b = buf.data() + 3 * N;
#pragma omp for schedule(dynamic, 1)
            for (int c = 0; c < grouped; ++c) {
                const int g = c % 3;
                const double* Ig = I.data() + g * N;
                const double* m = mI.data() + g * N;
                const double* iv = ivar.data() + g * N;
                double* P = planes + static_cast<std::ptrdiff_t>(c) * N;
                box_mean(P, mp, H, W, lo, hi, work.data());
                for (std::ptrdiff_t p = 0; p < N; ++p) a[p] = Ig[p] * P[p];
                box_mean(a, mip, H, W, lo, hi, work.data());
                for (std::ptrdiff_t p = 0; p < N; ++p) {
                    const double ap = (mip[p] - m[p] * mp[p]) * iv[p];
                    a[p] = ap;
                    b[p] = mp[p] - ap * m[p];
                }
                box_mean(a, mp, H, W, lo, hi, work.data());   // mean of a
                box_mean(b, mip, H, W, lo, hi, work.data());  // mean of b
                for (std::ptrdiff_t p = 0; p < N; ++p) P[p] = mp[p] * Ig[p] + mip[p];
            }
        }
    }
    if (channels > grouped)
        guided_filter_planes(guide, planes + static_cast<std::ptrdiff_t>(grouped) * N,
                             channels - grouped, neighborhood_size, eps, num_threads);
}

std::vector<double> preprocess_features(const ImageView& features, const ImageView& image,
                                        const FeaturePrepParams& params) {
    check_image(features, "preprocess_features: features", 0);
    check_image(image, "preprocess_features: image", 3);
    if (features.height != image.height || features.width != image.width)
        throw std::invalid_argument(
            "preprocess_features: features (" + std::to_string(features.height) + " x " +
            std::to_string(features.width) + ") and image (" + std::to_string(image.height) +
            " x " + std::to_string(image.width) + ") differ in size");
    const int D = features.channels;
    const int K = params.num_components;
    if (K < 1 || K > D)
        throw std::invalid_argument("preprocess_features: num_components must be in [1, " +
                                    std::to_string(D) + "], got " + std::to_string(K));
    if (!(params.clip > 0.0) || !std::isfinite(params.clip))
        throw std::invalid_argument("preprocess_features: clip must be finite and > 0");
    const std::ptrdiff_t N = features.num_pixels();
    const double c = params.clip;
    const int nthreads = resolve_threads(params.num_threads);

    // clipped features as a column-major N x D matrix (column c = channel plane c),
    // transposed in cache-sized blocks of pixels
    Eigen::MatrixXd X(N, D);
    std::ptrdiff_t nonfinite = 0;
    {
        constexpr std::ptrdiff_t B = 256;
        const double* src = features.data;
        double* dst = X.data();
#pragma omp parallel for schedule(static) num_threads(nthreads) reduction(+ : nonfinite)
        for (std::ptrdiff_t p0 = 0; p0 < N; p0 += B) {
            const std::ptrdiff_t p1 = std::min(N, p0 + B);
            for (int ch = 0; ch < D; ++ch) {
                double* d = dst + static_cast<std::ptrdiff_t>(ch) * N;
                for (std::ptrdiff_t p = p0; p < p1; ++p) {
                    const double v = src[p * D + ch];
                    nonfinite += !std::isfinite(v);
                    d[p] = std::min(std::max(v, -c), c);
                }
            }
        }
    }
    if (nonfinite)
        throw std::invalid_argument("preprocess_features: features contain NaN or infinite values");
    Eigen::MatrixXd Y = std::move(X);  // column-major N x D: column j is channel plane j
    guided_filter_planes_reference(image, Y.data(), static_cast<int>(Y.cols()),
                                   params.neighborhood_size, params.smoothing,
                                   params.num_threads);

    const Eigen::MatrixXd C = center_and_covariance(Y, nthreads);
    const Eigen::MatrixXd Z = project(Y, top_eigenvectors(C, K), nthreads);

    std::vector<double> out(static_cast<size_t>(N * K));
    for (int j = 0; j < K; ++j) {
        const double mn = Z.col(j).minCoeff();
        const double range = Z.col(j).maxCoeff() - mn;
        const double s = range > 0 ? 1.0 / range : 0.0;
        for (std::ptrdiff_t p = 0; p < N; ++p) out[p * K + j] = (Z(p, j) - mn) * s;
    }
    return out;
}

}  // namespace sss
