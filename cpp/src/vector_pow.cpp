// x^e over arrays (see sss/vector_pow.hpp).
#include "sss/vector_pow.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define SSS_HAVE_AVX2_POW 1
#endif

#include <cmath>
#include <cstdint>
#include <cstring>

namespace sss {

namespace {

// log(x) = k ln 2 + 2 atanh(s), s = (m - 1) / (m + 1), x = 2^k m with m in
// [sqrt(1/2), sqrt(2)): |s| <= 0.1716, and the series of atanh to s^23
// leaves < 1e-18. exp(y) = 2^t exp(r), t = round(y / ln 2), |r| <= ln 2 / 2,
// Taylor to r^13 (< 3e-18). ln 2 is split (fdlibm) so that t ln2_hi is exact.
constexpr double kSqrt2 = 1.41421356237309514547;
constexpr double kLn2Hi = 6.93147180369123816490e-01;
constexpr double kLn2Lo = 1.90821492927058770002e-10;
constexpr double kInvLn2 = 1.44269504088896338700;
constexpr double kTwo52 = 4503599627370496.0;
constexpr int kAtanhTerms = 12;  // 1/(2j+1), j = 0..11
constexpr int kExpTerms = 14;    // 1/j!, j = 0..13

struct Coefficients {
    double atanh[kAtanhTerms];
    double exp[kExpTerms];
    Coefficients() {
        for (int j = 0; j < kAtanhTerms; ++j) atanh[j] = 1.0 / (2.0 * j + 1.0);
        double f = 1.0;
        for (int j = 0; j < kExpTerms; ++j) {
            if (j > 0) f *= j;
            exp[j] = 1.0 / f;
        }
    }
};
const Coefficients kC;

inline double bits_to_double(std::uint64_t b) {
    double d;
    std::memcpy(&d, &b, sizeof d);
    return d;
}
inline std::uint64_t double_to_bits(double d) {
    std::uint64_t b;
    std::memcpy(&b, &d, sizeof b);
    return b;
}

// The polynomials by Estrin's scheme (a shallow tree of products: the
// evaluation is not one long chain of dependent operations). The vector
// kernel does the same operations in the same order.
inline double atanh_poly(double z) {  // sum_{j<12} z^j / (2j + 1)
    const double* c = kC.atanh;
    const double z2 = z * z, z4 = z2 * z2, z8 = z4 * z4;
    const double a0 = c[0] + c[1] * z, a1 = c[2] + c[3] * z, a2 = c[4] + c[5] * z,
                 a3 = c[6] + c[7] * z, a4 = c[8] + c[9] * z, a5 = c[10] + c[11] * z;
    const double b0 = a0 + a1 * z2, b1 = a2 + a3 * z2, b2 = a4 + a5 * z2;
    return (b0 + b1 * z4) + b2 * z8;
}
inline double exp_poly(double r) {  // sum_{j<14} r^j / j!
    const double* c = kC.exp;
    const double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    const double a0 = c[0] + c[1] * r, a1 = c[2] + c[3] * r, a2 = c[4] + c[5] * r,
                 a3 = c[6] + c[7] * r, a4 = c[8] + c[9] * r, a5 = c[10] + c[11] * r,
                 a6 = c[12] + c[13] * r;
    const double b0 = a0 + a1 * r2, b1 = a2 + a3 * r2, b2 = a4 + a5 * r2, b3 = a6;
    return (b0 + b1 * r4) + (b2 + b3 * r4) * r8;
}

// One value; the vector kernel below does the same operations lane by lane.
inline double pow_one(double x, double e) {
    const std::uint64_t bits = double_to_bits(x);
    double m = bits_to_double((bits & 0x000FFFFFFFFFFFFFULL) | 0x3FF0000000000000ULL);
    double k = bits_to_double((bits >> 52) | 0x4330000000000000ULL) - kTwo52 - 1023.0;
    if (m > kSqrt2) {
        m = m * 0.5;
        k = k + 1.0;
    }
    const double f = m - 1.0;
    const double s = f / (f + 2.0);
    const double z = s * s;
    const double p = atanh_poly(z);
    const double lg = k * kLn2Hi + ((s + s) * p + k * kLn2Lo);
    const double y = e * lg;
    const double t = std::nearbyint(y * kInvLn2);
    const double r = (y - t * kLn2Hi) - t * kLn2Lo;
    const double q = exp_poly(r);
    const double scale = bits_to_double(double_to_bits(t + (kTwo52 + 1023.0)) << 52);
    return q * scale;
}

#ifdef SSS_HAVE_AVX2_POW
bool cpu_has_avx2() {
    static const bool ok = __builtin_cpu_supports("avx2");
    return ok;
}

// c0 + c1 x, lane by lane
__attribute__((target("avx2"))) inline __m256d lin4(const double* c, __m256d x) {
    return _mm256_add_pd(_mm256_set1_pd(c[0]), _mm256_mul_pd(_mm256_set1_pd(c[1]), x));
}
// a + b x
__attribute__((target("avx2"))) inline __m256d mad4(__m256d a, __m256d b, __m256d x) {
    return _mm256_add_pd(a, _mm256_mul_pd(b, x));
}
__attribute__((target("avx2"))) inline __m256d atanh_poly4(__m256d z) {
    const double* c = kC.atanh;
    const __m256d z2 = _mm256_mul_pd(z, z), z4 = _mm256_mul_pd(z2, z2), z8 = _mm256_mul_pd(z4, z4);
    const __m256d a0 = lin4(c, z), a1 = lin4(c + 2, z), a2 = lin4(c + 4, z), a3 = lin4(c + 6, z),
                  a4 = lin4(c + 8, z), a5 = lin4(c + 10, z);
    const __m256d b0 = mad4(a0, a1, z2), b1 = mad4(a2, a3, z2), b2 = mad4(a4, a5, z2);
    return _mm256_add_pd(mad4(b0, b1, z4), _mm256_mul_pd(b2, z8));
}
__attribute__((target("avx2"))) inline __m256d exp_poly4(__m256d r) {
    const double* c = kC.exp;
    const __m256d r2 = _mm256_mul_pd(r, r), r4 = _mm256_mul_pd(r2, r2), r8 = _mm256_mul_pd(r4, r4);
    const __m256d a0 = lin4(c, r), a1 = lin4(c + 2, r), a2 = lin4(c + 4, r), a3 = lin4(c + 6, r),
                  a4 = lin4(c + 8, r), a5 = lin4(c + 10, r), a6 = lin4(c + 12, r);
    const __m256d b0 = mad4(a0, a1, r2), b1 = mad4(a2, a3, r2), b2 = mad4(a4, a5, r2);
    return _mm256_add_pd(mad4(b0, b1, r4), _mm256_mul_pd(mad4(b2, a6, r4), r8));
}

__attribute__((target("avx2"))) inline __m256d pow4(__m256d x, __m256d e) {
    const __m256i bits = _mm256_castpd_si256(x);
    __m256d m = _mm256_castsi256_pd(
        _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi64x(0x000FFFFFFFFFFFFFLL)),
                        _mm256_set1_epi64x(0x3FF0000000000000LL)));
    __m256d k = _mm256_castsi256_pd(
        _mm256_or_si256(_mm256_srli_epi64(bits, 52), _mm256_set1_epi64x(0x4330000000000000LL)));
    k = _mm256_sub_pd(_mm256_sub_pd(k, _mm256_set1_pd(kTwo52)), _mm256_set1_pd(1023.0));
    const __m256d big = _mm256_cmp_pd(m, _mm256_set1_pd(kSqrt2), _CMP_GT_OQ);
    m = _mm256_blendv_pd(m, _mm256_mul_pd(m, _mm256_set1_pd(0.5)), big);
    k = _mm256_blendv_pd(k, _mm256_add_pd(k, _mm256_set1_pd(1.0)), big);
    const __m256d f = _mm256_sub_pd(m, _mm256_set1_pd(1.0));
    const __m256d s = _mm256_div_pd(f, _mm256_add_pd(f, _mm256_set1_pd(2.0)));
    const __m256d z = _mm256_mul_pd(s, s);
    const __m256d p = atanh_poly4(z);
    const __m256d lg = _mm256_add_pd(
        _mm256_mul_pd(k, _mm256_set1_pd(kLn2Hi)),
        _mm256_add_pd(_mm256_mul_pd(_mm256_add_pd(s, s), p),
                      _mm256_mul_pd(k, _mm256_set1_pd(kLn2Lo))));
    const __m256d y = _mm256_mul_pd(e, lg);
    const __m256d t = _mm256_round_pd(_mm256_mul_pd(y, _mm256_set1_pd(kInvLn2)),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256d r = _mm256_sub_pd(_mm256_sub_pd(y, _mm256_mul_pd(t, _mm256_set1_pd(kLn2Hi))),
                                    _mm256_mul_pd(t, _mm256_set1_pd(kLn2Lo)));
    const __m256d q = exp_poly4(r);
    const __m256d scale = _mm256_castsi256_pd(_mm256_slli_epi64(
        _mm256_castpd_si256(_mm256_add_pd(t, _mm256_set1_pd(kTwo52 + 1023.0))), 52));
    return _mm256_mul_pd(q, scale);
}

__attribute__((target("avx2"))) std::ptrdiff_t pow_avx2(const double* x, const double* e,
                                                          double e1, double* y, std::ptrdiff_t n) {
    std::ptrdiff_t i = 0;
    const __m256d ev = _mm256_set1_pd(e1);
    for (; i + 4 <= n; i += 4)
        _mm256_storeu_pd(y + i, pow4(_mm256_loadu_pd(x + i), e ? _mm256_loadu_pd(e + i) : ev));
    return i;
}
#endif

void pow_any(const double* x, const double* e, double e1, double* y, std::ptrdiff_t n) {
    std::ptrdiff_t i = 0;
#ifdef SSS_HAVE_AVX2_POW
    if (cpu_has_avx2()) i = pow_avx2(x, e, e1, y, n);
#endif
    for (; i < n; ++i) y[i] = pow_one(x[i], e ? e[i] : e1);
}

}  // namespace

void pow_array(const double* x, const double* e, double* y, std::ptrdiff_t n) {
    pow_any(x, e, 0.0, y, n);
}

void pow_array(const double* x, double e, double* y, std::ptrdiff_t n) {
    pow_any(x, nullptr, e, y, n);
}

void pow_array_scalar(const double* x, const double* e, double* y, std::ptrdiff_t n) {
    for (std::ptrdiff_t i = 0; i < n; ++i) y[i] = pow_one(x[i], e[i]);
}

}  // namespace sss
