// Stage 2 (docs/algorithm.md): SLIC-0 superpixels and the superpixel graph.
#include "sss/superpixels.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "sss/parallel.hpp"

namespace sss {
namespace {

void check_label_view(const LabelView& labels, const char* what) {
    if (labels.data == nullptr)
        throw std::invalid_argument(std::string(what) + ": null label buffer");
    if (labels.height <= 0 || labels.width <= 0)
        throw std::invalid_argument(std::string(what) + ": label map is empty (" +
                                    std::to_string(labels.height) + " x " +
                                    std::to_string(labels.width) + ")");
}

inline double srgb_to_linear_formula(double c) {
    // exp(2.4 log u) is pow(u, 2.4) to a few ulp, and faster.
    return c > 0.04045 ? std::exp(2.4 * std::log((c + 0.055) / 1.055)) : c / 12.92;
}

// The formula at k / 255 for k = 0..255: images that come from 8-bit files
// (the common case) hit this table.
struct LinearTable {
    double v[256];
    LinearTable() {
        for (int k = 0; k < 256; ++k) v[k] = srgb_to_linear_formula(k / 255.0);
    }
};

inline double srgb_to_linear(double c) {
    static const LinearTable table;
    const double t = c * 255.0;
    if (t >= 0.0 && t <= 255.0) {
        const int k = static_cast<int>(t + 0.5);
        if (k / 255.0 == c) return table.v[k];  // exactly the same value as the formula
    }
    return srgb_to_linear_formula(c);
}

// Cube root of t > 0 to about 1 ulp: bit-level first guess, two Halley steps
// and a Newton step (faster than std::cbrt).
inline double cbrt_positive(double t) {
    std::uint64_t i;
    std::memcpy(&i, &t, sizeof i);
    i = i / 3 + 0x2A9F7893782DA1CEull;
    double y;
    std::memcpy(&y, &i, sizeof y);
    for (int k = 0; k < 2; ++k) {
        const double y3 = y * y * y;
        y = y * (y3 + 2.0 * t) / (2.0 * y3 + t);
    }
    return y - (y * y * y - t) / (3.0 * y * y);
}

inline double lab_f(double t) {
    return t > 0.008856 ? cbrt_positive(t) : 7.787 * t + 16.0 / 116.0;
}

struct UnionFind {
    std::vector<int> parent;
    explicit UnionFind(int n) : parent(static_cast<size_t>(n)) {
        std::iota(parent.begin(), parent.end(), 0);
    }
    int find(int a) {
        while (parent[static_cast<size_t>(a)] != a) {
            parent[static_cast<size_t>(a)] = parent[static_cast<size_t>(parent[static_cast<size_t>(a)])];
            a = parent[static_cast<size_t>(a)];
        }
        return a;
    }
};

// Split `labels` into 4-connected components, merge components smaller than
// `min_size` into the adjacent component with the closest mean Lab colour,
// and renumber in raster order. Returns the label count.
int enforce_connectivity(std::vector<int>& labels, const std::vector<double>& lab, int H, int W,
                         int min_size) {
    const std::ptrdiff_t N = static_cast<std::ptrdiff_t>(H) * W;
    std::vector<int> comp(static_cast<size_t>(N), -1);
    std::vector<int> csize;
    std::vector<double> csum;  // 3 per component
    std::vector<std::ptrdiff_t> stack;
    int ncomp = 0;
    for (std::ptrdiff_t s = 0; s < N; ++s) {
        if (comp[static_cast<size_t>(s)] >= 0) continue;
        const int lbl = labels[static_cast<size_t>(s)];
        const int c = ncomp++;
        int count = 0;
        double sL = 0, sa = 0, sb = 0;
        comp[static_cast<size_t>(s)] = c;
        stack.clear();
        stack.push_back(s);
        while (!stack.empty()) {
            const std::ptrdiff_t p = stack.back();
            stack.pop_back();
            ++count;
            sL += lab[static_cast<size_t>(p) * 3];
            sa += lab[static_cast<size_t>(p) * 3 + 1];
            sb += lab[static_cast<size_t>(p) * 3 + 2];
            const int y = static_cast<int>(p / W), x = static_cast<int>(p % W);
            const std::ptrdiff_t nb[4] = {x > 0 ? p - 1 : -1, x + 1 < W ? p + 1 : -1,
                                          y > 0 ? p - W : -1, y + 1 < H ? p + W : -1};
            for (std::ptrdiff_t q : nb) {
                if (q < 0 || comp[static_cast<size_t>(q)] >= 0 ||
                    labels[static_cast<size_t>(q)] != lbl)
                    continue;
                comp[static_cast<size_t>(q)] = c;
                stack.push_back(q);
            }
        }
        csize.push_back(count);
        csum.push_back(sL);
        csum.push_back(sa);
        csum.push_back(sb);
    }

    // Adjacent component pairs (4-connectivity), unique, for pairs with a
    // small component only: large components never look for a neighbour, and
    // merging keeps the lists of small ones complete.
    std::vector<std::int64_t> keys;
    auto add_pair = [&](int a, int b) {
        if (a != b && (csize[static_cast<size_t>(a)] < min_size || csize[static_cast<size_t>(b)] < min_size))
            keys.push_back(static_cast<std::int64_t>(std::min(a, b)) * ncomp + std::max(a, b));
    };
    for (int y = 0; y < H; ++y) {
        for (int x = 0; x < W; ++x) {
            const std::ptrdiff_t p = static_cast<std::ptrdiff_t>(y) * W + x;
            const int a = comp[static_cast<size_t>(p)];
            if (x + 1 < W) add_pair(a, comp[static_cast<size_t>(p + 1)]);
            if (y + 1 < H) add_pair(a, comp[static_cast<size_t>(p + W)]);
        }
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    std::vector<std::vector<int>> adj(static_cast<size_t>(ncomp));
    for (std::int64_t k : keys) {
        const int a = static_cast<int>(k / ncomp), b = static_cast<int>(k % ncomp);
        adj[static_cast<size_t>(a)].push_back(b);
        adj[static_cast<size_t>(b)].push_back(a);
    }

    // Merge small components, smallest first (ties: lower id first).
    std::vector<int> order(static_cast<size_t>(ncomp));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        return csize[static_cast<size_t>(a)] < csize[static_cast<size_t>(b)];
    });
    UnionFind uf(ncomp);
    for (int c : order) {
        const int r = uf.find(c);
        const size_t rs = static_cast<size_t>(r);
        if (csize[rs] >= min_size) continue;
        const double mL = csum[rs * 3] / csize[rs], ma = csum[rs * 3 + 1] / csize[rs],
                     mb = csum[rs * 3 + 2] / csize[rs];
        int best = -1;
        double best_d = std::numeric_limits<double>::infinity();
        for (int n : adj[rs]) {
            const int t = uf.find(n);
            if (t == r) continue;
            const size_t ts = static_cast<size_t>(t);
            const double dL = csum[ts * 3] / csize[ts] - mL, da = csum[ts * 3 + 1] / csize[ts] - ma,
                         db = csum[ts * 3 + 2] / csize[ts] - mb;
            const double d = dL * dL + da * da + db * db;
            if (d < best_d || (d == best_d && t < best)) {
                best_d = d;
                best = t;
            }
        }
        if (best < 0) continue;  // the whole image is one component
        const size_t bs = static_cast<size_t>(best);
        uf.parent[rs] = best;
        csize[bs] += csize[rs];
        for (int i = 0; i < 3; ++i) csum[bs * 3 + i] += csum[rs * 3 + i];
        auto& dst = adj[bs];
        dst.insert(dst.end(), adj[rs].begin(), adj[rs].end());
        std::vector<int>().swap(adj[rs]);
    }

    // Renumber roots in raster order of their first pixel.
    std::vector<int> newid(static_cast<size_t>(ncomp), -1);
    int K = 0;
    for (std::ptrdiff_t p = 0; p < N; ++p) {
        const int r = uf.find(comp[static_cast<size_t>(p)]);
        int& id = newid[static_cast<size_t>(r)];
        if (id < 0) id = K++;
        labels[static_cast<size_t>(p)] = id;
    }
    return K;
}

}  // namespace

int check_labels(const LabelView& labels, const char* what) {
    check_label_view(labels, what);
    const std::ptrdiff_t N = labels.num_pixels();
    int maxv = -1;
    for (std::ptrdiff_t p = 0; p < N; ++p) {
        const int v = labels.data[p];
        if (v < 0)
            throw std::invalid_argument(std::string(what) + ": labels must be >= 0, found " +
                                        std::to_string(v) + " at (" + std::to_string(p / labels.width) +
                                        ", " + std::to_string(p % labels.width) + ")");
        maxv = std::max(maxv, v);
    }
    if (maxv >= N)
        throw std::invalid_argument(std::string(what) + ": label " + std::to_string(maxv) +
                                    " exceeds the pixel count; labels must be consecutive 0..K-1");
    std::vector<char> seen(static_cast<size_t>(maxv) + 1, 0);
    for (std::ptrdiff_t p = 0; p < N; ++p) seen[static_cast<size_t>(labels.data[p])] = 1;
    for (int k = 0; k <= maxv; ++k)
        if (!seen[static_cast<size_t>(k)])
            throw std::invalid_argument(std::string(what) + ": labels must be consecutive 0.." +
                                        std::to_string(maxv) + " but label " + std::to_string(k) +
                                        " is missing");
    return maxv + 1;
}

void rgb_to_lab(const ImageView& rgb, double* out, int num_threads) {
    check_image(rgb, "rgb_to_lab", 3);
    const std::ptrdiff_t N = rgb.num_pixels();
    const int nthreads = resolve_threads(num_threads);
    (void)nthreads;
    // sRGB (D65) -> XYZ, normalised by the D65 white point.
    constexpr double M[3][3] = {{0.412453, 0.357580, 0.180423},
                                {0.212671, 0.715160, 0.072169},
                                {0.019334, 0.119193, 0.950227}};
    constexpr double white[3] = {0.95047, 1.0, 1.08883};
#pragma omp parallel for schedule(dynamic, 4096) num_threads(nthreads)
    for (std::ptrdiff_t p = 0; p < N; ++p) {
        const double* c = rgb.data + p * 3;
        const double r = srgb_to_linear(c[0]), g = srgb_to_linear(c[1]), b = srgb_to_linear(c[2]);
        const double fx = lab_f((M[0][0] * r + M[0][1] * g + M[0][2] * b) / white[0]);
        const double fy = lab_f((M[1][0] * r + M[1][1] * g + M[1][2] * b) / white[1]);
        const double fz = lab_f((M[2][0] * r + M[2][1] * g + M[2][2] * b) / white[2]);
        double* o = out + p * 3;
        o[0] = 116.0 * fy - 16.0;
        o[1] = 500.0 * (fx - fy);
        o[2] = 200.0 * (fy - fz);
    }
}

SlicResult slic_superpixels(const ImageView& image, const SlicParams& params) {
    check_image(image, "superpixels", 3);
    if (params.n_segments < 1)
        throw std::invalid_argument("superpixels: n_segments must be >= 1, got " +
                                    std::to_string(params.n_segments));
    if (!(params.compactness > 0.0) || !std::isfinite(params.compactness))
        throw std::invalid_argument("superpixels: compactness must be finite and > 0");
    if (params.max_iter < 1)
        throw std::invalid_argument("superpixels: max_iter must be >= 1, got " +
                                    std::to_string(params.max_iter));
    if (!(params.min_size_factor >= 0.0 && params.min_size_factor <= 1.0))
        throw std::invalid_argument("superpixels: min_size_factor must be in [0, 1]");
    if (!(params.search_factor >= 1.0 && params.search_factor <= 4.0))
        throw std::invalid_argument("superpixels: search_factor must be in [1, 4]");
    const int H = image.height, W = image.width;
    const std::ptrdiff_t N = image.num_pixels();
    if (N > std::numeric_limits<int>::max())
        throw std::length_error("superpixels: image has too many pixels for 32-bit labels");
    // Each iteration synchronises the team three times; below ~0.5 megapixel
    // per thread that costs more than it saves (and far more on a busy
    // machine), so the default uses fewer threads on small images.
    const int nthreads = params.num_threads > 0
                             ? params.num_threads
                             : std::max(1, std::min(resolve_threads(0),
                                                    static_cast<int>(N / kSlicPixelsPerThread)));
    (void)nthreads;

    std::vector<double> lab(static_cast<size_t>(N) * 3);
    rgb_to_lab(image, lab.data(), nthreads);

    const double K0 = static_cast<double>(std::min<std::ptrdiff_t>(params.n_segments, N));
    const double S = std::sqrt(static_cast<double>(N) / K0);
    const int ny = std::clamp(static_cast<int>(std::lround(H / S)), 1, H);
    const int nx = std::clamp(static_cast<int>(std::lround(W / S)), 1, W);
    const int K = ny * nx;

    // Cluster centres: L, a, b, y, x.
    std::vector<double> cen(static_cast<size_t>(K) * 5);
    auto grad = [&](int y, int x) {
        const int y0 = std::max(y - 1, 0), y1 = std::min(y + 1, H - 1);
        const int x0 = std::max(x - 1, 0), x1 = std::min(x + 1, W - 1);
        double g = 0.0;
        for (int c = 0; c < 3; ++c) {
            const double dy = lab[(static_cast<size_t>(y1) * W + x) * 3 + c] -
                              lab[(static_cast<size_t>(y0) * W + x) * 3 + c];
            const double dx = lab[(static_cast<size_t>(y) * W + x1) * 3 + c] -
                              lab[(static_cast<size_t>(y) * W + x0) * 3 + c];
            g += dy * dy + dx * dx;
        }
        return g;
    };
    for (int i = 0; i < ny; ++i) {
        for (int j = 0; j < nx; ++j) {
            const int sy = std::min(static_cast<int>((i + 0.5) * H / ny), H - 1);
            const int sx = std::min(static_cast<int>((j + 0.5) * W / nx), W - 1);
            int by = sy, bx = sx;
            double bg = grad(sy, sx);
            for (int dy = -1; dy <= 1; ++dy)
                for (int dx = -1; dx <= 1; ++dx) {
                    const int y = sy + dy, x = sx + dx;
                    if (y < 0 || y >= H || x < 0 || x >= W) continue;
                    const double g = grad(y, x);
                    if (g < bg) {
                        bg = g;
                        by = y;
                        bx = x;
                    }
                }
            double* c = &cen[(static_cast<size_t>(i) * nx + j) * 5];
            const double* l = &lab[(static_cast<size_t>(by) * W + bx) * 3];
            c[0] = l[0];
            c[1] = l[1];
            c[2] = l[2];
            c[3] = by;
            c[4] = bx;
        }
    }

    std::vector<double> mc2(static_cast<size_t>(K), params.compactness * params.compactness);
    const double inv_S2 = 1.0 / (S * S);
    SlicResult res;
    std::vector<int>& labels = res.labels;
    labels.resize(static_cast<size_t>(N));
    for (int y = 0; y < H; ++y) {
        const int i = std::min(static_cast<int>(static_cast<std::int64_t>(y) * ny / H), ny - 1);
        for (int x = 0; x < W; ++x) {
            const int j = std::min(static_cast<int>(static_cast<std::int64_t>(x) * nx / W), nx - 1);
            labels[static_cast<size_t>(y) * W + x] = i * nx + j;
        }
    }

    // Centres are bucketed by row band (band height a hair above S); the
    // clusters that can reach pixel row y are in the bands within reach.
    const double R = params.search_factor * S;  // half-width of the search window
    const double band = S * (1.0 + 1e-9);
    const int nb = std::max(1, static_cast<int>(std::ceil(H / band)));
    const int reach = static_cast<int>(std::ceil(R / band)) + 1;
    std::vector<int> band_ptr, band_members(static_cast<size_t>(K));
    std::vector<double> inv_mc2(static_cast<size_t>(K));
    const int nblocks = std::min(H, 16);
    std::vector<double> acc(static_cast<size_t>(nblocks) * K * 6);
    // Planar single-precision copy of the Lab image for the assignment sweeps.
    std::vector<float> plane(static_cast<size_t>(N) * 3);
    for (std::ptrdiff_t p = 0; p < N; ++p)
        for (int c = 0; c < 3; ++c)
            plane[static_cast<size_t>(c) * static_cast<size_t>(N) + static_cast<size_t>(p)] =
                static_cast<float>(lab[static_cast<size_t>(p) * 3 + c]);

    int it = 0;
    for (; it < params.max_iter; ++it) {
        check_cancel();
        band_ptr.assign(static_cast<size_t>(nb) + 1, 0);
        for (int k = 0; k < K; ++k) {
            const int bi = std::clamp(static_cast<int>(cen[static_cast<size_t>(k) * 5 + 3] / band), 0, nb - 1);
            ++band_ptr[static_cast<size_t>(bi) + 1];
            inv_mc2[static_cast<size_t>(k)] = 1.0 / mc2[static_cast<size_t>(k)];
        }
        for (int i = 0; i < nb; ++i) band_ptr[static_cast<size_t>(i) + 1] += band_ptr[static_cast<size_t>(i)];
        {
            std::vector<int> pos(band_ptr.begin(), band_ptr.end() - 1);
            for (int k = 0; k < K; ++k) {
                const int bi = std::clamp(static_cast<int>(cen[static_cast<size_t>(k) * 5 + 3] / band), 0, nb - 1);
                band_members[static_cast<size_t>(pos[static_cast<size_t>(bi)]++)] = k;
            }
        }

        // Assignment, one pixel row at a time: every cluster whose window
        // covers the row sweeps its column range, in a fixed order (ties go
        // to the first), so the result does not depend on the threads.
        int changed = 0;
#pragma omp parallel num_threads(nthreads) reduction(+ : changed)
        {
            std::vector<float> best(static_cast<size_t>(W));
            std::vector<int> bk(static_cast<size_t>(W));
#pragma omp for schedule(dynamic, 4)
            for (int y = 0; y < H; ++y) {
                std::fill(best.begin(), best.end(), std::numeric_limits<float>::infinity());
                std::fill(bk.begin(), bk.end(), -1);
                const size_t row = static_cast<size_t>(y) * W;
                const float* Lr = &plane[row];
                const float* ar = &plane[static_cast<size_t>(N) + row];
                const float* br = &plane[2 * static_cast<size_t>(N) + row];
                const int by = std::min(static_cast<int>(y / band), nb - 1);
                const int b0 = std::max(by - reach, 0), b1 = std::min(by + reach, nb - 1);
                for (int q = band_ptr[static_cast<size_t>(b0)]; q < band_ptr[static_cast<size_t>(b1) + 1]; ++q) {
                    const int k = band_members[static_cast<size_t>(q)];
                    const double* c = &cen[static_cast<size_t>(k) * 5];
                    const double dy = y - c[3];
                    if (std::abs(dy) > R) continue;
                    const int x0 = std::max(0, static_cast<int>(std::ceil(c[4] - R)));
                    const int x1 = std::min(W - 1, static_cast<int>(std::floor(c[4] + R)));
                    // Colour weights above 1e30 only matter for exactly equal
                    // colours; the cap keeps float sums finite.
                    const float im = static_cast<float>(std::min(inv_mc2[static_cast<size_t>(k)], 1e30));
                    const float dy2 = static_cast<float>(dy * dy * inv_S2);
                    const float cL = static_cast<float>(c[0]), ca = static_cast<float>(c[1]),
                                cb = static_cast<float>(c[2]), cx = static_cast<float>(c[4]);
                    const float is2 = static_cast<float>(inv_S2);
                    float* bst = best.data();
                    int* bkk = bk.data();
                    // Branch-free so that it vectorises.
#pragma GCC ivdep
                    for (int x = x0; x <= x1; ++x) {
                        const float d0 = Lr[x] - cL, d1 = ar[x] - ca, d2 = br[x] - cb;
                        const float dx = static_cast<float>(x) - cx;
                        const float D = (d0 * d0 + d1 * d1 + d2 * d2) * im + dy2 + dx * dx * is2;
                        const float b = bst[x];
                        const int mask = -static_cast<int>(D < b);
                        bst[x] = D < b ? D : b;
                        bkk[x] = (k & mask) | (bkk[x] & ~mask);
                    }
                }
                for (int x = 0; x < W; ++x) {
                    const size_t p = row + static_cast<size_t>(x);
                    const int k = bk[static_cast<size_t>(x)];
                    if (k < 0 || k == labels[p]) continue;  // none in reach: keep the label
                    ++changed;
                    labels[p] = k;
                }
            }
        }
        res.iterations = it + 1;
        if ((it > 0 && changed == 0) || it + 1 == params.max_iter) break;

        // Update: centres to the means of their pixels. Rows are split into a
        // fixed number of blocks summed separately and combined in order, so
        // the result does not depend on the thread count.
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)
        for (int blk = 0; blk < nblocks; ++blk) {
            double* A = &acc[static_cast<size_t>(blk) * K * 6];
            std::fill(A, A + static_cast<size_t>(K) * 6, 0.0);
            for (int y = blk * H / nblocks; y < (blk + 1) * H / nblocks; ++y) {
                const size_t row = static_cast<size_t>(y) * W;
                for (int x = 0; x < W; ++x) {
                    const size_t p = row + static_cast<size_t>(x);
                    double* a = &A[static_cast<size_t>(labels[p]) * 6];
                    const double* l = &lab[p * 3];
                    a[0] += l[0];
                    a[1] += l[1];
                    a[2] += l[2];
                    a[3] += y;
                    a[4] += x;
                    a[5] += 1.0;
                }
            }
        }
        for (size_t k = 0; k < static_cast<size_t>(K); ++k) {
            double sum[6] = {0, 0, 0, 0, 0, 0};
            for (int blk = 0; blk < nblocks; ++blk)
                for (int i = 0; i < 6; ++i) sum[i] += acc[(static_cast<size_t>(blk) * K + k) * 6 + i];
            if (sum[5] == 0.0) continue;  // empty cluster: keep its centre
            for (int i = 0; i < 5; ++i) cen[k * 5 + i] = sum[i] / sum[5];
        }
        // SLIC-0: m_k^2 becomes the largest squared colour distance of the
        // cluster's pixels to its new centre, never decreasing (a maximum:
        // per-block partial maxima combine exactly).
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)
        for (int blk = 0; blk < nblocks; ++blk) {
            double* M = &acc[static_cast<size_t>(blk) * K * 6];  // reuse: K values per block
            std::copy(mc2.begin(), mc2.end(), M);
            for (std::ptrdiff_t p = static_cast<std::ptrdiff_t>(blk) * H / nblocks * W;
                 p < static_cast<std::ptrdiff_t>(blk + 1) * H / nblocks * W; ++p) {
                const size_t k = static_cast<size_t>(labels[static_cast<size_t>(p)]);
                const double* c = &cen[k * 5];
                const double* l = &lab[static_cast<size_t>(p) * 3];
                const double d0 = l[0] - c[0], d1 = l[1] - c[1], d2 = l[2] - c[2];
                M[k] = std::max(M[k], d0 * d0 + d1 * d1 + d2 * d2);
            }
        }
        for (size_t k = 0; k < static_cast<size_t>(K); ++k)
            for (int blk = 0; blk < nblocks; ++blk)
                mc2[k] = std::max(mc2[k], acc[static_cast<size_t>(blk) * K * 6 + k]);
    }

    const int min_size = static_cast<int>(params.min_size_factor * static_cast<double>(N) / K0);
    res.count = enforce_connectivity(labels, lab, H, W, min_size);
    return res;
}

std::vector<int> adjacent_pairs(const LabelView& labels, int count, int connectivity) {
    check_label_view(labels, "adjacent_pairs");
    if (connectivity != 4 && connectivity != 8)
        throw std::invalid_argument("adjacent_pairs: connectivity must be 4 or 8, got " +
                                    std::to_string(connectivity));
    const int H = labels.height, W = labels.width;
    const int* L = labels.data;
    std::vector<std::int64_t> keys;
    auto add = [&](int a, int b) {
        if (a != b) keys.push_back(static_cast<std::int64_t>(std::min(a, b)) * count + std::max(a, b));
    };
    for (int y = 0; y < H; ++y) {
        const int* row = L + static_cast<std::ptrdiff_t>(y) * W;
        const int* next = y + 1 < H ? row + W : nullptr;
        for (int x = 0; x < W; ++x) {
            const int a = row[x];
            if (x + 1 < W) add(a, row[x + 1]);
            if (next) {
                add(a, next[x]);
                if (connectivity == 8) {
                    if (x + 1 < W) add(a, next[x + 1]);
                    if (x > 0) add(a, next[x - 1]);
                }
            }
        }
        // Keep the working set small on large images.
        if (keys.size() > (1u << 20)) {
            std::sort(keys.begin(), keys.end());
            keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
        }
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    std::vector<int> out(keys.size() * 2);
    for (size_t i = 0; i < keys.size(); ++i) {
        out[2 * i] = static_cast<int>(keys[i] / count);
        out[2 * i + 1] = static_cast<int>(keys[i] % count);
    }
    return out;
}

Centroids centroid_pixels(const LabelView& labels, int count) {
    check_label_view(labels, "centroid_pixels");
    const int H = labels.height, W = labels.width;
    std::vector<std::int64_t> sy(static_cast<size_t>(count), 0), sx(static_cast<size_t>(count), 0);
    Centroids c;
    c.size.assign(static_cast<size_t>(count), 0);
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) {
            const size_t k = static_cast<size_t>(labels.data[static_cast<std::ptrdiff_t>(y) * W + x]);
            sy[k] += y;
            sx[k] += x;
            ++c.size[k];
        }
    c.row.resize(static_cast<size_t>(count));
    c.col.resize(static_cast<size_t>(count));
    for (size_t k = 0; k < static_cast<size_t>(count); ++k) {
        const std::int64_t n = c.size[k];
        if (n == 0) throw std::invalid_argument("centroid_pixels: label " + std::to_string(k) + " is empty");
        // Coordinates are >= 0, so rounding half away from zero is floor(mean + 1/2),
        // done exactly in integers: floor((2 s + n) / (2 n)).
        c.row[k] = static_cast<int>((2 * sy[k] + n) / (2 * n));
        c.col[k] = static_cast<int>((2 * sx[k] + n) / (2 * n));
    }
    return c;
}

std::vector<double> region_means(const LabelView& labels, int count, const ImageView& values) {
    check_label_view(labels, "region_means");
    check_image(values, "region_means", 0);
    if (values.height != labels.height || values.width != labels.width)
        throw std::invalid_argument("region_means: values of " + std::to_string(values.height) +
                                    " x " + std::to_string(values.width) +
                                    " pixels do not match the labels' " +
                                    std::to_string(labels.height) + " x " + std::to_string(labels.width));
    const int C = values.channels;
    const std::ptrdiff_t N = labels.num_pixels();
    std::vector<double> sum(static_cast<size_t>(count) * C, 0.0);
    std::vector<std::int64_t> n(static_cast<size_t>(count), 0);
    for (std::ptrdiff_t p = 0; p < N; ++p) {
        const size_t k = static_cast<size_t>(labels.data[p]);
        const double* v = values.pixel(p);
        double* s = &sum[k * C];
        for (int c = 0; c < C; ++c) s[c] += v[c];
        ++n[k];
    }
    for (size_t k = 0; k < static_cast<size_t>(count); ++k) {
        if (n[k] == 0) throw std::invalid_argument("region_means: label " + std::to_string(k) + " is empty");
        for (int c = 0; c < C; ++c) sum[k * C + c] /= static_cast<double>(n[k]);
    }
    return sum;
}

SuperpixelGraph superpixel_graph(const LabelView& labels, const ImageView* image,
                                 const ImageView* features, int connectivity) {
    SuperpixelGraph g;
    g.count = check_labels(labels, "superpixel_graph");
    g.height = labels.height;
    g.width = labels.width;
    // connectivity 0: no adjacency (the colour affinity pairs by distance instead)
    if (connectivity != 0) g.pairs = adjacent_pairs(labels, g.count, connectivity);
    g.centroids = centroid_pixels(labels, g.count);
    auto means = [&](const ImageView* v, std::vector<double>& out, int& channels, const char* what) {
        if (v == nullptr) return;
        check_image(*v, what, 0);
        if (v->height != labels.height || v->width != labels.width)
            throw std::invalid_argument(std::string("superpixel_graph: ") + what +
                                        " and labels differ in size");
        out = region_means(labels, g.count, *v);
        channels = v->channels;
    };
    means(image, g.mean_color, g.color_channels, "image");
    means(features, g.mean_feature, g.feature_channels, "features");
    return g;
}

}  // namespace sss
