// Stages 8-9 (docs/algorithm.md): constrained sparsification by IRLS over the
// eigenvector coefficients, with the coupled system solved by its structure.
#include "sss/constrained.hpp"
#include "sss/progress.hpp"

#include <Eigen/Cholesky>
#include <Eigen/LU>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "blas.hpp"
#include "sss/parallel.hpp"
#include "sss/vector_pow.hpp"
#include "stopwatch.hpp"

namespace sss {

Eigen::MatrixXd structured_block_solve(const Eigen::MatrixXd& B, const Eigen::MatrixXd& C,
                                       const Eigen::MatrixXd& b) {
    const Eigen::Index m = C.rows();
    if (C.cols() != m || B.rows() != m || m == 0 || B.cols() % m != 0)
        throw std::invalid_argument("structured_block_solve: B must be m x (K-1) m and C m x m");
    const Eigen::Index nb = B.cols() / m;
    if (b.rows() != m || b.cols() != nb)
        throw std::invalid_argument("structured_block_solve: b must be m x (K-1)");
    if (nb == 0) return Eigen::MatrixXd(m, 0);
    // Per block: factor B_k, accumulate S = sum B_k^-1 and r = sum B_k^-1 b_k.
    std::vector<Eigen::LLT<Eigen::MatrixXd>> llt(static_cast<size_t>(nb));
    Eigen::MatrixXd S = Eigen::MatrixXd::Zero(m, m);
    Eigen::VectorXd r = Eigen::VectorXd::Zero(m);
    const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(m, m);
    for (Eigen::Index k = 0; k < nb; ++k) {
        llt[static_cast<size_t>(k)].compute(B.middleCols(k * m, m));
        if (llt[static_cast<size_t>(k)].info() != Eigen::Success)
            throw std::runtime_error("structured_block_solve: block " + std::to_string(k) +
                                     " is not positive definite");
        S += llt[static_cast<size_t>(k)].solve(I);
        r += llt[static_cast<size_t>(k)].solve(b.col(k));
    }
    Eigen::MatrixXd M = I + S * C;
    Eigen::PartialPivLU<Eigen::MatrixXd> lu(M);
    const Eigen::VectorXd s = lu.solve(r);
    if (!s.allFinite())
        throw std::runtime_error("structured_block_solve: reduced system is singular");
    const Eigen::VectorXd Cs = C * s;
    Eigen::MatrixXd y(m, nb);
    for (Eigen::Index k = 0; k < nb; ++k)
        y.col(k) = llt[static_cast<size_t>(k)].solve(b.col(k) - Cs);
    return y;
}

namespace {

// G = E^T diag(w) E, the cost of constrained sparsification (K of them per
// iteration, N m^2 / 2 multiply-adds each). Computed in chunks of pixels:
// X = sqrt(w) .* E_chunk, G += X^T X. Two kernels: Eigen's rank update
// (portable; SSE2 only without -march flags), and on x86-64 CPUs with AVX2 and
// FMA, chosen at run time, a register-blocked kernel compiled for them. The
// chunking and summation order are fixed, so results do not depend on the
// number of threads (they may differ in the last bits between the kernels).
constexpr Eigen::Index kGramChunk = 256;

void weighted_gram_eigen(const Eigen::Ref<const RowMatrixXd>& E, const double* w, Eigen::MatrixXd& G) {
    const Eigen::Index n = E.rows(), m = E.cols();
    G.setZero(m, m);
    Eigen::MatrixXd X(m, kGramChunk);  // pixel chunk as columns
    for (Eigen::Index lo = 0; lo < n; lo += kGramChunk) {
        const Eigen::Index len = std::min(kGramChunk, n - lo);
        for (Eigen::Index i = 0; i < len; ++i)
            X.col(i) = std::sqrt(w[lo + i]) * E.row(lo + i).transpose();
        G.selfadjointView<Eigen::Lower>().rankUpdate(X.leftCols(len));
    }
    G.triangularView<Eigen::StrictlyUpper>() = G.transpose();
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SSS_HAVE_AVX2_KERNEL 1

bool cpu_has_avx2_fma() {
    static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return ok;
}

// G (mp x mp, row-major, lower blocks) += X^T X for one chunk of np pixels.
// X is packed in panels of 4 columns: panel c holds X[p][4c..4c+3] for
// p = 0..np-1 contiguously (P + c * np * 4), so every tile streams
// sequential memory. Tiles of 8 rows x 4 columns of G live in 8 AVX registers.
__attribute__((target("avx2,fma"))) void gram_tile_avx2(const double* P, int np, int mp,
                                                          double* G) {
    const std::ptrdiff_t panel = static_cast<std::ptrdiff_t>(np) * 4;
    for (int i0 = 0; i0 < mp; i0 += 8) {
        const double* pa0 = P + (i0 / 4) * panel;
        const double* pa1 = pa0 + panel;
        for (int j0 = 0; j0 < i0 + 8; j0 += 4) {
            const double* pb = P + (j0 / 4) * panel;
            __m256d c00 = _mm256_setzero_pd(), c01 = _mm256_setzero_pd(),
                    c02 = _mm256_setzero_pd(), c03 = _mm256_setzero_pd(),
                    c10 = _mm256_setzero_pd(), c11 = _mm256_setzero_pd(),
                    c12 = _mm256_setzero_pd(), c13 = _mm256_setzero_pd();
            for (int p = 0; p < np; ++p) {
                const __m256d a0 = _mm256_loadu_pd(pa0 + 4 * p);
                const __m256d a1 = _mm256_loadu_pd(pa1 + 4 * p);
                const double* bp = pb + 4 * p;
                __m256d bb = _mm256_broadcast_sd(bp);
                c00 = _mm256_fmadd_pd(a0, bb, c00);
                c10 = _mm256_fmadd_pd(a1, bb, c10);
                bb = _mm256_broadcast_sd(bp + 1);
                c01 = _mm256_fmadd_pd(a0, bb, c01);
                c11 = _mm256_fmadd_pd(a1, bb, c11);
                bb = _mm256_broadcast_sd(bp + 2);
                c02 = _mm256_fmadd_pd(a0, bb, c02);
                c12 = _mm256_fmadd_pd(a1, bb, c12);
                bb = _mm256_broadcast_sd(bp + 3);
                c03 = _mm256_fmadd_pd(a0, bb, c03);
                c13 = _mm256_fmadd_pd(a1, bb, c13);
            }
            alignas(32) double t[8][4];
            _mm256_store_pd(t[0], c00);
            _mm256_store_pd(t[1], c01);
            _mm256_store_pd(t[2], c02);
            _mm256_store_pd(t[3], c03);
            _mm256_store_pd(t[4], c10);
            _mm256_store_pd(t[5], c11);
            _mm256_store_pd(t[6], c12);
            _mm256_store_pd(t[7], c13);
            for (int b = 0; b < 4; ++b)
                for (int r = 0; r < 4; ++r) {
                    G[(i0 + r) * mp + j0 + b] += t[b][r];
                    G[(i0 + 4 + r) * mp + j0 + b] += t[4 + b][r];
                }
        }
    }
}

// Q (panels of 4 columns, as gram_tile_avx2 reads them; columns m..mp-1
// zero) = the len x m row-major chunk e0 of E (row stride lde), row i scaled
// by s[i] when s is given.
__attribute__((target("avx2,fma"))) void pack_panels_avx2(const double* e0, std::ptrdiff_t lde,
                                                            const double* s, int len, int m,
                                                            int mp, double* Q) {
    const std::ptrdiff_t panel = static_cast<std::ptrdiff_t>(len) * 4;
    for (int c = 0; c < mp / 4; ++c) {
        double* dst = Q + c * panel;
        if (4 * c + 4 <= m) {
            if (s) {
                for (int i = 0; i < len; ++i)
                    _mm256_storeu_pd(dst + 4 * i,
                                     _mm256_mul_pd(_mm256_broadcast_sd(s + i),
                                                   _mm256_loadu_pd(e0 + i * lde + 4 * c)));
            } else {
                for (int i = 0; i < len; ++i)
                    _mm256_storeu_pd(dst + 4 * i, _mm256_loadu_pd(e0 + i * lde + 4 * c));
            }
        } else {
            for (int i = 0; i < len; ++i)
                for (int r = 0; r < 4; ++r)
                    dst[4 * i + r] =
                        4 * c + r < m ? (s ? s[i] * e0[i * lde + 4 * c + r] : e0[i * lde + 4 * c + r])
                                      : 0.0;
        }
    }
}

// P = Q with row i (of every panel) scaled by s[i].
__attribute__((target("avx2,fma"))) void scale_panels_avx2(const double* Q, const double* s,
                                                             int len, int mp, double* P) {
    const std::ptrdiff_t panel = static_cast<std::ptrdiff_t>(len) * 4;
    for (int c = 0; c < mp / 4; ++c) {
        const double* src = Q + c * panel;
        double* dst = P + c * panel;
        for (int i = 0; i < len; ++i)
            _mm256_storeu_pd(dst + 4 * i,
                             _mm256_mul_pd(_mm256_broadcast_sd(s + i), _mm256_loadu_pd(src + 4 * i)));
    }
}

// Several layers in one pass over E's rows: each chunk of E is packed into
// panels once, then scaled by sqrt(w) and multiplied for every layer while it
// is in cache. Each layer's sums are the same as alone.
void weighted_grams_avx2(const Eigen::Ref<const RowMatrixXd>& E, const double* const* w,
                         int count, Eigen::MatrixXd* G) {
    const Eigen::Index n = E.rows(), m = E.cols();
    const int mp = static_cast<int>((m + 7) / 8 * 8);
    std::vector<double> Q(count > 1 ? static_cast<size_t>(kGramChunk) * mp : 0),
        P(static_cast<size_t>(kGramChunk) * mp),
        s(static_cast<size_t>(kGramChunk));
    std::vector<std::vector<double>> Gr(static_cast<size_t>(count),
                                        std::vector<double>(static_cast<size_t>(mp) * mp, 0.0));
    for (Eigen::Index lo = 0; lo < n; lo += kGramChunk) {
        const int len = static_cast<int>(std::min(kGramChunk, n - lo));
        const double* e0 = E.data() + lo * E.outerStride();
        if (count > 1) pack_panels_avx2(e0, E.outerStride(), nullptr, len, static_cast<int>(m), mp, Q.data());
        for (int l = 0; l < count; ++l) {
            for (int i = 0; i < len; ++i) s[static_cast<size_t>(i)] = std::sqrt(w[l][lo + i]);
            if (count > 1)
                scale_panels_avx2(Q.data(), s.data(), len, mp, P.data());
            else  // one layer: scale while packing
                pack_panels_avx2(e0, E.outerStride(), s.data(), len, static_cast<int>(m), mp, P.data());
            gram_tile_avx2(P.data(), len, mp, Gr[static_cast<size_t>(l)].data());
        }
    }
    for (int l = 0; l < count; ++l) {
        const std::vector<double>& g = Gr[static_cast<size_t>(l)];
        G[l].resize(m, m);
        for (Eigen::Index i = 0; i < m; ++i)
            for (Eigen::Index j = 0; j <= i; ++j)
                G[l](i, j) = G[l](j, i) = g[static_cast<size_t>(i * mp + j)];
    }
}
#endif

#ifdef SSS_HAVE_BLAS
// BLAS dsyrk on chunks of scaled pixel rows: X (chunk x m, row-major, i.e.
// column-major m x chunk) and G += X^T X ('L', 'N' on the m x chunk view).
// Several times faster than the kernels above with an optimised BLAS
// (OpenBLAS); the caller decides how many threads the BLAS uses.
constexpr Eigen::Index kBlasChunk = 1024;

void weighted_gram_blas(const Eigen::Ref<const RowMatrixXd>& E, const double* w, Eigen::MatrixXd& G) {
    const Eigen::Index n = E.rows(), m = E.cols();
    G.setZero(m, m);
    RowMatrixXd X(std::min(kBlasChunk, n), m);
    const int mi = static_cast<int>(m);
    const double one = 1.0;
    for (Eigen::Index lo = 0; lo < n; lo += kBlasChunk) {
        const Eigen::Index len = std::min(kBlasChunk, n - lo);
        for (Eigen::Index i = 0; i < len; ++i) X.row(i) = std::sqrt(w[lo + i]) * E.row(lo + i);
        const int li = static_cast<int>(len);
        dsyrk_("L", "N", &mi, &li, &one, X.data(), &mi, &one, G.data(), &mi, 1, 1);
    }
    G.triangularView<Eigen::StrictlyUpper>() = G.transpose();
}
#endif

GramKernel resolve_kernel(GramKernel k) {
    if (k == GramKernel::Auto) {
        // The AVX2 kernel where the CPU has it: as fast as an optimised
        // BLAS dsyrk (bench/README.md) and free of any question about
        // calling the BLAS from several threads.
#ifdef SSS_HAVE_AVX2_KERNEL
        if (cpu_has_avx2_fma()) return GramKernel::Avx2;
#endif
#ifdef SSS_HAVE_BLAS
        return GramKernel::Blas;
#else
        return GramKernel::Eigen;
#endif
    }
    if (!gram_kernel_available(k))
        throw std::invalid_argument(std::string("weighted_gram: kernel '") + gram_kernel_name(k) +
                                    "' is not available in this build / on this CPU");
    return k;
}

// G[l] = E^T diag(w[l]) E for `count` layers (each the same whichever
// layers share the call).
void weighted_grams(const Eigen::Ref<const RowMatrixXd>& E, const double* const* w, int count,
                    Eigen::MatrixXd* G, GramKernel k) {
#ifdef SSS_HAVE_AVX2_KERNEL
    if (k == GramKernel::Avx2) return weighted_grams_avx2(E, w, count, G);
#endif
    for (int l = 0; l < count; ++l) {
        switch (k) {
#ifdef SSS_HAVE_BLAS
            case GramKernel::Blas: weighted_gram_blas(E, w[l], G[l]); break;
#endif
            default: weighted_gram_eigen(E, w[l], G[l]); break;
        }
    }
}

void weighted_gram(const Eigen::Ref<const RowMatrixXd>& E, const double* w, Eigen::MatrixXd& G,
                   GramKernel k) {
    weighted_grams(E, &w, 1, &G, k);
}

}  // namespace

const char* gram_kernel_name(GramKernel k) {
    switch (k) {
        case GramKernel::Auto: return "auto";
        case GramKernel::Blas: return "blas";
        case GramKernel::Avx2: return "avx2";
        case GramKernel::Eigen: return "eigen";
    }
    return "?";
}

bool gram_kernel_available(GramKernel k) {
    switch (k) {
        case GramKernel::Auto:
        case GramKernel::Eigen: return true;
        case GramKernel::Blas:
#ifdef SSS_HAVE_BLAS
            return true;
#else
            return false;
#endif
        case GramKernel::Avx2:
#ifdef SSS_HAVE_AVX2_KERNEL
            return cpu_has_avx2_fma();
#else
            return false;
#endif
    }
    return false;
}

Eigen::MatrixXd weighted_gram(const Eigen::Ref<const RowMatrixXd>& E,
                              const Eigen::Ref<const Eigen::VectorXd>& w, GramKernel kernel) {
    if (w.size() != E.rows())
        throw std::invalid_argument("weighted_gram: need one weight per row of E");
    if (!(w.array() >= 0.0).all())
        throw std::invalid_argument("weighted_gram: weights must be >= 0");
    const GramKernel k = resolve_kernel(kernel);
    detail::BlasThreads one_thread(1);  // every kernel on one thread
    Eigen::MatrixXd G;
    weighted_gram(E, w.data(), G, k);
    return G;
}

ConstrainedResult constrained_sparsify(const Eigen::Ref<const RowMatrixXd>& E_in,
                                       const Eigen::Ref<const Eigen::VectorXd>& eigenvalues,
                                       const SparseRef& L, const int* labels, int num_layers,
                                       const ConstrainedParams& params) {
    const Eigen::Index n = E_in.rows(), m = E_in.cols();
    if (n == 0 || m == 0)
        throw std::invalid_argument("constrained_sparsify: empty eigenvector matrix");
    if (eigenvalues.size() != m)
        throw std::invalid_argument("constrained_sparsify: " + std::to_string(m) +
                                    " eigenvectors but " + std::to_string(eigenvalues.size()) +
                                    " eigenvalues");
    if (L.rows() != n || L.cols() != n)
        throw std::invalid_argument("constrained_sparsify: L must be N x N with N = " +
                                    std::to_string(n));
    if (num_layers < 1) throw std::invalid_argument("constrained_sparsify: need >= 1 layer");
    for (Eigen::Index p = 0; p < n; ++p)
        if (labels[p] < 0 || labels[p] >= num_layers)
            throw std::invalid_argument("constrained_sparsify: label " +
                                        std::to_string(labels[p]) + " at pixel " +
                                        std::to_string(p) + " outside [0, " +
                                        std::to_string(num_layers - 1) + "]");
    if (params.iterations < 0 || !(params.gamma > 0.0) || !(params.weight > 0.0) ||
        !(params.clamp > 0.0) || params.prune_every < 0)
        throw std::invalid_argument("constrained_sparsify: bad parameters");
    if (params.sample_stride < 1)
        throw std::invalid_argument("constrained_sparsify: sample_stride must be >= 1");
    if (params.sample_stride > 1 &&
        (params.image_width < 1 || n % params.image_width != 0))
        throw std::invalid_argument("constrained_sparsify: sample_stride > 1 needs the image "
                                    "width (a divisor of N)");
    const int nt = resolve_threads(params.num_threads);

    // The pixels whose terms enter the energy: all, or the centres of
    // stride x stride blocks, each standing for q = N / |S| pixels.
    const int stride = params.sample_stride;
    std::vector<Eigen::Index> samples;
    if (stride > 1) {
        const Eigen::Index W = params.image_width, H = n / W, off = stride / 2;
        for (Eigen::Index r = std::min<Eigen::Index>(off, H - 1); r < H; r += stride)
            for (Eigen::Index c = std::min<Eigen::Index>(off, W - 1); c < W; c += stride)
                samples.push_back(r * W + c);
    }
    const bool sampled = stride > 1;
    const Eigen::Index ns = sampled ? static_cast<Eigen::Index>(samples.size()) : n;
    const double q = static_cast<double>(n) / static_cast<double>(ns);
    RowMatrixXd Er(ns, m);  // sampled pixel rows contiguous, for the Gram products
    if (sampled) {
        for (Eigen::Index i = 0; i < ns; ++i) Er.row(i) = E_in.row(samples[static_cast<size_t>(i)]);
    } else {
        Er = E_in;
    }
    const Eigen::MatrixXd E = Er;  // column-major, for the GEMMs
    const Eigen::VectorXd L1 = L * Eigen::VectorXd::Ones(n);
    const Eigen::VectorXd EtL1 = E_in.transpose() * L1;
    const double wg = std::pow(params.weight, params.gamma);
    const double ex = params.gamma - 2.0;

    int K = num_layers;
    std::vector<int> kept(static_cast<size_t>(K));
    for (int k = 0; k < K; ++k) kept[static_cast<size_t>(k)] = k;
    Eigen::MatrixXd alpha = Eigen::MatrixXd::Zero(ns, K);  // column-major ns x K
    for (Eigen::Index i = 0; i < ns; ++i)
        alpha(i, labels[sampled ? samples[static_cast<size_t>(i)] : i]) = 1.0;
    // Every layer after a solve is c_k + E y_k (column k of Y): this gives the
    // layers at all pixels when the energy is sampled.
    Eigen::VectorXd coef_c;
    Eigen::MatrixXd coef_y;
    bool solved = false;

    const int cycle = params.prune_every > 0 ? params.prune_every
                                             : (params.iterations + 3) / 4;
    int remove_iter = cycle;
    ConstrainedResult res;
    res.sample_count = ns;
    Eigen::MatrixXd e0(ns, K), e1(ns, K);
    // IRLS weights by blocks of pixels: the clamped bases, then x^(gamma-2)
    // over the block (pow_array: vectorised; bench/README.md times it).
    auto reweight = [&]() {
        e0.resize(ns, K);
        e1.resize(ns, K);
        constexpr Eigen::Index kBlock = 1024;
        const Eigen::Index nblocks = (ns + kBlock - 1) / kBlock;
#pragma omp parallel num_threads(nt)
        {
            double base[kBlock];
#pragma omp for schedule(static)
            for (Eigen::Index blk = 0; blk < nblocks; ++blk) {
                const Eigen::Index p0 = blk * kBlock, len = std::min(kBlock, ns - p0);
                for (int k = 0; k < K; ++k) {
                    const double* a = alpha.col(k).data() + p0;
                    // e1 from |alpha - 1|, e0 from |alpha - 0|
                    for (auto [target, e] : {std::pair(1.0, &e1), std::pair(0.0, &e0)}) {
                        for (Eigen::Index i = 0; i < len; ++i)
                            base[i] = std::max(std::abs(a[i] - target), params.clamp);
                        double* w = e->col(k).data() + p0;
                        pow_array(base, ex, w, len);
                        for (Eigen::Index i = 0; i < len; ++i) w[i] *= wg;
                    }
                }
            }
        }
    };
    const GramKernel kernel = resolve_kernel(params.gram_kernel);
    res.gram_kernel = gram_kernel_name(kernel);
    // Per-layer Grams run in parallel over layers, so the BLAS runs on one
    // thread (each layer's result then does not depend on the thread count).
    detail::BlasThreads blas_guard(1);
    detail::Stopwatch sw;
    Eigen::MatrixXd unweighted;  // E^T E, computed when first needed
    reweight();
    res.seconds_weights += sw.lap();
    report_progress(0.0);
    for (int iter = 1; iter <= params.iterations; ++iter) {
        check_cancel();
        report_progress(static_cast<double>(iter - 1) / params.iterations);
        if (K >= 2) {
            // Gram blocks of every layer, in parallel over groups of layers. A layer
            // whose weights are all equal (every layer in the first
            // iteration: one-hot alphas give e0 + e1 = w^gamma (1 +
            // clamp^(gamma-2)) everywhere) gets c E^T E, computed once.
            sw.reset();
            Eigen::MatrixXd W = e0 + e1;
            if (sampled) W *= q;
            std::vector<char> constant(static_cast<size_t>(K));
            for (int k = 0; k < K; ++k)
                constant[static_cast<size_t>(k)] = (W.col(k).array() == W(0, k)).all();
            std::vector<Eigen::MatrixXd> G(static_cast<size_t>(K));
            if (std::find(constant.begin(), constant.end(), 1) != constant.end() &&
                unweighted.size() == 0) {
                const Eigen::VectorXd ones = Eigen::VectorXd::Ones(ns);
                weighted_gram(Er, ones.data(), unweighted, kernel);
            }
            // The weighted layers in nt contiguous groups, one per thread,
            // each group in one pass over E (a layer's Gram does not depend
            // on its group, so neither on the thread count).
            std::vector<int> weighted;
            for (int k = 0; k < K; ++k)
                if (constant[static_cast<size_t>(k)])
                    G[static_cast<size_t>(k)] = W(0, k) * unweighted;
                else
                    weighted.push_back(k);
            const int nw = static_cast<int>(weighted.size());
            const int groups = std::min(nt, std::max(nw, 1));
#pragma omp parallel for schedule(static, 1) num_threads(groups)
            for (int g = 0; g < groups; ++g) {
                const int l0 = nw * g / groups, l1 = nw * (g + 1) / groups;
                std::vector<const double*> w;
                std::vector<Eigen::MatrixXd> Gg(static_cast<size_t>(l1 - l0));
                for (int l = l0; l < l1; ++l) w.push_back(W.col(weighted[static_cast<size_t>(l)]).data());
                if (l1 > l0) weighted_grams(Er, w.data(), l1 - l0, Gg.data(), kernel);
                for (int l = l0; l < l1; ++l)
                    G[static_cast<size_t>(weighted[static_cast<size_t>(l)])] =
                        std::move(Gg[static_cast<size_t>(l - l0)]);
            }
            for (int k = 0; k < K; ++k) G[static_cast<size_t>(k)].diagonal() += eigenvalues;
            res.seconds_gram += sw.lap();
            Eigen::MatrixXd B(m, (K - 1) * m);
            for (int k = 0; k < K - 1; ++k) B.middleCols(k * m, m) = G[static_cast<size_t>(k)];
            // The two ns x m x K products, E^T [e1_1 .. e1_{K-1}, e0_K] and
            // E y: BLAS dgemm when built with one (Eigen's GEMM in a build
            // without -march flags is SSE2 and several times slower), as
            // one-threaded calls on fixed row chunks in parallel (a threaded
            // BLAS's spinning workers would steal the cores from the Gram
            // threads). The chunk sums run in chunk order, so the result
            // does not depend on the number of threads.
            constexpr Eigen::Index kRows = 4096;
            const Eigen::Index nchunks = (ns + kRows - 1) / kRows;
            std::vector<Eigen::MatrixXd> part(static_cast<size_t>(nchunks));
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
            for (Eigen::Index c = 0; c < nchunks; ++c) {
                const Eigen::Index r = c * kRows, nr = std::min(kRows, ns - r);
                Eigen::MatrixXd& P = part[static_cast<size_t>(c)];
                P.resize(m, K);
                detail::gemm(true, false, 1.0, E.middleRows(r, nr),
                             e1.block(r, 0, nr, K - 1), 0.0, P.leftCols(K - 1));
                detail::gemm(true, false, 1.0, E.middleRows(r, nr), e0.block(r, K - 1, nr, 1),
                             0.0, P.rightCols(1));
            }
            Eigen::MatrixXd Et = part[0];
            for (Eigen::Index c = 1; c < nchunks; ++c) Et += part[static_cast<size_t>(c)];
            if (sampled) Et *= q;
            const Eigen::VectorXd shared = Et.col(K - 1) + EtL1;
            const Eigen::MatrixXd rhs = Et.leftCols(K - 1).colwise() + shared;
            const Eigen::MatrixXd y = structured_block_solve(B, G[static_cast<size_t>(K - 1)], rhs);
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
            for (Eigen::Index c = 0; c < nchunks; ++c) {
                const Eigen::Index r = c * kRows, nr = std::min(kRows, ns - r);
                detail::gemm(false, false, 1.0, E.middleRows(r, nr), y, 0.0,
                             alpha.block(r, 0, nr, K - 1));
            }
            alpha.col(K - 1) = Eigen::VectorXd::Ones(ns) - alpha.leftCols(K - 1).rowwise().sum();
            coef_c = Eigen::VectorXd::Zero(K);
            coef_c[K - 1] = 1.0;
            coef_y.resize(m, K);
            coef_y.leftCols(K - 1) = y;
            coef_y.col(K - 1) = -y.rowwise().sum();
            solved = true;
            res.seconds_solve += sw.lap();
        }
        if (iter > remove_iter) {
            std::vector<int> keep;
            int best = 0;
            double best_max = -1.0;
            for (int k = 0; k < K; ++k) {
                const double mx = alpha.col(k).cwiseAbs().maxCoeff();
                if (mx > params.prune_threshold) keep.push_back(k);
                if (mx > best_max) { best_max = mx; best = k; }
            }
            if (keep.empty()) keep.push_back(best);
            if (static_cast<int>(keep.size()) != K) {
                const Eigen::Index K2 = static_cast<Eigen::Index>(keep.size());
                Eigen::MatrixXd a2(ns, K2), y2(m, K2);
                Eigen::VectorXd c2(K2);
                std::vector<int> kept2;
                for (Eigen::Index j = 0; j < K2; ++j) {
                    const int src = keep[static_cast<size_t>(j)];
                    a2.col(j) = alpha.col(src);
                    if (solved) {
                        c2[j] = coef_c[src];
                        y2.col(j) = coef_y.col(src);
                    }
                    kept2.push_back(kept[static_cast<size_t>(src)]);
                }
                alpha = std::move(a2);
                if (solved) {
                    coef_c = std::move(c2);
                    coef_y = std::move(y2);
                }
                kept = std::move(kept2);
                K = static_cast<int>(K2);
            }
            remove_iter += cycle;
        }
        res.layer_counts.push_back(K);
        sw.reset();
        reweight();
        res.seconds_weights += sw.lap();
    }
    if (!sampled) {
        res.alphas = alpha;
    } else if (solved) {
        // The layers at every pixel from their coefficients.
        Eigen::MatrixXd full = E_in * coef_y;
        full.rowwise() += coef_c.transpose();
        res.alphas = full;
    } else {  // no solve ran: the one-hot initial layers (K == num_layers)
        res.alphas = RowMatrixXd::Zero(n, K);
        for (Eigen::Index p = 0; p < n; ++p) res.alphas(p, labels[p]) = 1.0;
    }
    res.kept = kept;
    return res;
}

}  // namespace sss
