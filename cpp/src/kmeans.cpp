// Stages 8-9 (docs/algorithm.md): Lloyd's batch k-means with MATLAB kmeans semantics,
// with distances computed directly (no n x k matrix) and centre sums reduced
// over fixed chunks in a fixed order, so results do not depend on threads.
#include "sss/kmeans.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <optional>
#include <cstdint>
#include <cstring>
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
// Interleaved accumulator sets per chunk (see lloyd_impl).
constexpr int kCopies = 4;
// Automatic thread count (num_threads = 0): one thread per 2^22 "distance
// units" n (k + 4) of a pass over the points (about 5 ms of work), at most
// all cores. A pass needs one fork/join; on an oversubscribed machine a
// thread often waits a scheduler time slice (several ms) for its core, so
// shorter passes run on one thread (the splitting k-means makes thousands of
// short passes; bench/README.md, k-means section, has the measurements).
// An explicit count is obeyed (for at least 2 chunks of points). Results
// never depend on it.
constexpr Index kThreadWork = Index(1) << 22;

int auto_threads(int requested, Index n, Index k) {
    if (requested > 0) return resolve_threads(requested);
    const Index t = std::min<Index>(resolve_threads(0), n * (k + 4) / kThreadWork);
    return static_cast<int>(std::max<Index>(t, 1));
}

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

// Nearest centres of the points lo..hi-1 (rows of x with stride ldx): labels
// to lab[i], squared distances to dist[i] (either may be null). Same
// arithmetic, order of operations and tie rule as nearest(); with GCC/Clang
// and a compile-time dimension, P groups of L points at a time in vectors of
// L doubles (compare-and-select instead of branches; P independent chains
// hide the latency of the running minimum): L = 2 (SSE2) everywhere, L = 4
// on x86-64 CPUs with AVX (chosen at run time). Every lane does exactly the
// scalar IEEE operations (sub, mul, add, compare; never fused), so all paths
// give identical results.
#if defined(__GNUC__) || defined(__clang__)
#define SSS_KMEANS_VECTOR 1
typedef double v2d __attribute__((vector_size(16)));
typedef std::int64_t v2i __attribute__((vector_size(16)));

template <int D, int P, typename V, typename VI>
__attribute__((always_inline)) inline void nearest_group(const double* x, Index ldx, Index i,
                                                         const double* C, int k, int* lab,
                                                         double* dist) {
    constexpr int L = sizeof(V) / sizeof(double);
    V p[P][D], best[P];
    VI bl[P];
    for (int q = 0; q < P; ++q) {
        for (int t = 0; t < D; ++t) {
            double lanes[L];
            for (int l = 0; l < L; ++l) lanes[l] = x[(i + L * q + l) * ldx + t];
            std::memcpy(&p[q][t], lanes, sizeof(V));
        }
        best[q] = (p[q][0] - C[0]) * (p[q][0] - C[0]);
        for (int t = 1; t < D; ++t) best[q] += (p[q][t] - C[t]) * (p[q][t] - C[t]);
        bl[q] = VI{};
    }
    for (int j = 1; j < k; ++j) {
        const double* c = C + static_cast<Index>(j) * D;
        for (int q = 0; q < P; ++q) {
            V s = (p[q][0] - c[0]) * (p[q][0] - c[0]);
            for (int t = 1; t < D; ++t) s += (p[q][t] - c[t]) * (p[q][t] - c[t]);
            const VI m = s < best[q];  // all ones where strictly closer
            best[q] = (V)(((VI)s & m) | ((VI)best[q] & ~m));
            bl[q] = (bl[q] & ~m) | (static_cast<std::int64_t>(j) & m);
        }
    }
    for (int q = 0; q < P; ++q)
        for (int l = 0; l < L; ++l) {
            if (lab) lab[i + L * q + l] = static_cast<int>(bl[q][l]);
            if (dist) dist[i + L * q + l] = best[q][l];
        }
}

// Points lo.. in groups of 8 then 2 (SSE2); returns the first point not done.
template <int D>
Index nearest_sse2(const double* x, Index ldx, Index lo, Index hi, const double* C, int k,
                   int* lab, double* dist) {
    Index i = lo;
    for (; i + 8 <= hi; i += 8) nearest_group<D, 4, v2d, v2i>(x, ldx, i, C, k, lab, dist);
    for (; i + 2 <= hi; i += 2) nearest_group<D, 1, v2d, v2i>(x, ldx, i, C, k, lab, dist);
    return i;
}

#if defined(__x86_64__)
#define SSS_KMEANS_AVX 1
typedef double v4d __attribute__((vector_size(32)));
typedef std::int64_t v4i __attribute__((vector_size(32)));


// As nearest_sse2 with 4 lanes, in groups of 16 then 4.
template <int D>
__attribute__((target("avx"))) Index nearest_avx(const double* x, Index ldx, Index lo, Index hi,
                                                 const double* C, int k, int* lab, double* dist) {
    Index i = lo;
    for (; i + 16 <= hi; i += 16) nearest_group<D, 4, v4d, v4i>(x, ldx, i, C, k, lab, dist);
    for (; i + 4 <= hi; i += 4) nearest_group<D, 1, v4d, v4i>(x, ldx, i, C, k, lab, dist);
    return i;
}
#endif
#endif

template <int D>
void nearest_range(const double* x, Index ldx, Index lo, Index hi, const double* C, int k, int d,
                   int* lab, double* dist, KmeansKernel kernel) {
    Index i = lo;
#ifdef SSS_KMEANS_VECTOR
    if constexpr (D > 0) {
#ifdef SSS_KMEANS_AVX
        if (kernel == KmeansKernel::Avx) i = nearest_avx<D>(x, ldx, i, hi, C, k, lab, dist);
#endif
        if (kernel != KmeansKernel::Scalar) i = nearest_sse2<D>(x, ldx, i, hi, C, k, lab, dist);
    }
#endif
    (void)kernel;
    for (; i < hi; ++i) {
        double bd;
        const int b = nearest<D>(x + i * ldx, C, k, d, bd);
        if (lab) lab[i] = b;
        if (dist) dist[i] = bd;
    }
}

KmeansKernel resolve_kernel(KmeansKernel kernel) {
    if (!kmeans_kernel_available(kernel))
        throw std::invalid_argument(std::string("k-means kernel '") + kmeans_kernel_name(kernel) +
                                    "' is not available in this build on this CPU");
    if (kernel != KmeansKernel::Auto) return kernel;
    if (kmeans_kernel_available(KmeansKernel::Avx)) return KmeansKernel::Avx;
    if (kmeans_kernel_available(KmeansKernel::Sse2)) return KmeansKernel::Sse2;
    return KmeansKernel::Scalar;
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
                       int max_iter, int nthreads, KmeansKernel kernel) {
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
    // per chunk: kCopies interleaved sets of k x d member sums (point r of the
    // chunk adds to set r % kCopies, which breaks the dependency chain of
    // consecutive points in one cluster), and k member counts
    std::vector<double> psum(static_cast<size_t>(nchunks * kCopies * kd));
    std::vector<Index> pcount(static_cast<size_t>(nchunks * k));
    std::vector<Index> counts(k);

    // Member sums and counts of chunk ch for the current labels; returns the
    // number of its points whose label differs from prev.
    auto sum_chunk = [&](Index ch) -> Index {
        const Index lo = ch * kChunk, hi = std::min(n, lo + kChunk);
        double* s = psum.data() + ch * kCopies * kd;
        Index* cnt = pcount.data() + ch * k;
        std::fill(s, s + kCopies * kd, 0.0);
        std::fill(cnt, cnt + k, Index(0));
        Index changed = 0;
        for (Index i = lo; i < hi; ++i) {
            const int b = lab[i];
            const double* xi = x + i * ldx;
            changed += (b != prev[i]);
            ++cnt[b];
            double* sb = s + ((i - lo) % kCopies) * kd + static_cast<Index>(b) * d;
            for (int t = 0; t < (D > 0 ? D : d); ++t) sb[t] += xi[t];
        }
        return changed;
    };

    for (int it = 0; it < max_iter; ++it) {
        check_cancel();
        res.iterations = it + 1;
        Index changed = 0;
        const double* c = C.data();
#pragma omp parallel for schedule(static) num_threads(nthreads) if (par) reduction(+ : changed)
        for (Index ch = 0; ch < nchunks; ++ch) {
            const Index lo = ch * kChunk, hi = std::min(n, lo + kChunk);
            nearest_range<D>(x, ldx, lo, hi, c, k, d, lab.data(), dist.data(), kernel);
            changed += sum_chunk(ch);
        }
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
                        std::find_if(counts.begin(), counts.end(), [](Index m) { return m > 1; }) -
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
        // centres: member sums added in a fixed order (sets, then chunks)
        for (int j = 0; j < k; ++j) {
            const double m = static_cast<double>(std::max<Index>(counts[j], 1));
            for (int t = 0; t < d; ++t) {
                const Index off = static_cast<Index>(j) * d + t;
                double total = 0.0;
                for (Index ch = 0; ch < nchunks; ++ch) {
                    const double* s = psum.data() + ch * kCopies * kd + off;
                    double part = s[0];
                    for (int r = 1; r < kCopies; ++r) part += s[r * kd];
                    total += part;
                }
                C(j, t) = total / m;
            }
        }
    }

    res.sqdist.resize(n);
    res.min_sqdist.resize(n);
    {
        const double* c = C.data();
        double* own = res.sqdist.data();
        double* near = res.min_sqdist.data();
#pragma omp parallel for schedule(static) num_threads(nthreads) if (par)
        for (Index ch = 0; ch < nchunks; ++ch) {
            const Index lo = ch * kChunk, hi = std::min(n, lo + kChunk);
            nearest_range<D>(x, ldx, lo, hi, c, k, d, nullptr, near, kernel);
            for (Index i = lo; i < hi; ++i)
                own[i] = sqdist<D>(x + i * ldx, c + static_cast<Index>(lab[i]) * d, d);
        }
    }
    res.labels.swap(lab);
    return res;
}

}  // namespace

const char* kmeans_kernel_name(KmeansKernel kernel) {
    switch (kernel) {
        case KmeansKernel::Auto: return "auto";
        case KmeansKernel::Scalar: return "scalar";
        case KmeansKernel::Sse2: return "sse2";
        case KmeansKernel::Avx: return "avx";
    }
    return "?";
}

bool kmeans_kernel_available(KmeansKernel kernel) {
    switch (kernel) {
        case KmeansKernel::Auto:
        case KmeansKernel::Scalar: return true;
        case KmeansKernel::Sse2:
#ifdef SSS_KMEANS_VECTOR
            return true;
#else
            return false;
#endif
        case KmeansKernel::Avx:
#ifdef SSS_KMEANS_AVX
        {
            static const bool ok = __builtin_cpu_supports("avx");
            return ok;
        }
#else
            return false;
#endif
    }
    return false;
}

LloydResult lloyd_kmeans(const Eigen::Ref<const RowMatrixXd>& X,
                         const Eigen::Ref<const RowMatrixXd>& centers, const LloydParams& params) {
    check_points("lloyd_kmeans", X, centers);
    if (centers.rows() > X.rows())
        throw std::invalid_argument("lloyd_kmeans: k = " + std::to_string(centers.rows()) +
                                    " centres for only " + std::to_string(X.rows()) + " points");
    if (params.max_iter < 1)
        throw std::invalid_argument("lloyd_kmeans: max_iter must be >= 1, got " +
                                    std::to_string(params.max_iter));
    const KmeansKernel kernel = resolve_kernel(params.kernel);
    const RowMatrixXd C0 = centers;  // contiguous copy
    const int nthreads = auto_threads(params.num_threads, X.rows(), centers.rows());
    return dispatch_dim(static_cast<int>(X.cols()), [&](auto dim) {
        return lloyd_impl<decltype(dim)::value>(X, C0, params.max_iter, nthreads, kernel);
    });
}

namespace {

// What both distance queries start with: checked inputs, the centres
// row-major, the sizes and the threads.
struct DistanceQuery {
    RowMatrixXd C;
    Index n, ldx;
    int d, k, nthreads;
    bool par;
    DistanceQuery(const char* what, const Eigen::Ref<const RowMatrixXd>& X,
                  const Eigen::Ref<const RowMatrixXd>& centers, int num_threads) {
        check_points(what, X, centers);
        C = centers;
        n = X.rows();
        ldx = X.outerStride();
        d = static_cast<int>(X.cols());
        k = static_cast<int>(C.rows());
        nthreads = auto_threads(num_threads, n, k);
        par = nthreads > 1 && n > kChunk;
    }
};

}  // namespace

Eigen::VectorXd nearest_sqdist(const Eigen::Ref<const RowMatrixXd>& X,
                               const Eigen::Ref<const RowMatrixXd>& centers,
                               std::vector<int>* labels, int num_threads,
                               KmeansKernel kernel) {
    const DistanceQuery q("nearest_sqdist", X, centers, num_threads);
    const KmeansKernel kern = resolve_kernel(kernel);
    const Index n = q.n;
    const int d = q.d, k = q.k;
    Eigen::VectorXd out(n);
    if (labels) labels->resize(n);
    int* lab = labels ? labels->data() : nullptr;
    const Index nchunks = (n + kChunk - 1) / kChunk;
    dispatch_dim(d, [&](auto dim) {
        constexpr int D = decltype(dim)::value;
#pragma omp parallel for schedule(static) num_threads(q.nthreads) if (q.par)
        for (Index ch = 0; ch < nchunks; ++ch)
            nearest_range<D>(X.data(), q.ldx, ch * kChunk, std::min(n, (ch + 1) * kChunk),
                             q.C.data(), k, d, lab, out.data(), kern);
        return 0;
    });
    return out;
}

RowMatrixXd pairwise_sqdist(const Eigen::Ref<const RowMatrixXd>& X,
                            const Eigen::Ref<const RowMatrixXd>& centers, int num_threads) {
    const DistanceQuery q("pairwise_sqdist", X, centers, num_threads);
    const Index n = q.n;
    const int d = q.d, k = q.k;
    RowMatrixXd out(n, k);
    dispatch_dim(d, [&](auto dim) {
        constexpr int D = decltype(dim)::value;
#pragma omp parallel for schedule(static) num_threads(q.nthreads) if (q.par)
        for (Index i = 0; i < n; ++i)
            for (int j = 0; j < k; ++j)
                out(i, j) = sqdist<D>(X.data() + i * q.ldx,
                                      q.C.data() + static_cast<Index>(j) * d, d);
        return 0;
    });
    return out;
}

}  // namespace sss

// ---------------------------------------------------------------- starts, replicates, splitting
namespace sss {

namespace {

RowMatrixXd rows_of(const Eigen::Ref<const RowMatrixXd>& X, const std::vector<std::int64_t>& idx) {
    RowMatrixXd out(static_cast<Eigen::Index>(idx.size()), X.cols());
    for (std::size_t i = 0; i < idx.size(); ++i)
        out.row(static_cast<Eigen::Index>(i)) = X.row(static_cast<Eigen::Index>(idx[i]));
    return out;
}

RowMatrixXd plus_start(const Eigen::Ref<const RowMatrixXd>& X, int k, Rng& rng) {
    const Eigen::Index n = X.rows();
    RowMatrixXd C(k, X.cols());
    C.row(0) = X.row(static_cast<Eigen::Index>(rng.integers(n)));
    Eigen::VectorXd dmin = nearest_sqdist(X, C.topRows(1));
    std::vector<double> w(static_cast<std::size_t>(n));
    for (int j = 1; j < k; ++j) {
        const double s = numpy_sum(dmin.data(), n);
        std::int64_t idx;
        if (s > 0) {
            std::copy(dmin.data(), dmin.data() + n, w.begin());
            idx = rng.choice(w, s);
        } else {
            idx = rng.integers(n);
        }
        C.row(j) = X.row(static_cast<Eigen::Index>(idx));
        const Eigen::VectorXd dj = nearest_sqdist(X, C.middleRows(j, 1));
        dmin = dmin.cwiseMin(dj);
    }
    return C;
}

KmeansResult run_lloyd(const Eigen::Ref<const RowMatrixXd>& X, const RowMatrixXd& C0, int max_iter) {
    LloydParams p;
    p.max_iter = max_iter;
    LloydResult r = lloyd_kmeans(X, C0, p);
    return {std::move(r.labels), std::move(r.centers), std::move(r.sqdist), std::move(r.min_sqdist)};
}

KmeansResult kmeans_from(const Eigen::Ref<const RowMatrixXd>& X, int k, KmeansStart start,
                         const RowMatrixXd* given, int replicates, int max_iter, Rng& rng) {
    const Eigen::Index n = X.rows();
    if (k < 1 || k > n)
        throw std::invalid_argument("kmeans: k must be in [1, n] = [1, " + std::to_string(n) +
                                    "], got " + std::to_string(k));
    if (replicates < 1 || max_iter < 1)
        throw std::invalid_argument("kmeans: replicates and max_iter must be >= 1");
    KmeansResult best;
    double best_total = 0.0;
    for (int r = 0; r < replicates; ++r) {
        RowMatrixXd C0;
        if (given != nullptr) {
            C0 = *given;
        } else if (start == KmeansStart::Plus) {
            C0 = plus_start(X, k, rng);
        } else if (start == KmeansStart::Sample) {
            C0 = rows_of(X, rng.choice_without_replacement(n, k));
        } else {
            const auto m = static_cast<std::int64_t>(std::floor(0.1 * static_cast<double>(n)));
            if (m < k) {
                C0 = rows_of(X, rng.choice_without_replacement(n, k));
            } else {
                const RowMatrixXd sub = rows_of(X, rng.choice_without_replacement(n, m));
                const RowMatrixXd c = rows_of(sub, rng.choice_without_replacement(m, k));
                C0 = run_lloyd(sub, c, max_iter).centers;
            }
        }
        KmeansResult res = run_lloyd(X, C0, max_iter);
        const double total = numpy_sum(res.sqdist.data(), res.sqdist.size());
        if (r == 0 || total < best_total) {
            best_total = total;
            best = std::move(res);
        }
    }
    return best;
}

}  // namespace

KmeansResult kmeans(const Eigen::Ref<const RowMatrixXd>& X, int k, KmeansStart start,
                    int replicates, int max_iter, Rng& rng) {
    return kmeans_from(X, k, start, nullptr, replicates, max_iter, rng);
}

std::vector<int> splitting_kmeans(const Eigen::Ref<const RowMatrixXd>& X, int k,
                                  const SplittingParams& params, Rng& rng) {
    const Eigen::Index n = X.rows(), d = X.cols();
    if (k < 1 || k > n)
        throw std::invalid_argument("splitting_kmeans: k must be in [1, n] = [1, " +
                                    std::to_string(n) + "], got " + std::to_string(k));
    if (params.start_clusters < 1 || params.replicates < 1 || params.max_iter < 1)
        throw std::invalid_argument(
            "splitting_kmeans: start_clusters, replicates and max_iter must be >= 1");
    const int k0 = std::min(k, params.start_clusters);
    KmeansResult run = kmeans_from(X, k0, KmeansStart::Cluster, nullptr, params.replicates,
                                   params.max_iter, rng);
    std::vector<int> idx = std::move(run.labels);
    RowMatrixXd C = std::move(run.centers);
    Eigen::VectorXd dmin = std::move(run.min_sqdist);  // distances of the last full run
    struct Split {
        double score = -2.0;
        std::vector<std::int64_t> members;
        std::vector<int> sub_labels;  // empty: the cluster cannot be split
        RowMatrixXd sub_centers;
    };
    std::vector<std::optional<Split>> cache;
    for (int cnt = k0 + 1; cnt <= k; ++cnt) {
        cache.resize(static_cast<std::size_t>(cnt - 1));
        int best = -1;
        for (int cl = 0; cl < cnt - 1; ++cl) {
            auto& entry = cache[static_cast<std::size_t>(cl)];
            if (!entry) {
                Split s;
                for (Eigen::Index i = 0; i < n; ++i)
                    if (idx[static_cast<std::size_t>(i)] == cl) s.members.push_back(i);
                if (static_cast<Eigen::Index>(s.members.size()) > 2 * d) {
                    const RowMatrixXd sub = rows_of(X, s.members);
                    KmeansResult two = kmeans_from(sub, 2, KmeansStart::Cluster, nullptr, 1,
                                                   params.max_iter, rng);
                    std::vector<double> own(s.members.size());
                    for (std::size_t i = 0; i < own.size(); ++i)
                        own[i] = dmin[static_cast<Eigen::Index>(s.members[i])];
                    s.score = numpy_sum(own.data(), static_cast<std::ptrdiff_t>(own.size())) -
                              numpy_sum(two.min_sqdist.data(), two.min_sqdist.size());
                    s.sub_labels = std::move(two.labels);
                    s.sub_centers = std::move(two.centers);
                }
                entry = std::move(s);
            }
            if (best < 0 || entry->score > cache[static_cast<std::size_t>(best)]->score) best = cl;
        }
        if (best < 0 || cache[static_cast<std::size_t>(best)]->sub_labels.empty())
            throw std::invalid_argument(
                "cannot split the " + std::to_string(n) + " feature points into k=" +
                std::to_string(k) + " clusters (k is initial.num_layers in sss.segment, num_layers "
                "in sss.constrained_sparsify): after " + std::to_string(cnt - 1) +
                " clusters none can be split further (a cluster needs more than " +
                std::to_string(2 * d) + " points); use k <= " + std::to_string(cnt - 1) +
                " or a larger image");
        Split s = std::move(*cache[static_cast<std::size_t>(best)]);
        cache[static_cast<std::size_t>(best)].reset();
        C.conservativeResize(C.rows() + 1, Eigen::NoChange);
        C.row(C.rows() - 1) = s.sub_centers.row(1);
        C.row(best) = s.sub_centers.row(0);
        for (std::size_t i = 0; i < s.members.size(); ++i)
            if (s.sub_labels[i] == 1) idx[static_cast<std::size_t>(s.members[i])] = cnt - 1;
        if (cnt < params.rerun_below) {
            KmeansResult full = kmeans_from(X, cnt, KmeansStart::Plus, &C, 1, params.max_iter, rng);
            idx = std::move(full.labels);
            C = std::move(full.centers);
            dmin = std::move(full.min_sqdist);
            cache.clear();
        }
    }
    return idx;
}

}  // namespace sss
