// Progress of the running computation, for hosts that show it. The long
// loops (eigensolver, constrained and relaxed sparsification) store the
// fraction of their work done, in [0, 1], with report_progress(); a host
// reads it from another thread with progress_fraction() (the Python
// bindings poll it while a stage runs). The value is process-wide: with two
// computations running at once it follows whichever reported last.
#pragma once

#include <algorithm>
#include <atomic>

namespace sss {

inline std::atomic<double>& progress_slot() {
    static std::atomic<double> value{0.0};
    return value;
}

/// Record that a fraction `f` (clamped to [0, 1]) of the current stage is done.
inline void report_progress(double f) {
    progress_slot().store(std::clamp(f, 0.0, 1.0), std::memory_order_relaxed);
}

/// The last fraction reported (0 at the start of a stage).
inline double progress_fraction() { return progress_slot().load(std::memory_order_relaxed); }

}  // namespace sss
