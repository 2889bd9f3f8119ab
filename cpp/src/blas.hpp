// Private helpers for the optional BLAS the core may be linked with (CMake
// option SSS_USE_BLAS; Debian libblas-dev, e.g. backed by OpenBLAS).
#pragma once

#include <dlfcn.h>

#include <algorithm>
#include <cstddef>
#include <mutex>
#include <stdexcept>
#include <vector>

#ifdef SSS_HAVE_BLAS
extern "C" {
// Fortran BLAS: C = alpha A A^T + beta C (trans 'N') or alpha A^T A + beta C
// (trans 'T'); column-major; the trailing arguments are the hidden lengths of
// the two character arguments (gfortran >= 8 convention; ignored by OpenBLAS).
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k,
            const double* alpha, const double* a, const int* lda, const double* beta,
            double* c, const int* ldc, std::size_t uplo_len, std::size_t trans_len);
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const double* alpha, const double* a, const int* lda, const double* b,
            const int* ldb, const double* beta, double* c, const int* ldc, std::size_t ta_len,
            std::size_t tb_len);
// B = alpha B op(A)^-1 (side 'R') for triangular A; column-major.
void dtrsm_(const char* side, const char* uplo, const char* transa, const char* diag,
            const int* m, const int* n, const double* alpha, const double* a, const int* lda,
            double* b, const int* ldb, std::size_t side_len, std::size_t uplo_len,
            std::size_t ta_len, std::size_t diag_len);
}
#endif

#include <Eigen/Dense>

namespace sss::detail {

/// Sets the number of threads of the BLAS in use, when it exposes
/// openblas_set_num_threads (OpenBLAS), for the guard's lifetime. OpenBLAS's
/// thread count is one setting for the whole process, and its results depend
/// on it, so the guards of every thread share it: the first guard to start
/// saves the count and sets its own, the last to end restores the saved one.
/// Guards that overlap (nested, or in concurrent segment calls from several
/// Python threads) must ask for the same count; every caller asks for 1. Other
/// BLAS libraries are left alone.
class BlasThreads {
public:
    explicit BlasThreads(int threads) {
        auto set = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
        auto get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
        if (!set || !get) return;
        std::lock_guard<std::mutex> lock(state().mutex);
        State& st = state();
        if (st.active == 0) {
            st.saved = get();
            if (st.saved != threads) set(threads);
            st.threads = threads;
        } else if (st.threads != threads) {
            throw std::logic_error("BlasThreads: overlapping guards ask for different thread counts");
        }
        ++st.active;
        set_ = set;
    }
    ~BlasThreads() {
        if (!set_) return;
        std::lock_guard<std::mutex> lock(state().mutex);
        State& st = state();
        if (--st.active == 0 && st.saved != st.threads) set_(st.saved);
    }
    BlasThreads(const BlasThreads&) = delete;
    BlasThreads& operator=(const BlasThreads&) = delete;

private:
    struct State {
        std::mutex mutex;
        int active = 0;   // guards alive, in every thread
        int saved = 1;    // the count before the first of them
        int threads = 1;  // the count they set
    };
    static State& state() {
        static State st;  // one per process (an inline function's static)
        return st;
    }
    void (*set_)(int) = nullptr;
};

/// C = alpha op(A) op(B) + beta C for column-major blocks (op = transpose
/// when the flag is set): BLAS dgemm when the core was built with a BLAS,
/// else Eigen's product (whose parallel GEMM is slow for the tall-skinny
/// shapes of block orthogonalisation).
inline void gemm(bool trans_a, bool trans_b, double alpha,
                 const Eigen::Ref<const Eigen::MatrixXd>& A,
                 const Eigen::Ref<const Eigen::MatrixXd>& B, double beta,
                 Eigen::Ref<Eigen::MatrixXd> C) {
    const Eigen::Index m = trans_a ? A.cols() : A.rows();
    const Eigen::Index k = trans_a ? A.rows() : A.cols();
    const Eigen::Index n = trans_b ? B.rows() : B.cols();
    if (C.rows() != m || C.cols() != n || (trans_b ? B.cols() : B.rows()) != k)
        throw std::invalid_argument("gemm: incompatible shapes");
    if (m == 0 || n == 0) return;
#ifdef SSS_HAVE_BLAS
    const int mi = static_cast<int>(m), ni = static_cast<int>(n), ki = static_cast<int>(k);
    const int lda = static_cast<int>(std::max<Eigen::Index>(1, A.outerStride()));
    const int ldb = static_cast<int>(std::max<Eigen::Index>(1, B.outerStride()));
    const int ldc = static_cast<int>(std::max<Eigen::Index>(1, C.outerStride()));
    dgemm_(trans_a ? "T" : "N", trans_b ? "T" : "N", &mi, &ni, &ki, &alpha, A.data(), &lda,
           B.data(), &ldb, &beta, C.data(), &ldc, 1, 1);
#else
    Eigen::MatrixXd P;
    if (trans_a && trans_b) P = A.transpose() * B.transpose();
    else if (trans_a) P = A.transpose() * B;
    else if (trans_b) P = A * B.transpose();
    else P = A * B;
    if (beta == 0.0) C = alpha * P;
    else C = alpha * P + beta * C;
#endif
}

/// gemm() on `threads` threads with a result that does not depend on the
/// thread count: the long dimension (C's rows, or the inner dimension when
/// `trans_a`) is cut into fixed chunks of kGemmChunkRows rows, each chunk is
/// one gemm() call (call it with the BLAS single-threaded: detail::BlasThreads),
/// and with `trans_a` the chunks' partial products are summed in chunk order.
inline void gemm_fixed(bool trans_a, bool trans_b, double alpha,
                       const Eigen::Ref<const Eigen::MatrixXd>& A,
                       const Eigen::Ref<const Eigen::MatrixXd>& B, double beta,
                       Eigen::Ref<Eigen::MatrixXd> C, int threads) {
    constexpr Eigen::Index kGemmChunkRows = 8192;
    const Eigen::Index rows = A.rows();
    const Eigen::Index chunks = (rows + kGemmChunkRows - 1) / kGemmChunkRows;
    const Eigen::Index k = trans_a ? A.rows() : A.cols();
    if (C.rows() != (trans_a ? A.cols() : A.rows()) || (trans_b ? B.cols() : B.rows()) != k ||
        C.cols() != (trans_b ? B.rows() : B.cols()))
        throw std::invalid_argument("gemm_fixed: incompatible shapes");
    if (chunks <= 1 || C.size() == 0) {
        gemm(trans_a, trans_b, alpha, A, B, beta, C);
        return;
    }
    auto span = [&](Eigen::Index c) {
        const Eigen::Index r0 = c * kGemmChunkRows;
        return std::make_pair(r0, std::min(kGemmChunkRows, rows - r0));
    };
    if (!trans_a) {  // row chunks of C are independent
#pragma omp parallel for schedule(static) num_threads(threads)
        for (Eigen::Index c = 0; c < chunks; ++c) {
            const auto [r0, nr] = span(c);
            gemm(false, trans_b, alpha, A.middleRows(r0, nr), B, beta, C.middleRows(r0, nr));
        }
        return;
    }
    std::vector<Eigen::MatrixXd> part(static_cast<size_t>(chunks));
#pragma omp parallel for schedule(static) num_threads(threads)
    for (Eigen::Index c = 0; c < chunks; ++c) {
        const auto [r0, nr] = span(c);
        Eigen::MatrixXd& P = part[static_cast<size_t>(c)];
        P.resize(C.rows(), C.cols());
        if (trans_b)
            gemm(true, true, 1.0, A.middleRows(r0, nr), B.middleCols(r0, nr), 0.0, P);
        else
            gemm(true, false, 1.0, A.middleRows(r0, nr), B.middleRows(r0, nr), 0.0, P);
    }
    for (Eigen::Index c = 1; c < chunks; ++c) part[0] += part[static_cast<size_t>(c)];
    if (beta == 0.0)
        C = alpha * part[0];
    else
        C = alpha * part[0] + beta * C;
}

/// B = B op(Lt)^-1 for an n x n lower triangular Lt with a non-unit
/// diagonal (leading dimension ldl) and B of m x n (leading dimension ldb),
/// column-major; op = transpose when `trans` is set. BLAS dtrsm when the core
/// was built with a BLAS, else Eigen's triangular solve.
inline void trsm_right_lower(bool trans, int m, int n, const double* Lt, int ldl, double* B,
                             int ldb) {
    if (m == 0 || n == 0) return;
#ifdef SSS_HAVE_BLAS
    const double one = 1.0;
    dtrsm_("R", "L", trans ? "T" : "N", "N", &m, &n, &one, Lt, &ldl, B, &ldb, 1, 1, 1, 1);
#else
    using Stride = Eigen::OuterStride<>;
    Eigen::Map<const Eigen::MatrixXd, 0, Stride> T(Lt, n, n, Stride(ldl));
    Eigen::Map<Eigen::MatrixXd, 0, Stride> X(B, m, n, Stride(ldb));
    if (trans)
        // (Lt^T is upper triangular; transposing the read-only view itself
        // does not compile: Eigen asks for an lvalue there.)
        T.transpose().triangularView<Eigen::Upper>().solveInPlace<Eigen::OnTheRight>(X);
    else
        T.triangularView<Eigen::Lower>().solveInPlace<Eigen::OnTheRight>(X);
#endif
}

}  // namespace sss::detail
