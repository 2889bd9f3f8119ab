// Stage 3 (docs/algorithm.md): Levin et al.'s closed-form matting affinity, assembled
// directly into compressed sparse row storage.
#include "sss/matting.hpp"

#include "sss/affinity.hpp"

#include <Eigen/Dense>

#include <algorithm>
#include <climits>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
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

// Ask for transparent huge pages on a large, not yet touched buffer: the
// output is tens of MB written once, and 4 KiB page faults are a large part
// of its cost. A no-op where unsupported.
inline void advise_huge_pages(void* p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t page = 2u << 20;
    uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
    uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(page - 1);
    if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

}  // namespace

SparseMatrix matting_affinity(const ImageView& image, const MattingParams& params) {
    check_image(image, "matting_affinity", 3);
    const int r = params.radius;
    if (r < 1) throw std::invalid_argument("matting_affinity: radius must be >= 1, got " +
                                           std::to_string(r));
    if (!(params.eps >= 0.0) || !std::isfinite(params.eps))
        throw std::invalid_argument("matting_affinity: eps must be a finite value >= 0");
    const int H = image.height, W = image.width;
    const int ws = 2 * r + 1;
    if (H < ws || W < ws)
        throw std::invalid_argument("matting_affinity: image of " + std::to_string(H) + " x " +
                                    std::to_string(W) + " pixels is smaller than one " +
                                    std::to_string(ws) + " x " + std::to_string(ws) + " window");
    const int wsz = ws * ws;
    const double inv_wsz = 1.0 / wsz;
    const std::ptrdiff_t N = image.num_pixels();
    const int span = 2 * r;  // pixel pairs that share a window differ by <= 2r per axis
    const int nthreads = resolve_threads(params.num_threads);
    (void)nthreads;

    // The set of pixels sharing a window with pixel (y, x) is the rectangle
    // [y + lo_y[y], y + hi_y[y]] x [x + lo_x[x], x + hi_x[x]]: the condition
    // separates by axis. Its entries, in column order, form the CSR row.
    auto axis_range = [&](int n, std::vector<int>& lo, std::vector<int>& hi) {
        lo.assign(n, 0);
        hi.assign(n, 0);
        for (int a = 0; a < n; ++a) {
            int l = span + 1, h = -span - 1;  // valid offsets are contiguous and include 0
            for (int d = -span; d <= span; ++d) {
                const int b = a + d;
                if (b < 0 || b >= n || !share_window_1d(a, b, n, r)) continue;
                l = std::min(l, d);
                h = std::max(h, d);
            }
            lo[a] = l;
            hi[a] = h;
        }
    };
    std::vector<int> lo_y, hi_y, lo_x, hi_x;
    axis_range(H, lo_y, hi_y);
    axis_range(W, lo_x, hi_x);
    std::int64_t total = 0;
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x)
            total += std::int64_t(hi_y[y] - lo_y[y] + 1) * (hi_x[x] - lo_x[x] + 1);
    if (total > INT_MAX)
        throw std::length_error("matting_affinity: " + std::to_string(total) +
                                " nonzeros exceed the 32-bit index range; use a smaller image");

    SparseMatrix out(N, N);
    out.resizeNonZeros(static_cast<Eigen::Index>(total));
    int* outer = out.outerIndexPtr();
    int* inner = out.innerIndexPtr();
    double* val = out.valuePtr();
    advise_huge_pages(inner, static_cast<size_t>(total) * sizeof(int));
    advise_huge_pages(val, static_cast<size_t>(total) * sizeof(double));
    outer[0] = 0;
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) {
            const std::ptrdiff_t i = static_cast<std::ptrdiff_t>(y) * W + x;
            outer[i + 1] = outer[i] + (hi_y[y] - lo_y[y] + 1) * (hi_x[x] - lo_x[x] + 1);
        }
    // Each thread fills a contiguous block of CSR rows (pixel rows). For every
    // window it needs, it computes the window's symmetrised kernel once,
    //   K(a, b) = (1 + (g_ab + g_ba) / 2) / |w|,  g = D Sigma^-1 D^T,
    // kept in a rolling buffer of 2r+1 window rows; then every pixel gathers
    // its CSR row from the (<= |w|) windows that contain it into a small dense
    // accumulator, and writes it once, sequentially. Row i and row j sum the
    // same values in the same window order, so W is exactly symmetric.
    const auto run = [&](auto wsz_tag) {
        constexpr int WSZ = decltype(wsz_tag)::value;  // pixels per window, or Eigen::Dynamic
        constexpr int WS = WSZ == 9 ? 3 : 0;            // window side when fixed at compile time
        const int wsl = WS ? WS : ws;                    // the same, constant-folded when fixed
        const int swl = WS ? 2 * WS - 1 : 2 * span + 1;  // accumulator side (pair offsets)
        using Block = Eigen::Matrix<double, WSZ, 3>;
        using Kernel = Eigen::Matrix<double, WSZ, WSZ, Eigen::RowMajor>;
        const double* I = image.data;
        const int n_wx = W - 2 * r;  // windows per window row
        const int sw = 2 * span + 1;
#pragma omp parallel num_threads(nthreads)
        {
            Block D(wsz, 3), A(wsz, 3);
            Kernel G(wsz, wsz);
            // ring of ws window rows, each n_wx kernels of wsz*wsz values
            std::vector<double> ring(static_cast<size_t>(ws) * n_wx * wsz * wsz);
            std::vector<int> ring_row(ws, -1);
            std::vector<double> acc(static_cast<size_t>(sw) * sw);
            auto kernel_row = [&](int cy) -> const double* {
                double* dst = ring.data() + static_cast<size_t>(cy % ws) * n_wx * wsz * wsz;
                if (ring_row[cy % ws] == cy) return dst;
                ring_row[cy % ws] = cy;
                for (int cx = r; cx < W - r; ++cx) {
                    int m = 0;
                    for (int y = cy - r; y <= cy + r; ++y)
                        for (int x = cx - r; x <= cx + r; ++x, ++m)
                            D.row(m) = Eigen::Map<const Eigen::RowVector3d>(
                                I + (static_cast<std::ptrdiff_t>(y) * W + x) * 3);
                    const Eigen::RowVector3d mu = D.colwise().sum() * inv_wsz;
                    Eigen::Matrix3d cov =
                        D.transpose().lazyProduct(D) * inv_wsz - mu.transpose() * mu;
                    cov.diagonal().array() += params.eps * inv_wsz;
                    const Eigen::Matrix3d inv = cov.inverse();
                    D.rowwise() -= mu;
                    A.noalias() = D * inv;
                    G.noalias() = A.lazyProduct(D.transpose());  // tiny: no GEMM kernel
                    Eigen::Map<Kernel> K(dst + static_cast<size_t>(cx - r) * wsz * wsz, wsz, wsz);
                    K = ((G + G.transpose()) * 0.5).array() * inv_wsz + inv_wsz;
                }
                return dst;
            };
#pragma omp for schedule(static)
            for (int y = 0; y < H; ++y) {
                if (cancel_requested()) continue;  // check_cancel() throws after the loop
                const int cy0 = std::max(y - r, r), cy1 = std::min(y + r, H - 1 - r);
                const double* rows[64];  // window rows cy0..cy1 (<= ws of them)
                for (int cy = cy0; cy <= cy1; ++cy) rows[cy - cy0] = kernel_row(cy);
                for (int x = 0; x < W; ++x) {
                    std::fill(acc.begin(), acc.end(), 0.0);
                    const int cx0 = std::max(x - r, r), cx1 = std::min(x + r, W - 1 - r);
                    for (int cy = cy0; cy <= cy1; ++cy) {
                        for (int cx = cx0; cx <= cx1; ++cx) {
                            const int a = (y - cy + r) * ws + (x - cx + r);
                            const double* k = rows[cy - cy0] +
                                              (static_cast<size_t>(cx - r) * wsz + a) * wsz;
                            // window pixel (my, mx) is at offset (cy-r+my-y, cx-r+mx-x)
                            double* dst = acc.data() + (cy - r - y + span) * swl + (cx - r - x + span);
                            for (int my = 0; my < wsl; ++my)
                                for (int mx = 0; mx < wsl; ++mx) dst[my * swl + mx] += k[my * wsl + mx];
                        }
                    }
                    const std::ptrdiff_t i = static_cast<std::ptrdiff_t>(y) * W + x;
                    int kk = outer[i];
                    for (int dy = lo_y[y]; dy <= hi_y[y]; ++dy)
                        for (int dx = lo_x[x]; dx <= hi_x[x]; ++dx) {
                            inner[kk] = static_cast<int>(i + static_cast<std::ptrdiff_t>(dy) * W + dx);
                            val[kk++] = acc[(dy + span) * swl + (dx + span)];
                        }
                }
            }
        }
    };
    if (ws > 64) throw std::invalid_argument("matting_affinity: radius must be <= 31");
    if (r == 1)
        run(std::integral_constant<int, 9>{});
    else
        run(std::integral_constant<int, Eigen::Dynamic>{});
    check_cancel();
    return out;
}

SparseMatrix laplacian_from_affinity(const SparseRef& W) {
    if (W.rows() != W.cols())
        throw std::invalid_argument("laplacian_from_affinity: affinity must be square, got " +
                                    std::to_string(W.rows()) + " x " + std::to_string(W.cols()));
    // D - W is assembled in one place, for any weighted sum of affinities
    return weighted_laplacian({W}, {1.0});
}

}  // namespace sss
