// Private: wall-clock timing of the stages' parts (their seconds_* results).
#pragma once

#include <chrono>

namespace sss::detail {

/// Seconds between calls of lap() (the first from construction or reset()).
struct Stopwatch {
    using Clock = std::chrono::steady_clock;
    Clock::time_point t = Clock::now();
    void reset() { t = Clock::now(); }
    double lap() {
        const Clock::time_point now = Clock::now();
        const double s = std::chrono::duration<double>(now - t).count();
        t = now;
        return s;
    }
};

}  // namespace sss::detail
