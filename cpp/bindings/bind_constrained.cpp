// Python bindings of stages 8-9 (constrained sparsification).
#include <pybind11/eigen.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "convert.hpp"
#include "sss/constrained.hpp"

namespace sss::bindings {

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
        "constrained_sparsify",
        [](const py::array& E, const py::array& eigenvalues, const py::array& data,
           const py::array& indices, const py::array& indptr, const py::array& labels,
           int num_layers, int iterations, double gamma, double weight, double clamp,
           double prune_threshold, int prune_every, int num_threads) {
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
            ConstrainedResult res;
            {
                py::gil_scoped_release release;
                res = constrained_sparsify(Em, ev, L, static_cast<const int*>(labels.data()),
                                           num_layers, p);
            }
            return py::make_tuple(std::move(res.alphas), res.kept, res.layer_counts);
        },
        py::arg("E"), py::arg("eigenvalues"), py::arg("data"), py::arg("indices"),
        py::arg("indptr"), py::arg("labels"), py::arg("num_layers"), py::arg("iterations"),
        py::arg("gamma"), py::arg("weight"), py::arg("clamp"), py::arg("prune_threshold"),
        py::arg("prune_every"), py::arg("num_threads"),
        "Constrained sparsification: (alphas N x K, kept, layer_counts).");
}

}  // namespace sss::bindings
