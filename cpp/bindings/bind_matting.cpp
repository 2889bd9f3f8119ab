// Python bindings of stage 3 (matting affinity and Laplacian).
#include "bindings.hpp"
#include "convert.hpp"
#include "sss/matting.hpp"

namespace sss::bindings {

void bind_matting(py::module_& m) {
    m.def(
        "matting_affinity",
        [](const py::array& image, int radius, double eps, int num_threads) {
            const ImageView view = image_view(image, "image", 3);
            MattingParams params;
            params.radius = radius;
            params.eps = eps;
            params.num_threads = num_threads;
            return csr_result([&] { return matting_affinity(view, params); });
        },
        py::arg("image"), py::arg("radius") = MattingParams{}.radius, py::arg("eps") = MattingParams{}.eps, py::arg("num_threads") = 0,
        "Matting affinity of an (H, W, 3) float64 C-contiguous image as CSR parts "
        "(data, indices, indptr, shape).");
    m.def(
        "laplacian_from_affinity",
        [](const py::array& data, const py::array& indices, const py::array& indptr,
           py::ssize_t rows, py::ssize_t cols) {
            const auto W = csr_view(data, indices, indptr, rows, cols, "W");
            return csr_result([&] { return laplacian_from_affinity(W); });
        },
        py::arg("data"), py::arg("indices"), py::arg("indptr"), py::arg("rows"), py::arg("cols"),
        "L = D - W for a canonical CSR affinity given as its arrays.");
}

}  // namespace sss::bindings
