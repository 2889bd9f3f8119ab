// The pybind11 extension module sss._core: thin wrappers over the C++ core.
// C++ exceptions become Python exceptions through pybind11's translators:
// std::invalid_argument/domain_error -> ValueError, std::length_error and
// std::out_of_range -> ValueError/IndexError, std::bad_alloc -> MemoryError,
// anything else derived from std::exception -> RuntimeError.
#include "bindings.hpp"
#include "sss/cancel.hpp"
#include "sss/progress.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
    m.doc() = "C++ core of sss (semantic soft segmentation)";
    // A computation stopped by sss::request_cancel() (see run_interruptible).
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const sss::Cancelled& e) {
            PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
        }
    });
    m.def("max_threads", []() {
#ifdef _OPENMP
        return omp_get_max_threads();
#else
        return 1;
#endif
    }, "Number of threads the core uses by default (OpenMP).");
    m.def("progress_fraction", &sss::progress_fraction,
          "Fraction of the running stage's work done, in [0, 1] (see sss/progress.hpp).");
    m.def("report_progress", &sss::report_progress, py::arg("fraction"),
          "Set the progress fraction (0 at the start of a stage).");
    m.def("request_cancel", &sss::request_cancel,
          "Ask the running computation to stop at its next check (it raises KeyboardInterrupt).");
    m.def("clear_cancel", &sss::clear_cancel, "Withdraw a cancel request.");
    sss::bindings::bind_features(m);
    sss::bindings::bind_matting(m);
    sss::bindings::bind_superpixels(m);
    sss::bindings::bind_affinity(m);
    sss::bindings::bind_eigensolver(m);
    sss::bindings::bind_constrained(m);
    sss::bindings::bind_kmeans(m);
    sss::bindings::bind_relaxed(m);
    sss::bindings::bind_colors(m);
    sss::bindings::bind_compositing(m);
    sss::bindings::bind_multilevel(m);
    sss::bindings::bind_build_info(m);
    sss::bindings::bind_pipeline(m);
}
