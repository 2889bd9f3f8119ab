// Private helpers for the optional BLAS the core may be linked with (CMake
// option SSS_USE_BLAS; Debian libblas-dev, e.g. backed by OpenBLAS).
#pragma once

#include <dlfcn.h>

#include <cstddef>

#ifdef SSS_HAVE_BLAS
extern "C" {
// Fortran BLAS: C = alpha A A^T + beta C (trans 'N') or alpha A^T A + beta C
// (trans 'T'); column-major; the trailing arguments are the hidden lengths of
// the two character arguments (gfortran >= 8 convention; ignored by OpenBLAS).
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k,
            const double* alpha, const double* a, const int* lda, const double* beta,
            double* c, const int* ldc, std::size_t uplo_len, std::size_t trans_len);
}
#endif

namespace sss::detail {

/// Sets the number of threads of the BLAS in use, when it exposes
/// openblas_set_num_threads (OpenBLAS), for the guard's lifetime; restores the
/// previous value on exit. Other BLAS libraries are left alone.
class BlasThreads {
public:
    explicit BlasThreads(int threads) {
        set_ = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
        auto get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
        if (set_ && get) {
            saved_ = get();
            if (saved_ != threads) set_(threads);
            else set_ = nullptr;  // nothing to restore
        } else {
            set_ = nullptr;
        }
    }
    ~BlasThreads() {
        if (set_) set_(saved_);
    }
    BlasThreads(const BlasThreads&) = delete;
    BlasThreads& operator=(const BlasThreads&) = delete;

private:
    void (*set_)(int) = nullptr;
    int saved_ = 1;
};

}  // namespace sss::detail
