// Cooperative cancellation of long computations. A host (the Python
// bindings on Ctrl-C, or a C++ program) calls request_cancel(); the long
// loops of every stage call check_cancel() between iterations (never inside
// an OpenMP parallel region), which throws sss::Cancelled. The host clears the
// request with clear_cancel() once the call has returned. The flag is
// process-wide: a cancel request stops every sss computation running then.
#pragma once

#include <atomic>
#include <stdexcept>

namespace sss {

/// Thrown by check_cancel() after request_cancel().
class Cancelled : public std::runtime_error {
public:
    Cancelled() : std::runtime_error("sss: computation cancelled") {}
};

inline std::atomic<bool>& cancel_flag() {
    static std::atomic<bool> flag{false};
    return flag;
}
inline void request_cancel() { cancel_flag().store(true, std::memory_order_relaxed); }
inline void clear_cancel() { cancel_flag().store(false, std::memory_order_relaxed); }
inline bool cancel_requested() { return cancel_flag().load(std::memory_order_relaxed); }
/// Throw Cancelled if a cancel was requested. Call it outside parallel regions.
inline void check_cancel() {
    if (cancel_requested()) throw Cancelled();
}

}  // namespace sss
