// x^e over arrays, for the IRLS weights of stages 8 and 10 (docs/algorithm.md).
#pragma once

#include <cstddef>

namespace sss {

/// y[i] = x[i]^e[i] (or x[i]^e for one exponent) for finite x[i] > 0 with
/// |e log x| < 700, as exp(e log x) with a log and an exp evaluated to a few
/// units in the last place (relative error ~1e-15 for |e log x| <~ 30, as
/// std::pow to ~10 ulp), four at a time with AVX2 on CPUs that have it
/// (chosen at run time) and with the same operations one at a time
/// elsewhere: both paths give bitwise the same results (bench/README.md
/// compares it with std::pow); other x are not handled (the callers clamp x below).
void pow_array(const double* x, const double* e, double* y, std::ptrdiff_t n);
void pow_array(const double* x, double e, double* y, std::ptrdiff_t n);
/// The one-at-a-time path of pow_array on every CPU (for tests).
void pow_array_scalar(const double* x, const double* e, double* y, std::ptrdiff_t n);

}  // namespace sss
