// Small helpers for OpenMP parallel loops that work with and without OpenMP.
#pragma once

#include "sss/cancel.hpp"  // check_cancel() for the long loops that include this

#ifdef _OPENMP
#include <omp.h>
#endif

namespace sss {

/// Number of threads to use for a request of `requested` (<= 0: all available).
inline int resolve_threads(int requested) {
#ifdef _OPENMP
    return requested > 0 ? requested : omp_get_max_threads();
#else
    (void)requested;
    return 1;
#endif
}

}  // namespace sss
