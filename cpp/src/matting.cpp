// Stage 3 of SPEC.md: Levin et al.'s closed-form matting affinity, assembled
// directly into compressed sparse row storage.
#include "sss/matting.hpp"

#include <Eigen/Dense>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "sss/parallel.hpp"

namespace sss {
namespace {

// Do pixels at coordinates a and b (along one axis of length n) share a
// window whose centre c satisfies r <= c <= n-1-r?
inline bool share_window_1d(int a, int b, int n, int r) {
    const int lo = std::max(std::max(a, b) - r, r);
    const int hi = std::min(std::min(a, b) + r, n - 1 - r);
    return lo <= hi;
}

}  // namespace

SparseMatrix matting_affinity(const ImageView& image, const MattingParams& params) {
    check_image(image, "matting_affinity", 3);
    const int r = params.radius;
    if (r < 1) throw std::invalid_argument("matting_affinity: radius must be >= 1, got " +
                                           std::to_string(r));
    if (!(params.eps >= 0.0))
        throw std::invalid_argument("matting_affinity: eps must be a finite value >= 0");
    const int H = image.height, W = image.width;
    const int ws = 2 * r + 1;
    if (H < ws || W < ws)
        throw std::invalid_argument("matting_affinity: image of " + std::to_string(H) + " x " +
                                    std::to_string(W) + " pixels is smaller than one " +
                                    std::to_string(ws) + " x " + std::to_string(ws) + " window");
    const double wsz = static_cast<double>(ws) * ws;
    const std::ptrdiff_t N = image.num_pixels();
    const int span = 2 * r;              // pixel pairs differ by at most 2r per axis
    const int sw = 2 * span + 1;         // slots per row of the pair neighbourhood
    const int S = sw * sw;               // slots per pixel
    const int nthreads = resolve_threads(params.num_threads);
    (void)nthreads;

    // Row lengths are fixed by geometry; check they fit 32-bit indices first.
    std::vector<int> row_len(static_cast<size_t>(N));
    std::int64_t total = 0;
    for (int y = 0; y < H; ++y) {
        for (int x = 0; x < W; ++x) {
            int count = 0;
            for (int dy = -span; dy <= span; ++dy) {
                const int jy = y + dy;
                if (jy < 0 || jy >= H || !share_window_1d(y, jy, H, r)) continue;
                for (int dx = -span; dx <= span; ++dx) {
                    const int jx = x + dx;
                    if (jx < 0 || jx >= W || !share_window_1d(x, jx, W, r)) continue;
                    ++count;
                }
            }
            row_len[static_cast<size_t>(y) * W + x] = count;
            total += count;
        }
    }
    if (total > INT_MAX)
        throw std::length_error("matting_affinity: " + std::to_string(total) +
                                " nonzeros exceed the 32-bit index range; use a smaller image");

    // Per-window mean and inverse regularised covariance, indexed by centre pixel.
    std::vector<Eigen::Vector3d> mu(static_cast<size_t>(N), Eigen::Vector3d::Zero());
    std::vector<Eigen::Matrix3d> inv(static_cast<size_t>(N), Eigen::Matrix3d::Zero());
    const double* I = image.data;
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (int cy = r; cy < H - r; ++cy) {
        for (int cx = r; cx < W - r; ++cx) {
            Eigen::Vector3d sum = Eigen::Vector3d::Zero();
            Eigen::Matrix3d sum2 = Eigen::Matrix3d::Zero();
            for (int y = cy - r; y <= cy + r; ++y)
                for (int x = cx - r; x <= cx + r; ++x) {
                    const Eigen::Map<const Eigen::Vector3d> v(I + (static_cast<std::ptrdiff_t>(y) * W + x) * 3);
                    sum += v;
                    sum2.noalias() += v * v.transpose();
                }
            const Eigen::Vector3d m = sum / wsz;
            Eigen::Matrix3d cov = sum2 / wsz - m * m.transpose();
            cov.diagonal().array() += params.eps / wsz;
            const std::ptrdiff_t c = static_cast<std::ptrdiff_t>(cy) * W + cx;
            mu[c] = m;
            inv[c] = cov.inverse();
        }
    }

    // One dense slot array per pixel: acc[p * S + slot(dy, dx)].
    std::vector<double> acc(static_cast<size_t>(N) * S, 0.0);
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (int y = 0; y < H; ++y) {
        for (int x = 0; x < W; ++x) {
            const std::ptrdiff_t i = static_cast<std::ptrdiff_t>(y) * W + x;
            const Eigen::Map<const Eigen::Vector3d> Ii(I + i * 3);
            double* row = acc.data() + i * S;
            for (int cy = std::max(y - r, r); cy <= std::min(y + r, H - 1 - r); ++cy) {
                for (int cx = std::max(x - r, r); cx <= std::min(x + r, W - 1 - r); ++cx) {
                    const std::ptrdiff_t c = static_cast<std::ptrdiff_t>(cy) * W + cx;
                    const Eigen::Vector3d a = inv[c] * (Ii - mu[c]);
                    for (int jy = cy - r; jy <= cy + r; ++jy) {
                        for (int jx = cx - r; jx <= cx + r; ++jx) {
                            const std::ptrdiff_t j = static_cast<std::ptrdiff_t>(jy) * W + jx;
                            const Eigen::Map<const Eigen::Vector3d> Ij(I + j * 3);
                            row[(jy - y + span) * sw + (jx - x + span)] +=
                                (1.0 + a.dot(Ij - mu[c])) / wsz;
                        }
                    }
                }
            }
        }
    }

    // Compressed rows, symmetrised as (W + W^T) / 2.
    SparseMatrix out(N, N);
    out.resizeNonZeros(static_cast<Eigen::Index>(total));
    int* outer = out.outerIndexPtr();
    outer[0] = 0;
    for (std::ptrdiff_t p = 0; p < N; ++p) outer[p + 1] = outer[p] + row_len[static_cast<size_t>(p)];
    int* inner = out.innerIndexPtr();
    double* val = out.valuePtr();
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (int y = 0; y < H; ++y) {
        for (int x = 0; x < W; ++x) {
            const std::ptrdiff_t i = static_cast<std::ptrdiff_t>(y) * W + x;
            int k = outer[i];
            for (int dy = -span; dy <= span; ++dy) {
                const int jy = y + dy;
                if (jy < 0 || jy >= H || !share_window_1d(y, jy, H, r)) continue;
                for (int dx = -span; dx <= span; ++dx) {
                    const int jx = x + dx;
                    if (jx < 0 || jx >= W || !share_window_1d(x, jx, W, r)) continue;
                    const std::ptrdiff_t j = static_cast<std::ptrdiff_t>(jy) * W + jx;
                    const double wij = acc[i * S + (dy + span) * sw + (dx + span)];
                    const double wji = acc[j * S + (span - dy) * sw + (span - dx)];
                    inner[k] = static_cast<int>(j);
                    val[k] = 0.5 * (wij + wji);
                    ++k;
                }
            }
        }
    }
    return out;
}

SparseMatrix laplacian_from_affinity(const SparseRef& W) {
    if (W.rows() != W.cols())
        throw std::invalid_argument("laplacian_from_affinity: affinity must be square, got " +
                                    std::to_string(W.rows()) + " x " + std::to_string(W.cols()));
    const Eigen::Index n = W.rows();
    const int* wo = W.outerIndexPtr();
    const int* wi = W.innerIndexPtr();
    const double* wv = W.valuePtr();

    std::vector<int> has_diag(static_cast<size_t>(n), 0);
    std::int64_t total = 0;
    for (Eigen::Index r = 0; r < n; ++r) {
        for (int k = wo[r]; k < wo[r + 1]; ++k)
            if (wi[k] == r) has_diag[static_cast<size_t>(r)] = 1;
        total += (wo[r + 1] - wo[r]) + (has_diag[static_cast<size_t>(r)] ? 0 : 1);
    }
    if (total > INT_MAX)
        throw std::length_error("laplacian_from_affinity: too many nonzeros for 32-bit indices");

    SparseMatrix L(n, n);
    L.resizeNonZeros(static_cast<Eigen::Index>(total));
    int* lo = L.outerIndexPtr();
    int* li = L.innerIndexPtr();
    double* lv = L.valuePtr();
    lo[0] = 0;
    for (Eigen::Index r = 0; r < n; ++r)
        lo[r + 1] = lo[r] + (wo[r + 1] - wo[r]) + (has_diag[static_cast<size_t>(r)] ? 0 : 1);

#pragma omp parallel for schedule(static)
    for (Eigen::Index r = 0; r < n; ++r) {
        double rowsum = 0.0, wrr = 0.0;
        for (int k = wo[r]; k < wo[r + 1]; ++k) {
            rowsum += wv[k];
            if (wi[k] == r) wrr += wv[k];
        }
        const double diag = rowsum - wrr;
        int out = lo[r];
        bool placed = false;
        for (int k = wo[r]; k < wo[r + 1]; ++k) {
            if (!placed && wi[k] >= r) {
                if (wi[k] != r) {  // no stored diagonal: insert it here
                    li[out] = static_cast<int>(r);
                    lv[out++] = diag;
                }
                placed = true;
            }
            li[out] = wi[k];
            lv[out++] = (wi[k] == r) ? diag : -wv[k];
        }
        if (!placed) {
            li[out] = static_cast<int>(r);
            lv[out++] = diag;
        }
    }
    return L;
}

}  // namespace sss
