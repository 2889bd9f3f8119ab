// Stages 4-6 (docs/algorithm.md): superpixel affinities at centroid pixels.
#include "sss/affinity.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "sss/parallel.hpp"
#include "sss/random.hpp"

namespace sss {
namespace {

void check_same_size(const LabelView& labels, const ImageView& img, const char* what,
                     const char* img_name) {
    if (img.height != labels.height || img.width != labels.width)
        throw std::invalid_argument(std::string(what) + ": " + img_name + " of " +
                                    std::to_string(img.height) + " x " + std::to_string(img.width) +
                                    " pixels does not match the labels' " +
                                    std::to_string(labels.height) + " x " +
                                    std::to_string(labels.width));
}

void check_finite_param(double v, const char* what, const char* name) {
    if (!std::isfinite(v))
        throw std::invalid_argument(std::string(what) + ": " + name + " must be finite");
}

// Euclidean distance between rows a and b of a K x C row-major matrix.
inline double row_distance(const std::vector<double>& m, int C, int a, int b) {
    double s = 0.0;
    const double* pa = &m[static_cast<size_t>(a) * C];
    const double* pb = &m[static_cast<size_t>(b) * C];
    for (int c = 0; c < C; ++c) {
        const double d = std::abs(pa[c] - pb[c]);
        s += d * d;
    }
    return std::sqrt(s);
}

}  // namespace

std::vector<int> pairs_within_radius(const std::vector<double>& y, const std::vector<double>& x,
                                     double radius, int num_threads) {
    if (y.size() != x.size())
        throw std::invalid_argument("pairs_within_radius: y and x differ in length");
    if (!(radius >= 0.0))
        throw std::invalid_argument("pairs_within_radius: radius must be >= 0");
    if (y.size() > static_cast<size_t>(INT_MAX))
        throw std::length_error("pairs_within_radius: too many points");
    const int n = static_cast<int>(y.size());
    std::vector<int> out;
    if (n < 2) return out;
    double ymin = y[0], ymax = y[0], xmin = x[0], xmax = x[0];
    for (int i = 0; i < n; ++i) {
        if (!std::isfinite(y[static_cast<size_t>(i)]) || !std::isfinite(x[static_cast<size_t>(i)]))
            throw std::invalid_argument("pairs_within_radius: points must be finite");
        ymin = std::min(ymin, y[static_cast<size_t>(i)]);
        ymax = std::max(ymax, y[static_cast<size_t>(i)]);
        xmin = std::min(xmin, x[static_cast<size_t>(i)]);
        xmax = std::max(xmax, x[static_cast<size_t>(i)]);
    }
    // Cells a hair larger than the radius, so a pair within the radius is
    // always in the same or adjacent cells; at most 2048 cells per axis.
    const double extent = std::max(ymax - ymin, xmax - xmin);
    double cell = radius * (1.0 + 1e-6);
    cell = std::max(cell, extent / 2048.0);
    if (!(cell > 0.0) || !std::isfinite(cell)) cell = std::max(extent, 1.0);
    const int gh = std::min(2048, static_cast<int>((ymax - ymin) / cell) + 1);
    const int gw = std::min(2048, static_cast<int>((xmax - xmin) / cell) + 1);
    std::vector<int> cell_of(static_cast<size_t>(n));
    std::vector<int> ptr(static_cast<size_t>(gh) * gw + 1, 0);
    for (int i = 0; i < n; ++i) {
        const int gy = std::min(static_cast<int>((y[static_cast<size_t>(i)] - ymin) / cell), gh - 1);
        const int gx = std::min(static_cast<int>((x[static_cast<size_t>(i)] - xmin) / cell), gw - 1);
        cell_of[static_cast<size_t>(i)] = gy * gw + gx;
        ++ptr[static_cast<size_t>(gy) * gw + gx + 1];
    }
    for (size_t c = 0; c + 1 < ptr.size(); ++c) ptr[c + 1] += ptr[c];
    std::vector<int> members(static_cast<size_t>(n));
    {
        std::vector<int> pos(ptr.begin(), ptr.end() - 1);
        for (int i = 0; i < n; ++i) members[static_cast<size_t>(pos[static_cast<size_t>(cell_of[static_cast<size_t>(i)])]++)] = i;
    }

    const int chunk = 64;
    const int nchunks = (n + chunk - 1) / chunk;
    std::vector<std::vector<int>> parts(static_cast<size_t>(nchunks));
    const int nthreads = resolve_threads(num_threads);
    (void)nthreads;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)
    for (int ch = 0; ch < nchunks; ++ch) {
        std::vector<int>& part = parts[static_cast<size_t>(ch)];
        for (int i = ch * chunk; i < std::min(n, (ch + 1) * chunk); ++i) {
            const int gy = cell_of[static_cast<size_t>(i)] / gw, gx = cell_of[static_cast<size_t>(i)] % gw;
            const double yi = y[static_cast<size_t>(i)], xi = x[static_cast<size_t>(i)];
            for (int ty = std::max(gy - 1, 0); ty <= std::min(gy + 1, gh - 1); ++ty)
                for (int tx = std::max(gx - 1, 0); tx <= std::min(gx + 1, gw - 1); ++tx) {
                    const size_t t = static_cast<size_t>(ty) * gw + tx;
                    for (int q = ptr[t]; q < ptr[t + 1]; ++q) {
                        const int j = members[static_cast<size_t>(q)];
                        if (j <= i) continue;
                        const double dy = yi - y[static_cast<size_t>(j)];
                        const double dx = xi - x[static_cast<size_t>(j)];
                        if (!(std::sqrt(dy * dy + dx * dx) > radius)) {
                            part.push_back(i);
                            part.push_back(j);
                        }
                    }
                }
        }
    }
    size_t total = 0;
    for (const auto& p : parts) total += p.size();
    out.reserve(total);
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

SparseMatrix centroid_pair_matrix(std::ptrdiff_t num_pixels, const std::vector<int>& pixel,
                                  const std::vector<int>& pairs, const std::vector<double>& values) {
    if (pairs.size() != 2 * values.size())
        throw std::invalid_argument("centroid_pair_matrix: pairs and values differ in length");
    if (num_pixels > INT_MAX)
        throw std::length_error("centroid_pair_matrix: too many pixels for 32-bit indices");
    if (values.size() > static_cast<size_t>(INT_MAX / 2))
        throw std::length_error("centroid_pair_matrix: too many pairs for 32-bit indices");
    const std::ptrdiff_t E = static_cast<std::ptrdiff_t>(values.size());
    for (int p : pixel)
        if (p < 0 || p >= num_pixels)
            throw std::invalid_argument("centroid_pair_matrix: centroid pixel out of range");
    for (int v : pairs)
        if (v < 0 || static_cast<size_t>(v) >= pixel.size())
            throw std::invalid_argument("centroid_pair_matrix: pair index out of range");

    // Entries of T and T^T in insertion order: e-th pair gives (a, b) then (b, a).
    const auto row_of = [&](std::ptrdiff_t q) {
        return pixel[static_cast<size_t>(pairs[static_cast<size_t>(q)])];
    };
    const auto col_of = [&](std::ptrdiff_t q) {
        return pixel[static_cast<size_t>(pairs[static_cast<size_t>(q ^ 1)])];
    };
    const std::ptrdiff_t M = 2 * E;
    // Stable counting sort by column, then by row: rows come out sorted by
    // column, and duplicates stay in insertion order.
    std::vector<int> cptr(static_cast<size_t>(num_pixels) + 1, 0), rptr(static_cast<size_t>(num_pixels) + 1, 0);
    for (std::ptrdiff_t q = 0; q < M; ++q) {
        ++cptr[static_cast<size_t>(col_of(q)) + 1];
        ++rptr[static_cast<size_t>(row_of(q)) + 1];
    }
    for (std::ptrdiff_t r = 0; r < num_pixels; ++r) {
        cptr[static_cast<size_t>(r) + 1] += cptr[static_cast<size_t>(r)];
        rptr[static_cast<size_t>(r) + 1] += rptr[static_cast<size_t>(r)];
    }
    std::vector<int> by_col(static_cast<size_t>(M));
    for (std::ptrdiff_t q = 0; q < M; ++q)
        by_col[static_cast<size_t>(cptr[static_cast<size_t>(col_of(q))]++)] = static_cast<int>(q);
    std::vector<int> col(static_cast<size_t>(M));
    std::vector<double> val(static_cast<size_t>(M));
    {
        std::vector<int> pos(rptr.begin(), rptr.end() - 1);
        for (std::ptrdiff_t t = 0; t < M; ++t) {
            const int q = by_col[static_cast<size_t>(t)];
            const int k = pos[static_cast<size_t>(row_of(q))]++;
            col[static_cast<size_t>(k)] = col_of(q);
            val[static_cast<size_t>(k)] = values[static_cast<size_t>(q / 2)];
        }
    }
    // Sum duplicates (adjacent now), drop exact zeros, compress in place.
    SparseMatrix out(num_pixels, num_pixels);
    int* oo = out.outerIndexPtr();
    int k = 0;
    oo[0] = 0;
    for (std::ptrdiff_t r = 0; r < num_pixels; ++r) {
        const int b = rptr[static_cast<size_t>(r)], e = rptr[static_cast<size_t>(r) + 1];
        for (int q = b; q < e;) {
            double s = val[static_cast<size_t>(q)];
            int q2 = q + 1;
            while (q2 < e && col[static_cast<size_t>(q2)] == col[static_cast<size_t>(q)]) s += val[static_cast<size_t>(q2++)];
            if (s != 0.0) {
                col[static_cast<size_t>(k)] = col[static_cast<size_t>(q)];
                val[static_cast<size_t>(k)] = s;
                ++k;
            }
            q = q2;
        }
        oo[r + 1] = k;
    }
    out.resizeNonZeros(k);
    std::copy(col.begin(), col.begin() + k, out.innerIndexPtr());
    std::copy(val.begin(), val.begin() + k, out.valuePtr());
    return out;
}

SparseMatrix semantic_affinity(const LabelView& labels, const ImageView& features,
                               const SemanticParams& params) {
    check_labels(labels, "semantic_affinity");
    check_image(features, "semantic_affinity", 0);
    check_same_size(labels, features, "semantic_affinity", "features");
    return semantic_affinity(superpixel_graph(labels, nullptr, &features, params.connectivity),
                             params);
}

SparseMatrix semantic_affinity(const SuperpixelGraph& graph, const SemanticParams& params) {
    check_finite_param(params.steepness, "semantic_affinity", "steepness");
    check_finite_param(params.center, "semantic_affinity", "center");
    const int K = graph.count, C = graph.feature_channels;
    if (graph.mean_feature.size() != static_cast<size_t>(K) * C || C < 1)
        throw std::invalid_argument("semantic_affinity: the superpixel graph has no mean features");
    const std::vector<int>& pairs = graph.pairs;
    std::vector<int> pixel(static_cast<size_t>(K));
    for (size_t k = 0; k < pixel.size(); ++k)
        pixel[k] = graph.centroids.row[k] * graph.width + graph.centroids.col[k];
    std::vector<double> w(pairs.size() / 2);
    for (size_t e = 0; e < w.size(); ++e) {
        const double aff = 1.0 - row_distance(graph.mean_feature, C, pairs[2 * e], pairs[2 * e + 1]);
        w[e] = std::erf(params.steepness * (aff - params.center));
    }
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(graph.height) * graph.width;
    return centroid_pair_matrix(n, pixel, pairs, w);
}

SparseMatrix color_affinity(const LabelView& labels, const ImageView& image, const ColorParams& params) {
    check_labels(labels, "color_affinity");
    check_image(image, "color_affinity", 0);
    check_same_size(labels, image, "color_affinity", "image");
    // no adjacency needed: connectivity 0 skips it
    return color_affinity(superpixel_graph(labels, &image, nullptr, 0), params);
}

SparseMatrix color_affinity(const SuperpixelGraph& graph, const ColorParams& params) {
    check_finite_param(params.steepness, "color_affinity", "steepness");
    check_finite_param(params.center, "color_affinity", "center");
    if (!(params.radius >= 0.0))
        throw std::invalid_argument("color_affinity: radius must be >= 0");
    const int H = graph.height, W = graph.width, K = graph.count, C = graph.color_channels;
    if (graph.mean_color.size() != static_cast<size_t>(K) * C || C < 1)
        throw std::invalid_argument("color_affinity: the superpixel graph has no mean colours");
    const Centroids& cen = graph.centroids;
    const std::vector<double>& means = graph.mean_color;
    std::vector<int> pixel(static_cast<size_t>(K));
    std::vector<double> ny(static_cast<size_t>(K)), nx(static_cast<size_t>(K));
    for (size_t k = 0; k < pixel.size(); ++k) {
        pixel[k] = cen.row[k] * W + cen.col[k];
        // The reference's normalised centroid: 1-based row / height, col / width.
        ny[k] = static_cast<double>(cen.row[k] + 1) / H;
        nx[k] = static_cast<double>(cen.col[k] + 1) / W;
    }
    const std::vector<int> pairs = pairs_within_radius(ny, nx, params.radius, params.num_threads);
    const std::ptrdiff_t E = static_cast<std::ptrdiff_t>(pairs.size() / 2);
    std::vector<double> w(static_cast<size_t>(E));
    const int nthreads = resolve_threads(params.num_threads);
    (void)nthreads;
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (std::ptrdiff_t e = 0; e < E; ++e) {
        const double aff = 1.0 - row_distance(means, C, pairs[static_cast<size_t>(2 * e)],
                                              pairs[static_cast<size_t>(2 * e + 1)]);
        w[static_cast<size_t>(e)] = (std::erf(params.steepness * (aff - params.center)) + 1.0) / 2.0;
    }
    // Exact zeros (far-apart colours) add nothing to any sum: drop them early.
    std::vector<int> kept_pairs;
    std::vector<double> kept;
    kept_pairs.reserve(pairs.size());
    kept.reserve(w.size());
    for (std::ptrdiff_t e = 0; e < E; ++e) {
        if (w[static_cast<size_t>(e)] == 0.0) continue;
        kept_pairs.push_back(pairs[static_cast<size_t>(2 * e)]);
        kept_pairs.push_back(pairs[static_cast<size_t>(2 * e + 1)]);
        kept.push_back(w[static_cast<size_t>(e)]);
    }
    return centroid_pair_matrix(static_cast<std::ptrdiff_t>(H) * W, pixel, kept_pairs, kept);
}

namespace {

// Raw CSR arrays of up to kMaxTerms matrices and a row merger over them.
constexpr int kMaxTerms = 16;
struct Terms {
    int m = 0;
    const int* outer[kMaxTerms];
    const int* inner[kMaxTerms];
    const double* value[kMaxTerms];
    double weight[kMaxTerms];

    // Calls emit(col, sum) for each column of row r with a nonzero weighted sum.
    template <typename Emit>
    void merge_row(Eigen::Index r, Emit&& emit) const {
        int pos[kMaxTerms], end[kMaxTerms];
        for (int i = 0; i < m; ++i) {
            pos[i] = outer[i][r];
            end[i] = outer[i][r + 1];
        }
        while (true) {
            int c = INT_MAX;
            for (int i = 0; i < m; ++i)
                if (pos[i] < end[i] && inner[i][pos[i]] < c) c = inner[i][pos[i]];
            if (c == INT_MAX) return;
            double s = 0.0;
            for (int i = 0; i < m; ++i)
                if (pos[i] < end[i] && inner[i][pos[i]] == c) s += weight[i] * value[i][pos[i]++];
            if (s != 0.0) emit(c, s);
        }
    }
};

Terms make_terms(const std::vector<SparseRef>& mats, const std::vector<double>& weights,
                 const char* what) {
    if (mats.empty()) throw std::invalid_argument(std::string(what) + ": no matrices");
    if (mats.size() != weights.size())
        throw std::invalid_argument(std::string(what) + ": one weight per matrix is needed");
    if (mats.size() > static_cast<size_t>(kMaxTerms))
        throw std::invalid_argument(std::string(what) + ": at most 16 matrices");
    const Eigen::Index rows = mats[0].rows(), cols = mats[0].cols();
    Terms t;
    t.m = static_cast<int>(mats.size());
    for (size_t i = 0; i < mats.size(); ++i) {
        if (mats[i].rows() != rows || mats[i].cols() != cols)
            throw std::invalid_argument(std::string(what) + ": matrix " + std::to_string(i) +
                                        " is " + std::to_string(mats[i].rows()) + " x " +
                                        std::to_string(mats[i].cols()) + ", expected " +
                                        std::to_string(rows) + " x " + std::to_string(cols));
        if (!std::isfinite(weights[i]))
            throw std::invalid_argument(std::string(what) + ": weights must be finite");
        if (!mats[i].isCompressed())
            throw std::invalid_argument(std::string(what) + ": matrices must be compressed");
        t.outer[i] = mats[i].outerIndexPtr();
        t.inner[i] = mats[i].innerIndexPtr();
        t.value[i] = mats[i].valuePtr();
        t.weight[i] = weights[i];
    }
    return t;
}

}  // namespace

SparseMatrix weighted_sum(const std::vector<SparseRef>& mats, const std::vector<double>& weights) {
    const Terms t = make_terms(mats, weights, "weighted_sum");
    const Eigen::Index rows = mats[0].rows(), cols = mats[0].cols();
    std::vector<std::int64_t> len(static_cast<size_t>(rows) + 1, 0);
#pragma omp parallel for schedule(dynamic, 1024)
    for (Eigen::Index r = 0; r < rows; ++r) {
        std::int64_t n = 0;
        t.merge_row(r, [&](int, double) { ++n; });
        len[static_cast<size_t>(r) + 1] = n;
    }
    for (Eigen::Index r = 0; r < rows; ++r) len[static_cast<size_t>(r) + 1] += len[static_cast<size_t>(r)];
    if (len[static_cast<size_t>(rows)] > INT_MAX)
        throw std::length_error("weighted_sum: too many nonzeros for 32-bit indices");
    SparseMatrix out(rows, cols);
    out.resizeNonZeros(static_cast<Eigen::Index>(len[static_cast<size_t>(rows)]));
    int* oo = out.outerIndexPtr();
    int* oi = out.innerIndexPtr();
    double* ov = out.valuePtr();
    for (Eigen::Index r = 0; r <= rows; ++r) oo[r] = static_cast<int>(len[static_cast<size_t>(r)]);
#pragma omp parallel for schedule(dynamic, 1024)
    for (Eigen::Index r = 0; r < rows; ++r) {
        int k = oo[r];
        t.merge_row(r, [&](int c, double v) {
            oi[k] = c;
            ov[k] = v;
            ++k;
        });
    }
    return out;
}

SparseMatrix weighted_laplacian(const std::vector<SparseRef>& mats, const std::vector<double>& weights) {
    const Terms t = make_terms(mats, weights, "weighted_laplacian");
    const Eigen::Index n = mats[0].rows();
    if (mats[0].cols() != n)
        throw std::invalid_argument("weighted_laplacian: matrices must be square");
    std::vector<std::int64_t> len(static_cast<size_t>(n) + 1, 0);
    std::vector<double> diag(static_cast<size_t>(n));
    // Pass 1: row lengths (off-diagonal nonzeros + the diagonal) and
    // L_rr = rowsum(W)_r - W_rr, as the reference's diag(sum(W, 2)) - W.
#pragma omp parallel for schedule(dynamic, 1024)
    for (Eigen::Index r = 0; r < n; ++r) {
        std::int64_t cnt = 1;
        double rowsum = 0.0, wrr = 0.0;
        t.merge_row(r, [&](int c, double v) {
            rowsum += v;
            if (c == r) wrr = v;
            else ++cnt;
        });
        diag[static_cast<size_t>(r)] = rowsum - wrr;
        len[static_cast<size_t>(r) + 1] = cnt;
    }
    for (Eigen::Index r = 0; r < n; ++r) len[static_cast<size_t>(r) + 1] += len[static_cast<size_t>(r)];
    if (len[static_cast<size_t>(n)] > INT_MAX)
        throw std::length_error("weighted_laplacian: too many nonzeros for 32-bit indices");
    SparseMatrix L(n, n);
    L.resizeNonZeros(static_cast<Eigen::Index>(len[static_cast<size_t>(n)]));
    int* lo = L.outerIndexPtr();
    int* li = L.innerIndexPtr();
    double* lv = L.valuePtr();
    for (Eigen::Index r = 0; r <= n; ++r) lo[r] = static_cast<int>(len[static_cast<size_t>(r)]);
    // Pass 2: -W off the diagonal, the degree on it, columns ascending.
#pragma omp parallel for schedule(dynamic, 1024)
    for (Eigen::Index r = 0; r < n; ++r) {
        int k = lo[r];
        bool placed = false;
        const int rr = static_cast<int>(r);
        t.merge_row(r, [&](int c, double v) {
            if (!placed && c >= rr) {
                li[k] = rr;
                lv[k++] = diag[static_cast<size_t>(r)];
                placed = true;
            }
            if (c != rr) {
                li[k] = c;
                lv[k++] = -v;
            }
        });
        if (!placed) {
            li[k] = rr;
            lv[k] = diag[static_cast<size_t>(r)];
        }
    }
    return L;
}

}  // namespace sss

// ---------------------------------------------------------------- stage 6: the Laplacian
namespace sss {

SparseMatrix affinity_laplacian(const SparseRef& matting, const SparseRef& semantic,
                                const SparseRef& color, const AffinityParams& params) {
    const std::vector<SparseRef> terms{matting, semantic, color};
    const std::vector<double> weights{1.0, params.semantic_weight, params.color_weight};
    SparseMatrix L = weighted_laplacian(terms, weights);
    if (!params.normalized) return L;
    // D^-1/2 L D^-1/2 with D the row sums of W, each summed as numpy's
    // add.reduceat does (first entry, then the pairwise sum of the rest)
    SparseMatrix W = weighted_sum(terms, weights);
    const Eigen::Index n = W.rows();
    std::vector<double> s(static_cast<std::size_t>(n));
    for (Eigen::Index r = 0; r < n; ++r) {
        const int a = W.outerIndexPtr()[r], b = W.outerIndexPtr()[r + 1];
        const double* v = W.valuePtr() + a;
        const double d = b > a ? v[0] + numpy_sum(v + 1, b - a - 1) : 0.0;
        if (!(d > 0))
            throw std::invalid_argument(
                "normalized=True needs positive affinity row sums, but row " + std::to_string(r) +
                " sums to " + std::to_string(d) + "; use the unnormalised Laplacian");
        s[static_cast<std::size_t>(r)] = 1.0 / std::sqrt(d);
    }
    SparseMatrix out(n, n);
    out.reserve(L.nonZeros());
    std::vector<Eigen::Triplet<double, int>> entries;
    entries.reserve(static_cast<std::size_t>(L.nonZeros()));
    for (Eigen::Index r = 0; r < n; ++r)
        for (SparseMatrix::InnerIterator it(L, r); it; ++it) {
            const double v = (s[static_cast<std::size_t>(r)] * it.value()) *
                             s[static_cast<std::size_t>(it.col())];
            if (v != 0.0) entries.emplace_back(int(r), int(it.col()), v);
        }
    out.setFromTriplets(entries.begin(), entries.end());
    out.makeCompressed();
    L.swap(out);
    return L;
}

SparseMatrix image_laplacian(const ImageView& image, const ImageView& features,
                             const AffinityParams& params, const int* labels,
                             std::vector<int>* labels_out, AffinityTerms* terms_out) {
    check_image(image, "image", 3);
    check_image(features, "features", 0);
    if (features.height != image.height || features.width != image.width)
        throw std::invalid_argument("features and image differ in size");
    std::vector<int> own;
    if (labels == nullptr) {
        own = slic_superpixels(image, params.superpixels).labels;
        labels = own.data();
    }
    const LabelView lab{labels, image.height, image.width};
    check_labels(lab, "superpixel labels");
    const SuperpixelGraph graph =
        superpixel_graph(lab, &image, &features, params.semantic.connectivity);
    SparseMatrix W_L = matting_affinity(image, params.matting);
    SparseMatrix W_S = semantic_affinity(graph, params.semantic);
    SparseMatrix W_C = color_affinity(graph, params.color);
    SparseMatrix L = affinity_laplacian(W_L, W_S, W_C, params);
    if (terms_out != nullptr) {
        terms_out->matting.swap(W_L);
        terms_out->semantic.swap(W_S);
        terms_out->color.swap(W_C);
    }
    if (labels_out != nullptr) {
        if (own.empty()) own.assign(labels, labels + image.num_pixels());
        labels_out->swap(own);
    }
    return L;
}

}  // namespace sss
