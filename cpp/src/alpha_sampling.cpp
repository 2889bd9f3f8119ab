#include "sss/alpha_sampling.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "mask.hpp"
#include "sss/cancel.hpp"
#include "sss/parallel.hpp"

namespace sss {

// A data term for matting in the spirit of the sampling methods (Wang & Cohen,
// "Optimized color sampling for robust matting", CVPR 2007; He et al., "A global
// sampling method for alpha matting", CVPR 2011): an unknown pixel whose colour
// lies on the line between a nearby-in-colour foreground colour and background
// colour is that mixture. The closed-form matte alone propagates alpha from the
// trimap's known pixels, which are far away across a wide unknown band.

namespace {

using Point = std::array<double, 3>;

/// Exact k-nearest-neighbour search among 3-D points (squared Euclidean
/// distance; among equally near points the smaller index within the visited
/// leaves, else the fixed traversal order, decides).
class KdTree3 {
public:
    explicit KdTree3(std::vector<Point> points) : pts_(std::move(points)) {
        perm_.resize(pts_.size());
        for (std::size_t i = 0; i < perm_.size(); ++i) perm_[i] = static_cast<int>(i);
        if (!pts_.empty()) build(0, static_cast<int>(pts_.size()));
    }

    /// The k nearest points to q, nearest first: indices and squared distances
    /// (fewer than k when there are fewer points).
    int nearest(const Point& q, int k, int* idx, double* d2) const {
        int found = 0;
        if (!nodes_.empty()) search(0, q, k, idx, d2, found);
        return found;
    }

    const Point& point(int i) const { return pts_[static_cast<std::size_t>(i)]; }

private:
    struct Node {
        int begin, end;  // perm_ range
        int left = -1, right = -1, axis = -1;
        double split = 0.0;
    };
    static constexpr int kLeaf = 8;

    int build(int begin, int end) {
        const int id = static_cast<int>(nodes_.size());
        nodes_.push_back(Node{begin, end});
        if (end - begin <= kLeaf) return id;
        Point lo = pts_[perm_[begin]], hi = lo;
        for (int i = begin; i < end; ++i)
            for (int c = 0; c < 3; ++c) {
                lo[c] = std::min(lo[c], pts_[perm_[i]][c]);
                hi[c] = std::max(hi[c], pts_[perm_[i]][c]);
            }
        int axis = 0;
        for (int c = 1; c < 3; ++c)
            if (hi[c] - lo[c] > hi[axis] - lo[axis]) axis = c;
        const int mid = begin + (end - begin) / 2;
        std::nth_element(perm_.begin() + begin, perm_.begin() + mid, perm_.begin() + end,
                         [&](int a, int b) {
                             const double va = pts_[a][axis], vb = pts_[b][axis];
                             return va < vb || (va == vb && a < b);
                         });
        const double split = pts_[perm_[mid]][axis];
        const int left = build(begin, mid);
        const int right = build(mid, end);
        nodes_[id].left = left;
        nodes_[id].right = right;
        nodes_[id].axis = axis;
        nodes_[id].split = split;
        return id;
    }

    static double dist2(const Point& a, const Point& b) {
        const double x = a[0] - b[0], y = a[1] - b[1], z = a[2] - b[2];
        return x * x + y * y + z * z;
    }

    // insert (d, i) into the sorted list of the best `found` (at most k)
    static void offer(double d, int i, int k, int* idx, double* d2, int& found) {
        if (found == k && !(d < d2[k - 1] || (d == d2[k - 1] && i < idx[k - 1]))) return;
        int pos = found < k ? found++ : k - 1;
        while (pos > 0 && (d < d2[pos - 1] || (d == d2[pos - 1] && i < idx[pos - 1]))) {
            d2[pos] = d2[pos - 1];
            idx[pos] = idx[pos - 1];
            --pos;
        }
        d2[pos] = d;
        idx[pos] = i;
    }

    void search(int id, const Point& q, int k, int* idx, double* d2, int& found) const {
        const Node& n = nodes_[static_cast<std::size_t>(id)];
        if (n.axis < 0) {
            for (int i = n.begin; i < n.end; ++i)
                offer(dist2(q, pts_[perm_[i]]), perm_[i], k, idx, d2, found);
            return;
        }
        const double diff = q[n.axis] - n.split;
        const int near = diff < 0.0 ? n.left : n.right, far = diff < 0.0 ? n.right : n.left;
        search(near, q, k, idx, d2, found);
        // points on the far side are at least |diff| away; a far point only as near
        // as the k-th found is not looked for (photos hold many equal colours, and
        // visiting every tie would make the search linear), so among equally near
        // samples the traversal order decides, which is fixed: deterministic
        if (found < k || diff * diff < d2[k - 1]) search(far, q, k, idx, d2, found);
    }

    std::vector<Point> pts_;
    std::vector<int> perm_;
    std::vector<Node> nodes_;
};

}  // namespace

void check_alpha_sampling_params(const AlphaSamplingParams& params) {
    if (params.neighbours < 1 || params.neighbours > 64)
        throw std::invalid_argument("alpha sampling: neighbours must be in [1, 64], got " +
                                    std::to_string(params.neighbours));
    if (!(params.sigma > 0.0 && std::isfinite(params.sigma)))
        throw std::invalid_argument("alpha sampling: sigma must be positive and finite");
    if (params.band < 1)
        throw std::invalid_argument("alpha sampling: band must be >= 1, got " +
                                    std::to_string(params.band));
}

SampledAlpha sampled_alpha(const ImageView& image, const std::vector<double>& trimap,
                           const AlphaSamplingParams& params) {
    check_image(image, "image", 3);
    check_alpha_sampling_params(params);
    const int h = image.height, w = image.width;
    const std::size_t n = static_cast<std::size_t>(h) * w;
    if (trimap.size() != n)
        throw std::invalid_argument("alpha sampling: trimap and image differ in size");
    check_finite(trimap.data(), static_cast<std::ptrdiff_t>(n), "sampled_alpha", "trimap");

    SampledAlpha out;
    out.alpha = trimap;
    out.confidence.assign(n, 1.0);
    std::vector<unsigned char> fg(n), bg(n);
    std::vector<std::size_t> unknown;
    for (std::size_t p = 0; p < n; ++p) {
        fg[p] = trimap[p] == 1.0;
        bg[p] = trimap[p] == 0.0;
        if (!fg[p] && !bg[p]) {
            unknown.push_back(p);
            out.alpha[p] = 0.5;
            out.confidence[p] = 0.0;
        }
    }
    if (unknown.empty()) return out;
    auto samples = [&](const std::vector<unsigned char>& m) {
        std::vector<unsigned char> inner = m;
        detail::erode_mask(inner, h, w, params.band);
        std::vector<Point> pts;
        for (std::size_t p = 0; p < n; ++p)
            if (m[p] && !inner[p])
                pts.push_back({image.data[3 * p], image.data[3 * p + 1], image.data[3 * p + 2]});
        // each colour once: photos repeat colours (8-bit values, clipped highlights, a
        // plain backdrop), copies would take the k places of distinct candidates, and
        // the tree's search is linear among many equally near points
        std::sort(pts.begin(), pts.end());
        pts.erase(std::unique(pts.begin(), pts.end()), pts.end());
        return pts;
    };
    const KdTree3 ftree(samples(fg)), btree(samples(bg));
    check_cancel();
    const int k = params.neighbours;
    const double inv_sigma2 = 1.0 / (params.sigma * params.sigma);
    const std::ptrdiff_t nu = static_cast<std::ptrdiff_t>(unknown.size());
    const int threads = resolve_threads(params.num_threads);
    (void)threads;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        std::vector<int> fi(k), bi(k);
        std::vector<double> fd(k), bd(k);
#pragma omp for schedule(static)
        for (std::ptrdiff_t u = 0; u < nu; ++u) {
            const std::size_t p = unknown[static_cast<std::size_t>(u)];
            const Point I{image.data[3 * p], image.data[3 * p + 1], image.data[3 * p + 2]};
            const int nf = ftree.nearest(I, k, fi.data(), fd.data());
            const int nb = btree.nearest(I, k, bi.data(), bd.data());
            if (nf == 0 || nb == 0) continue;
            double best_r = std::numeric_limits<double>::infinity(), best_a = 0.5;
            for (int i = 0; i < nf; ++i) {
                const Point& F = ftree.point(fi[i]);
                for (int j = 0; j < nb; ++j) {
                    const Point& B = btree.point(bi[j]);
                    double fb2 = 0.0, dot = 0.0;
                    for (int c = 0; c < 3; ++c) {
                        const double d = F[c] - B[c];
                        fb2 += d * d;
                        dot += (I[c] - B[c]) * d;
                    }
                    const double a = std::min(std::max(dot / std::max(fb2, 1e-6), 0.0), 1.0);
                    double res2 = 0.0;
                    for (int c = 0; c < 3; ++c) {
                        const double e = I[c] - (a * F[c] + (1.0 - a) * B[c]);
                        res2 += e * e;
                    }
                    const double r = std::sqrt(res2) / std::max(std::sqrt(fb2), 1e-3);
                    if (r < best_r) {
                        best_r = r;
                        best_a = a;
                    }
                }
            }
            out.alpha[p] = best_a;
            out.confidence[p] = std::exp(-best_r * best_r * inv_sigma2);
        }
    }
    check_cancel();
    return out;
}

}  // namespace sss
