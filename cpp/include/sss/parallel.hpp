// Small helpers for OpenMP parallel loops that work with and without OpenMP.
#pragma once

#include "sss/cancel.hpp"  // check_cancel() for the long loops that include this

#ifdef _OPENMP
#include <omp.h>
#endif

namespace sss {

/// Largest thread count used: 4 per core, at least 16 (the Python layer
/// refuses more; thousands of OpenMP threads can exhaust the address space,
/// and libgomp then aborts the process).
inline int max_threads() {
#ifdef _OPENMP
    const int procs = omp_get_num_procs();
    return procs > 4 ? 4 * procs : 16;
#else
    return 1;
#endif
}

/// Number of threads to use for a request of `requested` (<= 0: all
/// available), at most max_threads().
inline int resolve_threads(int requested) {
#ifdef _OPENMP
    const int n = requested > 0 ? requested : omp_get_max_threads();
    return n < max_threads() ? n : max_threads();
#else
    (void)requested;
    return 1;
#endif
}

}  // namespace sss
