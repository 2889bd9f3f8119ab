// One registration function per pipeline stage (bind_<stage>.cpp); module.cpp
// calls them all. A new stage adds its declaration here and a call there.
#pragma once

#include <pybind11/pybind11.h>

namespace sss::bindings {

void bind_features(pybind11::module_& m);
void bind_matting(pybind11::module_& m);
void bind_superpixels(pybind11::module_& m);
void bind_affinity(pybind11::module_& m);
void bind_eigensolver(pybind11::module_& m);
void bind_constrained(pybind11::module_& m);
void bind_kmeans(pybind11::module_& m);
void bind_relaxed(pybind11::module_& m);
void bind_colors(pybind11::module_& m);
void bind_compositing(pybind11::module_& m);
void bind_multilevel(pybind11::module_& m);
void bind_build_info(pybind11::module_& m);
void bind_pipeline(pybind11::module_& m);

}  // namespace sss::bindings
