// Conversions between numpy / scipy objects and the core's types, shared by
// every bind_*.cpp. Inputs are checked strictly (exact dtype, C-contiguous,
// shape) and never converted silently: the Python layer does the friendly
// conversions, so a wrong array reaching this layer is a bug that must raise.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <csignal>
#include <signal.h>

#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "sss/cancel.hpp"
#include "sss/image.hpp"
#include "sss/sparse.hpp"

namespace sss::bindings {

namespace py = pybind11;

/// Raise TypeError unless `a` has dtype T, ValueError unless it is
/// C-contiguous with `ndim` dimensions (ndim < 0: any).
template <typename T>
void require_array(const py::array& a, const char* name, int ndim) {
    // isinstance compares dtypes by equivalence (numpy's PyArray_EquivTypes), not
    // by identity: an unpickled array's float64 is an equal but distinct object.
    if (!py::isinstance<py::array_t<T>>(a))
        throw py::type_error(std::string(name) + ": expected dtype " +
                             std::string(py::str(py::dtype::of<T>())) + ", got " +
                             std::string(py::str(a.dtype())));
    if (ndim >= 0 && a.ndim() != ndim)
        throw py::value_error(std::string(name) + ": expected " + std::to_string(ndim) +
                              " dimensions, got " + std::to_string(a.ndim()));
    if (!(a.flags() & py::array::c_style))
        throw py::value_error(std::string(name) + ": array must be C-contiguous");
}

/// View of an (H, W, C) float64 C-contiguous array (C = `channels`, or any if <= 0).
inline ImageView image_view(const py::array& a, const char* name, int channels) {
    require_array<double>(a, name, 3);
    ImageView v;
    v.data = static_cast<const double*>(a.data());
    v.height = static_cast<int>(a.shape(0));
    v.width = static_cast<int>(a.shape(1));
    v.channels = static_cast<int>(a.shape(2));
    if (a.shape(0) > INT32_MAX || a.shape(1) > INT32_MAX)
        throw py::value_error(std::string(name) + ": image dimensions too large");
    check_image(v, name, channels);
    return v;
}

/// Hand a std::vector to numpy without a copy (the array owns it), with the
/// given C-contiguous shape.
template <class T>
py::array_t<T> vector_to_array(std::vector<T>&& v, std::vector<py::ssize_t> shape) {
    auto* owner = new std::vector<T>(std::move(v));
    py::capsule keep(owner, [](void* p) { delete static_cast<std::vector<T>*>(p); });
    return py::array_t<T>(shape, owner->data(), keep);
}

namespace detail {

// While any run_interruptible call is active, SIGINT and SIGTERM (when
// Python handles them, i.e. their disposition is not SIG_DFL/SIG_IGN) go to
// on_signal, which only requests cancellation and remembers the signal; the
// last call to finish restores Python's handlers and delivers the signal to
// them again. No thread is created: the computation runs on the calling
// thread with its OpenMP team, as without cancellation.
struct SignalGuardState {
    std::mutex mutex;
    int active = 0;
    struct sigaction saved[2];
    bool replaced[2] = {false, false};
    std::atomic<int> pending{0};
};
inline SignalGuardState& signal_state() {
    static SignalGuardState state;
    return state;
}
inline constexpr int kSignals[2] = {SIGINT, SIGTERM};
inline void on_signal(int sig) {
    signal_state().pending.store(sig, std::memory_order_relaxed);
    request_cancel();
}

class SignalGuard {
public:
    SignalGuard() {
        auto& st = signal_state();
        std::lock_guard<std::mutex> lock(st.mutex);
        if (st.active++ > 0) return;
        st.pending.store(0);
        for (int i = 0; i < 2; ++i) {
            struct sigaction cur {};
            st.replaced[i] = false;
            if (sigaction(kSignals[i], nullptr, &cur) != 0) continue;
            if (!(cur.sa_flags & SA_SIGINFO) &&
                (cur.sa_handler == SIG_DFL || cur.sa_handler == SIG_IGN))
                continue;  // not Python's: leave it alone
            struct sigaction ours {};
            ours.sa_handler = on_signal;
            sigemptyset(&ours.sa_mask);
            ours.sa_flags = SA_ONSTACK;
            if (sigaction(kSignals[i], &ours, &st.saved[i]) == 0) st.replaced[i] = true;
        }
    }
    /// Restore the handlers (last guard only) and return the signal caught
    /// while any guard was active (0: none), re-delivered to Python's handler.
    int release() {
        auto& st = signal_state();
        std::lock_guard<std::mutex> lock(st.mutex);
        released_ = true;
        if (--st.active > 0) return st.pending.load();
        for (int i = 0; i < 2; ++i)
            if (st.replaced[i]) sigaction(kSignals[i], &st.saved[i], nullptr);
        const int sig = st.pending.exchange(0);
        clear_cancel();
        if (sig) raise(sig);  // now handled by Python's handler (it trips its flag)
        return sig;
    }
    ~SignalGuard() {
        if (!released_) release();
    }
    SignalGuard(const SignalGuard&) = delete;
    SignalGuard& operator=(const SignalGuard&) = delete;

private:
    bool released_ = false;
};

}  // namespace detail

/// Run `compute()` without the GIL so that Ctrl-C stops it: while it runs,
/// SIGINT/SIGTERM request cancellation (sss/cancel.hpp), which the long loops
/// of the core notice at their next check_cancel() and leave by throwing
/// Cancelled. Afterwards the signal goes to Python's handler and its
/// exception (KeyboardInterrupt, or whatever a SIGTERM handler raises) is
/// raised here. Other exceptions of `compute` propagate unchanged.
template <class Compute>
auto run_interruptible(Compute&& compute) -> decltype(compute()) {
    using R = decltype(compute());
    detail::SignalGuard guard;
    std::exception_ptr error;
    std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> result{};
    {
        py::gil_scoped_release release;
        try {
            if constexpr (std::is_void_v<R>)
                compute();
            else
                result.emplace(compute());
        } catch (...) {
            error = std::current_exception();
        }
    }
    if (guard.release() != 0 && PyErr_CheckSignals() != 0) throw py::error_already_set();
    if (error) std::rethrow_exception(error);
    if constexpr (!std::is_void_v<R>) return std::move(*result);
}

/// Take over `m` (it is left empty) and return (data, indices, indptr, shape)
/// numpy arrays that view its buffers; the arrays keep it alive. No copy.
/// Note: Eigen 3.4's SparseMatrix has no move constructor or move assignment
/// (std::move copies!), so ownership is transferred with swap().
inline py::tuple csr_to_python(SparseMatrix&& m) {
    m.makeCompressed();
    auto* owner = new SparseMatrix();
    owner->swap(m);
    py::capsule keep(owner, [](void* p) { delete static_cast<SparseMatrix*>(p); });
    const py::ssize_t nnz = owner->nonZeros();
    const py::ssize_t rows = owner->rows();
    static double dummy_d = 0.0;
    static int dummy_i = 0;
    py::array_t<double> data({nnz}, {sizeof(double)}, nnz ? owner->valuePtr() : &dummy_d, keep);
    py::array_t<int> indices({nnz}, {sizeof(int)}, nnz ? owner->innerIndexPtr() : &dummy_i, keep);
    py::array_t<int> indptr({rows + 1}, {sizeof(int)}, owner->outerIndexPtr(), keep);
    return py::make_tuple(data, indices, indptr, py::make_tuple(rows, owner->cols()));
}

/// Run `compute` (returning a SparseMatrix) without the GIL and return its
/// result as csr_to_python's arrays, without a copy.
template <class Compute>
py::tuple csr_result(Compute&& compute) {
    auto* M = new SparseMatrix();  // no copy (see csr_to_python)
    std::unique_ptr<SparseMatrix> owner(M);
    run_interruptible([&] {
        SparseMatrix result = compute();
        M->swap(result);
    });
    return csr_to_python(std::move(*M));
}

/// Zero-copy read-only view of CSR arrays (float64 data, int32 indices and
/// indptr, canonical: sorted indices, no duplicates). The arrays must outlive it.
inline Eigen::Map<const SparseMatrix> csr_view(const py::array& data, const py::array& indices,
                                               const py::array& indptr, py::ssize_t rows,
                                               py::ssize_t cols, const char* name) {
    require_array<double>(data, name, 1);
    require_array<int>(indices, name, 1);
    require_array<int>(indptr, name, 1);
    if (rows < 0 || cols < 0 || indptr.shape(0) != rows + 1)
        throw py::value_error(std::string(name) + ": indptr length does not match the shape");
    const int* ip = static_cast<const int*>(indptr.data());
    if (ip[0] != 0 || ip[rows] != data.shape(0) || data.shape(0) != indices.shape(0))
        throw py::value_error(std::string(name) + ": inconsistent CSR arrays");
    // A malformed matrix must raise, never read out of bounds: O(nnz) checks.
    const int* ix = static_cast<const int*>(indices.data());
    for (py::ssize_t r = 0; r < rows; ++r) {
        if (ip[r + 1] < ip[r])
            throw py::value_error(std::string(name) + ": indptr is not non-decreasing");
        for (int k = ip[r]; k < ip[r + 1]; ++k)
            if (ix[k] < 0 || ix[k] >= cols || (k > ip[r] && ix[k] <= ix[k - 1]))
                throw py::value_error(std::string(name) +
                                      ": column indices out of range or not sorted and unique");
    }
    return Eigen::Map<const SparseMatrix>(rows, cols, data.shape(0), ip,
                                          static_cast<const int*>(indices.data()),
                                          static_cast<const double*>(data.data()));
}

}  // namespace sss::bindings
