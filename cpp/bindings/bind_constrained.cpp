// Python bindings of stages 8-9 (constrained sparsification).
#include <pybind11/eigen.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "convert.hpp"
#include "sss/constrained.hpp"

namespace sss::bindings {

namespace {

GramKernel parse_gram_kernel(const std::string& name) {
    for (GramKernel k : {GramKernel::Auto, GramKernel::Blas, GramKernel::Avx2, GramKernel::Eigen})
        if (name == gram_kernel_name(k)) return k;
    throw py::value_error("gram_kernel must be one of 'auto', 'blas', 'avx2', 'eigen'; got '" +
                          name + "'");
}

}  // namespace

void bind_constrained(py::module_& m) {
    m.def(
        "structured_block_solve",
        [](const Eigen::MatrixXd& B, const Eigen::MatrixXd& C, const Eigen::MatrixXd& b) {
            py::gil_scoped_release release;
            return structured_block_solve(B, C, b);
        },
        py::arg("B"), py::arg("C"), py::arg("b"),
        "Solve (blockdiag(B_k) + 11^T kron C) y = b; B is m x (K-1)m, b m x (K-1).");
    m.def(
        "weighted_gram",
        [](const Eigen::Ref<const RowMatrixXd>& E, const Eigen::Ref<const Eigen::VectorXd>& w,
           const std::string& kernel) {
            const GramKernel k = parse_gram_kernel(kernel);
            py::gil_scoped_release release;
            return weighted_gram(E, w, k);
        },
        py::arg("E"), py::arg("w"), py::arg("kernel") = "auto",
        "E^T diag(w) E (E row-major float64, w >= 0) with kernel 'auto', 'blas', 'avx2' or "
        "'eigen'.");
    m.def(
        "gram_kernels", [] {
            py::list out;
            for (GramKernel k : {GramKernel::Blas, GramKernel::Avx2, GramKernel::Eigen})
                if (gram_kernel_available(k)) out.append(gram_kernel_name(k));
            return out;
        },
        "Names of the weighted-Gram kernels available in this build on this CPU.");
    m.def(
        "constrained_sparsify",
        [](const py::array& E, const py::array& eigenvalues, const py::array& data,
           const py::array& indices, const py::array& indptr, const py::array& labels,
           int num_layers, int iterations, double gamma, double weight, double clamp,
           double prune_threshold, int prune_every, int num_threads,
           const std::string& gram_kernel, int sample_stride, py::ssize_t image_width) {
            require_array<double>(E, "eigenvectors", 2);
            require_array<double>(eigenvalues, "eigenvalues", 1);
            require_array<int>(labels, "labels", 1);
            const py::ssize_t n = E.shape(0), k = E.shape(1);
            if (labels.shape(0) != n)
                throw py::value_error("labels must have one entry per pixel");
            const auto L = csr_view(data, indices, indptr, n, n, "L");
            Eigen::Map<const RowMatrixXd> Em(static_cast<const double*>(E.data()), n, k);
            Eigen::Map<const Eigen::VectorXd> ev(static_cast<const double*>(eigenvalues.data()),
                                                 eigenvalues.shape(0));
            ConstrainedParams p;
            p.iterations = iterations;
            p.gamma = gamma;
            p.weight = weight;
            p.clamp = clamp;
            p.prune_threshold = prune_threshold;
            p.prune_every = prune_every;
            p.num_threads = num_threads;
            p.gram_kernel = parse_gram_kernel(gram_kernel);
            p.sample_stride = sample_stride;
            p.image_width = image_width;
            ConstrainedResult res;
            run_interruptible([&] {
                res = constrained_sparsify(Em, ev, L, static_cast<const int*>(labels.data()),
                                           num_layers, p);
            });
            py::dict info;
            info["gram_kernel"] = res.gram_kernel;
            info["seconds_gram"] = res.seconds_gram;
            info["seconds_solve"] = res.seconds_solve;
            info["seconds_weights"] = res.seconds_weights;
            info["sample_count"] = res.sample_count;
            return py::make_tuple(std::move(res.alphas), res.kept, res.layer_counts, info);
        },
        py::arg("E"), py::arg("eigenvalues"), py::arg("data"), py::arg("indices"),
        py::arg("indptr"), py::arg("labels"), py::arg("num_layers"), py::arg("iterations"),
        py::arg("gamma"), py::arg("weight"), py::arg("clamp"), py::arg("prune_threshold"),
        py::arg("prune_every"), py::arg("num_threads"), py::arg("gram_kernel") = "auto",
        py::arg("sample_stride") = 1, py::arg("image_width") = 0,
        "Constrained sparsification: (alphas N x K, kept, layer_counts, info).");
}

}  // namespace sss::bindings
