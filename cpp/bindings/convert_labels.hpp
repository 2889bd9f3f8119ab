// Conversions of superpixel label maps and small index arrays, shared by
// bind_superpixels.cpp and bind_affinity.cpp.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstring>
#include <vector>

#include "convert.hpp"
#include "sss/superpixels.hpp"

namespace sss::bindings {

/// View of an (H, W) int32 C-contiguous label array.
inline LabelView label_view(const py::array& a, const char* name) {
    require_array<int>(a, name, 2);
    if (a.shape(0) > INT32_MAX || a.shape(1) > INT32_MAX)
        throw py::value_error(std::string(name) + ": label map too large");
    LabelView v;
    v.data = static_cast<const int*>(a.data());
    v.height = static_cast<int>(a.shape(0));
    v.width = static_cast<int>(a.shape(1));
    return v;
}

/// Copy `v` into a new numpy array of shape `shape` (product must equal v.size()).
template <typename T>
py::array_t<T> to_numpy(const std::vector<T>& v, std::vector<py::ssize_t> shape) {
    py::array_t<T> out(shape);
    if (!v.empty()) std::memcpy(out.mutable_data(), v.data(), v.size() * sizeof(T));
    return out;
}

}  // namespace sss::bindings
