// numpy's default generator (SeedSequence + PCG64) and its sampling routines,
// following numpy/random/bit_generator.pyx, _pcg64 and distributions.c.
#include "sss/random.hpp"

#include <algorithm>
#include <stdexcept>
#include <unordered_set>

namespace sss {

namespace {

using u128 = unsigned __int128;

constexpr u128 kMultiplier =
    (static_cast<u128>(0x2360ED051FC65DA4ULL) << 64) | 0x4385DF649FCCF645ULL;

// SeedSequence(seed).generate_state(4, np.uint64) for a seed >= 0 without spawn key.
void seed_sequence_state(std::uint64_t seed, std::uint64_t out[4]) {
    constexpr std::uint32_t kInitA = 0x43b0d7e5, kMultA = 0x931e8875;
    constexpr std::uint32_t kInitB = 0x8b51f9dd, kMultB = 0x58f38ded;
    constexpr std::uint32_t kMixL = 0xca01f9dd, kMixR = 0x4973f715;
    std::vector<std::uint32_t> entropy;
    if (seed == 0) entropy.push_back(0);
    for (std::uint64_t n = seed; n > 0; n >>= 32) entropy.push_back(static_cast<std::uint32_t>(n));
    std::uint32_t hash_const = kInitA;
    auto hashmix = [&hash_const](std::uint32_t value) {
        value ^= hash_const;
        hash_const *= kMultA;
        value *= hash_const;
        value ^= value >> 16;
        return value;
    };
    auto mix = [](std::uint32_t x, std::uint32_t y) {
        std::uint32_t r = kMixL * x - kMixR * y;
        r ^= r >> 16;
        return r;
    };
    std::uint32_t pool[4];
    for (std::size_t i = 0; i < 4; ++i) pool[i] = hashmix(i < entropy.size() ? entropy[i] : 0);
    for (int s = 0; s < 4; ++s)
        for (int d = 0; d < 4; ++d)
            if (s != d) pool[d] = mix(pool[d], hashmix(pool[s]));
    for (std::size_t s = 4; s < entropy.size(); ++s)
        for (int d = 0; d < 4; ++d) pool[d] = mix(pool[d], hashmix(entropy[s]));
    std::uint32_t words[8];
    std::uint32_t hb = kInitB;
    for (int i = 0; i < 8; ++i) {
        std::uint32_t v = pool[i % 4];
        v ^= hb;
        hb *= kMultB;
        v *= hb;
        v ^= v >> 16;
        words[i] = v;
    }
    for (int i = 0; i < 4; ++i)
        out[i] = static_cast<std::uint64_t>(words[2 * i]) |
                 (static_cast<std::uint64_t>(words[2 * i + 1]) << 32);
}

template <class T>
T pairwise(const T* a, std::ptrdiff_t n) {
    if (n < 8) {
        T res = 0;
        for (std::ptrdiff_t i = 0; i < n; ++i) res += a[i];
        return res;
    }
    if (n <= 128) {
        T r[8];
        for (int j = 0; j < 8; ++j) r[j] = a[j];
        std::ptrdiff_t i = 8;
        for (; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; ++j) r[j] += a[i + j];
        T res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; ++i) res += a[i];
        return res;
    }
    std::ptrdiff_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise(a, n2) + pairwise(a + n2, n - n2);
}

}  // namespace

Rng::Rng(std::uint64_t seed) {
    std::uint64_t v[4];
    seed_sequence_state(seed, v);
    const u128 initstate = (static_cast<u128>(v[0]) << 64) | v[1];
    const u128 initseq = (static_cast<u128>(v[2]) << 64) | v[3];
    state_ = 0;
    inc_ = (initseq << 1) | 1;
    state_ = state_ * kMultiplier + inc_;
    state_ += initstate;
    state_ = state_ * kMultiplier + inc_;
}

Rng::Rng(std::uint64_t state_high, std::uint64_t state_low, std::uint64_t inc_high,
         std::uint64_t inc_low, bool has_uint32, std::uint32_t uinteger)
    : state_((static_cast<u128>(state_high) << 64) | state_low),
      inc_((static_cast<u128>(inc_high) << 64) | inc_low),
      has_uint32_(has_uint32),
      uinteger_(uinteger) {}

std::uint64_t Rng::next_uint64() {
    state_ = state_ * kMultiplier + inc_;
    const std::uint64_t x = static_cast<std::uint64_t>(state_ >> 64) ^
                            static_cast<std::uint64_t>(state_);
    const unsigned rot = static_cast<unsigned>(state_ >> 122);
    return (x >> rot) | (x << ((64 - rot) & 63));
}

std::uint32_t Rng::next_uint32() {
    if (has_uint32_) {
        has_uint32_ = false;
        return uinteger_;
    }
    const std::uint64_t next = next_uint64();
    has_uint32_ = true;
    uinteger_ = static_cast<std::uint32_t>(next >> 32);
    return static_cast<std::uint32_t>(next & 0xffffffffULL);
}

double Rng::random() { return static_cast<double>(next_uint64() >> 11) * (1.0 / 9007199254740992.0); }

std::uint64_t Rng::bounded(std::uint64_t rng) {
    if (rng == 0) return 0;
    if (rng <= 0xFFFFFFFFULL) {
        if (rng == 0xFFFFFFFFULL) return next_uint32();
        const std::uint32_t r = static_cast<std::uint32_t>(rng);
        const std::uint32_t excl = r + 1;
        std::uint64_t m = static_cast<std::uint64_t>(next_uint32()) * excl;
        std::uint32_t leftover = static_cast<std::uint32_t>(m);
        if (leftover < excl) {
            const std::uint32_t threshold = (0xFFFFFFFFu - r) % excl;
            while (leftover < threshold) {
                m = static_cast<std::uint64_t>(next_uint32()) * excl;
                leftover = static_cast<std::uint32_t>(m);
            }
        }
        return m >> 32;
    }
    if (rng == ~0ULL) return next_uint64();
    const std::uint64_t excl = rng + 1;
    u128 m = static_cast<u128>(next_uint64()) * excl;
    std::uint64_t leftover = static_cast<std::uint64_t>(m);
    if (leftover < excl) {
        const std::uint64_t threshold = (~0ULL - rng) % excl;
        while (leftover < threshold) {
            m = static_cast<u128>(next_uint64()) * excl;
            leftover = static_cast<std::uint64_t>(m);
        }
    }
    return static_cast<std::uint64_t>(m >> 64);
}

std::int64_t Rng::integers(std::int64_t n) {
    if (n < 1) throw std::invalid_argument("Rng::integers: n must be >= 1");
    return static_cast<std::int64_t>(bounded(static_cast<std::uint64_t>(n - 1)));
}

std::int64_t Rng::choice(const std::vector<double>& weights, double total) {
    if (weights.empty() || !(total > 0))
        throw std::invalid_argument("Rng::choice: weights must be non-empty with a positive sum");
    // numpy: p = weights / total; cdf = p.cumsum(); cdf /= cdf[-1];
    // cdf.searchsorted(random(), side="right")
    const std::size_t n = weights.size();
    std::vector<double> cdf(n);
    double acc = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        acc += weights[i] / total;
        cdf[i] = acc;
    }
    const double last = cdf[n - 1];
    for (double& c : cdf) c /= last;
    const double u = random();
    return static_cast<std::int64_t>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
}

std::vector<std::int64_t> Rng::choice_without_replacement(std::int64_t n, std::int64_t k) {
    if (k < 0 || k > n)
        throw std::invalid_argument("Rng::choice_without_replacement: need 0 <= k <= n");
    std::vector<std::int64_t> idx;
    auto shuffle = [this](std::int64_t* data, std::int64_t count, std::int64_t first) {
        for (std::int64_t i = count - 1; i >= first; --i) {
            const auto j = static_cast<std::int64_t>(bounded(static_cast<std::uint64_t>(i)));
            std::swap(data[i], data[j]);
        }
    };
    if (n > 10000 && k > n / 50) {
        // tail shuffle of k elements
        std::vector<std::int64_t> all(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) all[static_cast<std::size_t>(i)] = i;
        shuffle(all.data(), n, std::max<std::int64_t>(n - k, 1));
        idx.assign(all.end() - k, all.end());
        return idx;
    }
    // Floyd's algorithm, then a shuffle
    idx.resize(static_cast<std::size_t>(k));
    std::unordered_set<std::int64_t> seen;
    seen.reserve(static_cast<std::size_t>(k) * 2);
    for (std::int64_t j = n - k; j < n; ++j) {
        const auto val = static_cast<std::int64_t>(bounded(static_cast<std::uint64_t>(j)));
        const std::int64_t pick = seen.count(val) ? j : val;
        seen.insert(pick);
        idx[static_cast<std::size_t>(j - n + k)] = pick;
    }
    shuffle(idx.data(), k, 1);
    return idx;
}

double numpy_sum(const double* x, std::ptrdiff_t n) { return pairwise(x, n); }
float numpy_sum(const float* x, std::ptrdiff_t n) { return pairwise(x, n); }

}  // namespace sss
