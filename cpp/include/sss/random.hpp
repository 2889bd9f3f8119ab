// The random source of the k-means steps: numpy's default generator
// (numpy.random.default_rng(seed): SeedSequence + PCG64) and the sampling
// routines the pipeline uses, reproduced draw for draw, so that a seed gives
// the same layers from C++ as from numpy-based code.
#pragma once

#include <cstdint>
#include <vector>

namespace sss {

/// numpy.random.Generator(PCG64(SeedSequence(seed))) for a seed >= 0.
class Rng {
public:
    explicit Rng(std::uint64_t seed = 0);
    /// A generator at the given PCG64 state (numpy's bit_generator.state:
    /// state and increment as high/low 64-bit halves, the buffered 32-bit
    /// half-word), e.g. to continue a numpy Generator's stream.
    Rng(std::uint64_t state_high, std::uint64_t state_low, std::uint64_t inc_high,
        std::uint64_t inc_low, bool has_uint32 = false, std::uint32_t uinteger = 0);

    std::uint64_t next_uint64();
    std::uint32_t next_uint32();
    /// Uniform double in [0, 1) (Generator.random()).
    double random();
    /// Uniform integer in [0, n) (Generator.integers(n)), n >= 1.
    std::int64_t integers(std::int64_t n);
    /// One index drawn with probabilities proportional to `weights` summing
    /// to `total` (> 0): Generator.choice(len(weights), p=weights / total).
    std::int64_t choice(const std::vector<double>& weights, double total);
    /// k distinct indices of [0, n), in random order
    /// (Generator.choice(n, k, replace=False)).
    std::vector<std::int64_t> choice_without_replacement(std::int64_t n, std::int64_t k);

private:
    std::uint64_t bounded(std::uint64_t rng);  // uniform in [0, rng], numpy's Lemire variant
    unsigned __int128 state_ = 0;
    unsigned __int128 inc_ = 0;
    bool has_uint32_ = false;
    std::uint32_t uinteger_ = 0;
};

/// numpy's float64 sum of a contiguous array (np.sum / np.add.reduce):
/// pairwise summation in blocks of 128 with an 8-way unrolled inner loop,
/// so that sums computed here round as numpy's do.
double numpy_sum(const double* x, std::ptrdiff_t n);
/// The same for float32 values accumulated in float32.
float numpy_sum(const float* x, std::ptrdiff_t n);

}  // namespace sss
