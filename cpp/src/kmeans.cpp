// Stages 8-9 of SPEC.md: Lloyd's batch k-means with MATLAB kmeans semantics,
// with distances computed directly (no n x k matrix) and centre sums reduced
// over fixed chunks in a fixed order, so results do not depend on threads.
#include "sss/kmeans.hpp"

#include <algorithm>
#include <climits>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "sss/parallel.hpp"

namespace sss {
namespace {

using Index = Eigen::Index;

// Points per chunk of the centre sums. Fixed (not derived from the thread
// count) so that the order of every floating-point addition is fixed.
constexpr Index kChunk = 4096;

// sum_t (x_t - c_t)^2 in index order; D > 0 fixes the dimension at compile time.
template <int D>
inline double sqdist(const double* x, const double* c, int d) {
    const int dd = D > 0 ? D : d;
    double s = 0.0;
    for (int t = 0; t < dd; ++t) {
        const double e = x[t] - c[t];
        s += e * e;
    }
    return s;
}

// Nearest of the k centres (row-major, contiguous) to x; ties to the lowest index.
template <int D>
inline int nearest(const double* x, const double* C, int k, int d, double& best) {
    int b = 0;
    double bd = sqdist<D>(x, C, d);
    for (int j = 1; j < k; ++j) {
        const double v = sqdist<D>(x, C + static_cast<Index>(j) * d, d);
        if (v < bd) {
            bd = v;
            b = j;
        }
    }
    best = bd;
    return b;
}

// Calls f(std::integral_constant<int, D>) with D = d for small d, else D = 0.
template <typename F>
auto dispatch_dim(int d, F&& f) {
    switch (d) {
        case 1: return f(std::integral_constant<int, 1>{});
        case 2: return f(std::integral_constant<int, 2>{});
        case 3: return f(std::integral_constant<int, 3>{});
        default: return f(std::integral_constant<int, 0>{});
    }
}

void check_points(const char* what, const Eigen::Ref<const RowMatrixXd>& X,
                  const Eigen::Ref<const RowMatrixXd>& C) {
    const std::string w(what);
    if (X.rows() == 0 || X.cols() == 0)
        throw std::invalid_argument(w + ": X is empty (" + std::to_string(X.rows()) + " x " +
                                    std::to_string(X.cols()) + ")");
    if (C.rows() == 0)
        throw std::invalid_argument(w + ": no centres given");
    if (C.cols() != X.cols())
        throw std::invalid_argument(w + ": centres have " + std::to_string(C.cols()) +
                                    " coordinates but the points have " +
                                    std::to_string(X.cols()));
    if (C.rows() > INT_MAX || X.cols() > INT_MAX)
        throw std::length_error(w + ": too many centres or coordinates");
    if (!X.allFinite()) throw std::invalid_argument(w + ": X contains NaN or infinite values");
    if (!C.allFinite())
        throw std::invalid_argument(w + ": centres contain NaN or infinite values");
}

template <int D>
LloydResult lloyd_impl(const Eigen::Ref<const RowMatrixXd>& X, const RowMatrixXd& C0,
                       int max_iter, int nthreads) {
    const Index n = X.rows();
    const int d = static_cast<int>(X.cols());
    const int k = static_cast<int>(C0.rows());
    const Index ldx = X.outerStride();
    const double* x = X.data();
    const Index nchunks = (n + kChunk - 1) / kChunk;
    const Index kd = static_cast<Index>(k) * d;
    const bool par = nthreads > 1 && nchunks > 1;
    (void)par;

    LloydResult res;
    RowMatrixXd& C = res.centers;
    C = C0;
    std::vector<int> lab(n), prev(n, -1);
    std::vector<double> dist(n);
    std::vector<double> psum(static_cast<size_t>(nchunks * kd));
    std::vector<Index> pcount(static_cast<size_t>(nchunks * k));
    std::vector<Index> counts(k);

    // Per-chunk member sums and counts of the current labels; returns the
    // number of points whose label differs from prev.
    auto sum_chunk = [&](Index ch) -> Index {
        const Index lo = ch * kChunk, hi = std::min(n, lo + kChunk);
        double* s = psum.data() + ch * kd;
        Index* cnt = pcount.data() + ch * k;
        std::fill(s, s + kd, 0.0);
        std::fill(cnt, cnt + k, Index(0));
        Index changed = 0;
        for (Index i = lo; i < hi; ++i) {
            const int b = lab[i];
            const double* xi = x + i * ldx;
            changed += (b != prev[i]);
            ++cnt[b];
            double* sb = s + static_cast<Index>(b) * d;
            for (int t = 0; t < (D > 0 ? D : d); ++t) sb[t] += xi[t];
        }
        return changed;
    };
    // Assignment of a chunk to the nearest centres, then its sums.
    auto assign_chunk = [&](Index ch) -> Index {
        const Index lo = ch * kChunk, hi = std::min(n, lo + kChunk);
        const double* c = C.data();
        for (Index i = lo; i < hi; ++i) {
            double bd;
            lab[i] = nearest<D>(x + i * ldx, c, k, d, bd);
            dist[i] = bd;
        }
        return sum_chunk(ch);
    };

    for (int it = 0; it < max_iter; ++it) {
        res.iterations = it + 1;
        Index changed = 0;
#pragma omp parallel for schedule(static) num_threads(nthreads) if (par) reduction(+ : changed)
        for (Index ch = 0; ch < nchunks; ++ch) changed += assign_chunk(ch);
        std::fill(counts.begin(), counts.end(), Index(0));
        for (Index ch = 0; ch < nchunks; ++ch)
            for (int j = 0; j < k; ++j) counts[j] += pcount[ch * k + j];

        // Singleton empty-cluster action, each empty cluster in index order.
        std::vector<int> empties;
        for (int j = 0; j < k; ++j)
            if (counts[j] == 0) empties.push_back(j);
        if (!empties.empty()) {
            for (int j : empties) {
                Index far = std::max_element(dist.begin(), dist.end()) - dist.begin();
                int from = lab[far];
                if (counts[from] < 2) {
                    // it would empty its cluster: take the first point of the
                    // first cluster with more than one member instead (MATLAB)
                    from = static_cast<int>(
                        std::find_if(counts.begin(), counts.end(), [](Index c) { return c > 1; }) -
                        counts.begin());
                    far = std::find(lab.begin(), lab.end(), from) - lab.begin();
                }
                lab[far] = j;
                dist[far] = -1.0;
                --counts[from];
                ++counts[j];
                C.row(j) = X.row(far);
            }
            changed = 0;
#pragma omp parallel for schedule(static) num_threads(nthreads) if (par) reduction(+ : changed)
            for (Index ch = 0; ch < nchunks; ++ch) changed += sum_chunk(ch);
        }
        if (it > 0 && changed == 0) {
            res.converged = true;
            break;
        }
        std::copy(lab.begin(), lab.end(), prev.begin());
        for (int j = 0; j < k; ++j) {
            const double inv = static_cast<double>(std::max<Index>(counts[j], 1));
            for (int t = 0; t < d; ++t) {
                double s = 0.0;
                for (Index ch = 0; ch < nchunks; ++ch) s += psum[ch * kd + static_cast<Index>(j) * d + t];
                C(j, t) = s / inv;
            }
        }
    }

    res.sqdist.resize(n);
    res.min_sqdist.resize(n);
    {
        const double* c = C.data();
#pragma omp parallel for schedule(static) num_threads(nthreads) if (par)
        for (Index ch = 0; ch < nchunks; ++ch) {
            const Index lo = ch * kChunk, hi = std::min(n, lo + kChunk);
            for (Index i = lo; i < hi; ++i) {
                const double* xi = x + i * ldx;
                res.sqdist[i] = sqdist<D>(xi, c + static_cast<Index>(lab[i]) * d, d);
                double bd;
                nearest<D>(xi, c, k, d, bd);
                res.min_sqdist[i] = bd;
            }
        }
    }
    res.labels.swap(lab);
    return res;
}

}  // namespace

LloydResult lloyd_kmeans(const Eigen::Ref<const RowMatrixXd>& X,
                         const Eigen::Ref<const RowMatrixXd>& centers, const LloydParams& params) {
    check_points("lloyd_kmeans", X, centers);
    if (centers.rows() > X.rows())
        throw std::invalid_argument("lloyd_kmeans: k = " + std::to_string(centers.rows()) +
                                    " centres for only " + std::to_string(X.rows()) + " points");
    if (params.max_iter < 1)
        throw std::invalid_argument("lloyd_kmeans: max_iter must be >= 1, got " +
                                    std::to_string(params.max_iter));
    const RowMatrixXd C0 = centers;  // contiguous copy
    const int nthreads = resolve_threads(params.num_threads);
    return dispatch_dim(static_cast<int>(X.cols()), [&](auto dim) {
        return lloyd_impl<decltype(dim)::value>(X, C0, params.max_iter, nthreads);
    });
}

Eigen::VectorXd nearest_sqdist(const Eigen::Ref<const RowMatrixXd>& X,
                               const Eigen::Ref<const RowMatrixXd>& centers,
                               std::vector<int>* labels, int num_threads) {
    check_points("nearest_sqdist", X, centers);
    const RowMatrixXd C = centers;
    const Index n = X.rows();
    const int d = static_cast<int>(X.cols()), k = static_cast<int>(C.rows());
    const Index ldx = X.outerStride();
    const int nthreads = resolve_threads(num_threads);
    const bool par = nthreads > 1 && n > kChunk;
    (void)par;
    Eigen::VectorXd out(n);
    if (labels) labels->resize(n);
    dispatch_dim(d, [&](auto dim) {
        constexpr int D = decltype(dim)::value;
#pragma omp parallel for schedule(static) num_threads(nthreads) if (par)
        for (Index i = 0; i < n; ++i) {
            double bd;
            const int b = nearest<D>(X.data() + i * ldx, C.data(), k, d, bd);
            out[i] = bd;
            if (labels) (*labels)[i] = b;
        }
        return 0;
    });
    return out;
}

RowMatrixXd pairwise_sqdist(const Eigen::Ref<const RowMatrixXd>& X,
                            const Eigen::Ref<const RowMatrixXd>& centers, int num_threads) {
    check_points("pairwise_sqdist", X, centers);
    const RowMatrixXd C = centers;
    const Index n = X.rows();
    const int d = static_cast<int>(X.cols()), k = static_cast<int>(C.rows());
    const Index ldx = X.outerStride();
    const int nthreads = resolve_threads(num_threads);
    const bool par = nthreads > 1 && n > kChunk;
    (void)par;
    RowMatrixXd out(n, k);
    dispatch_dim(d, [&](auto dim) {
        constexpr int D = decltype(dim)::value;
#pragma omp parallel for schedule(static) num_threads(nthreads) if (par)
        for (Index i = 0; i < n; ++i)
            for (int j = 0; j < k; ++j)
                out(i, j) = sqdist<D>(X.data() + i * ldx, C.data() + static_cast<Index>(j) * d, d);
        return 0;
    });
    return out;
}

}  // namespace sss
