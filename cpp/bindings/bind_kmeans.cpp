// Python bindings of the k-means kernels (stages 8-9).
#include <pybind11/eigen.h>

#include "bindings.hpp"
#include "convert.hpp"
#include "sss/kmeans.hpp"

#include <string>
#include <vector>

namespace sss::bindings {

namespace {

Eigen::Map<const RowMatrixXd> points_view(const py::array& a, const char* name) {
    require_array<double>(a, name, 2);
    return Eigen::Map<const RowMatrixXd>(static_cast<const double*>(a.data()), a.shape(0),
                                         a.shape(1));
}

KmeansKernel parse_kernel(const std::string& name) {
    for (KmeansKernel k : {KmeansKernel::Auto, KmeansKernel::Scalar, KmeansKernel::Sse2,
                           KmeansKernel::Avx})
        if (name == kmeans_kernel_name(k)) return k;
    throw py::value_error("kernel must be one of 'auto', 'scalar', 'sse2', 'avx'; got '" + name +
                          "'");
}

py::array_t<int> labels_to_python(const std::vector<int>& labels) {
    py::array_t<int> out(static_cast<py::ssize_t>(labels.size()));
    std::copy(labels.begin(), labels.end(), out.mutable_data());
    return out;
}

}  // namespace

void bind_kmeans(py::module_& m) {
    m.def(
        "lloyd_kmeans",
        [](const py::array& X, const py::array& centers, int max_iter, int num_threads,
           const std::string& kernel) {
            const auto Xm = points_view(X, "X");
            const auto Cm = points_view(centers, "centers");
            LloydParams p;
            p.max_iter = max_iter;
            p.num_threads = num_threads;
            p.kernel = parse_kernel(kernel);
            LloydResult res;
            run_interruptible([&] {
                res = lloyd_kmeans(Xm, Cm, p);
            });
            return py::make_tuple(labels_to_python(res.labels), std::move(res.centers),
                                  std::move(res.sqdist), std::move(res.min_sqdist),
                                  res.iterations, res.converged);
        },
        py::arg("X"), py::arg("centers"), py::arg("max_iter") = LloydParams{}.max_iter, py::arg("num_threads") = 0,
        py::arg("kernel") = "auto",
        "Lloyd's k-means (MATLAB semantics) from the given centres on float64 C-contiguous "
        "(n, d) points: (labels int32, centers, sqdist to own centre, sqdist to nearest centre, "
        "iterations, converged).");
    m.def(
        "nearest_sqdist",
        [](const py::array& X, const py::array& centers, int num_threads,
           const std::string& kernel) {
            const auto Xm = points_view(X, "X");
            const auto Cm = points_view(centers, "centers");
            const KmeansKernel kern = parse_kernel(kernel);
            std::vector<int> labels;
            Eigen::VectorXd d;
            run_interruptible([&] {
                d = nearest_sqdist(Xm, Cm, &labels, num_threads, kern);
            });
            return py::make_tuple(labels_to_python(labels), std::move(d));
        },
        py::arg("X"), py::arg("centers"), py::arg("num_threads") = 0, py::arg("kernel") = "auto",
        "Index of and squared distance to the nearest centre of every point: (labels, sqdist).");
    m.def(
        "pairwise_sqdist",
        [](const py::array& X, const py::array& centers, int num_threads) {
            const auto Xm = points_view(X, "X");
            const auto Cm = points_view(centers, "centers");
            py::gil_scoped_release release;
            return pairwise_sqdist(Xm, Cm, num_threads);
        },
        py::arg("X"), py::arg("centers"), py::arg("num_threads") = 0,
        "(n, k) squared distances of every point to every centre.");
    m.def(
        "kmeans_kernels", [] {
            py::list out;
            for (KmeansKernel k : {KmeansKernel::Scalar, KmeansKernel::Sse2, KmeansKernel::Avx})
                if (kmeans_kernel_available(k)) out.append(kmeans_kernel_name(k));
            return out;
        },
        "Names of the nearest-centre kernels available in this build on this CPU.");
}

}  // namespace sss::bindings
