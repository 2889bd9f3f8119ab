// Python bindings of stage 7 (smallest eigenvectors).
#include <pybind11/eigen.h>

#include "bindings.hpp"
#include "convert.hpp"
#include "sss/eigensolver.hpp"
#include "sss/ordering.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace sss::bindings {

void bind_eigensolver(py::module_& m) {
    m.def(
        "smallest_eigenvectors",
        [](const py::array& data, const py::array& indices, const py::array& indptr,
           py::ssize_t n, int k, int ncv, double tol, int max_restarts, double shift,
           const std::string& method, int block_size, int grid_height, int grid_width,
           int num_threads) {
            const auto L = csr_view(data, indices, indptr, n, n, "L");
            EigenParams params;
            params.num_vectors = k;
            params.ncv = ncv;
            params.tol = tol;
            params.max_restarts = max_restarts;
            params.shift = shift;
            if (method == "lanczos")
                params.method = EigenMethod::Lanczos;
            else if (method == "block")
                params.method = EigenMethod::Block;
            else
                throw py::value_error("method must be 'lanczos' or 'block', got '" + method + "'");
            params.block_size = block_size;
            params.grid_height = grid_height;
            params.grid_width = grid_width;
            params.num_threads = num_threads;
            EigenResult res;
            run_interruptible([&] {
                res = smallest_eigenvectors(L, params);
            });
            py::dict info;
            info["shift"] = res.shift;
            info["factorizations"] = res.factorizations;
            info["restarts"] = res.restarts;
            info["operations"] = res.operations;
            info["method"] = method;
            if (params.method == EigenMethod::Block) info["residual"] = res.residual;
            info["backend"] = ShiftSolveOp::backend();
            info["seconds_analyze"] = res.seconds_analyze;
            info["seconds_factorize"] = res.seconds_factorize;
            info["seconds_solve"] = res.seconds_solve;
            info["seconds_orthogonalize"] = res.seconds_orthogonalize;
            if (params.method == EigenMethod::Block) info["seconds_ritz"] = res.seconds_ritz;
            return py::make_tuple(std::move(res.values), std::move(res.vectors), info);
        },
        py::arg("data"), py::arg("indices"), py::arg("indptr"), py::arg("n"), py::arg("k"),
        py::arg("ncv"), py::arg("tol"), py::arg("max_restarts"), py::arg("shift"),
        py::arg("method") = "block", py::arg("block_size") = 0, py::arg("grid_height") = 0,
        py::arg("grid_width") = 0, py::arg("num_threads") = 0,
        "k smallest eigenpairs of a symmetric CSR matrix (shift-invert block "
        "Krylov-Schur or Lanczos): (values, vectors, info).");
    m.def("eigen_default_block_size", &default_block_size, py::arg("k"),
          "The block eigensolver's default block size for k eigenpairs.");

    m.def(
        "grid_nested_dissection",
        [](const py::array& data, const py::array& indices, const py::array& indptr,
           py::ssize_t n, int height, int width, int leaf_size) {
            const auto A = csr_view(data, indices, indptr, n, n, "A");
            std::vector<int> perm;
            run_interruptible([&] {
                perm = grid_nested_dissection(A, height, width, leaf_size);
            });
            py::array_t<int> out(static_cast<py::ssize_t>(perm.size()));
            std::copy(perm.begin(), perm.end(), out.mutable_data());
            return out;
        },
        py::arg("data"), py::arg("indices"), py::arg("indptr"), py::arg("n"), py::arg("height"),
        py::arg("width"), py::arg("leaf_size") = 16,
        "Geometric nested-dissection permutation of a pixel-grid matrix (int32).");

    // The shift-solve op on its own, for benchmarks and tests of the
    // factorisation (ordering, multi-threaded block solves).
    py::class_<ShiftSolveOp>(m, "ShiftSolveOp")
        .def(py::init([](const py::array& data, const py::array& indices, const py::array& indptr,
                         py::ssize_t n, int grid_height, int grid_width) {
                 const auto L = csr_view(data, indices, indptr, n, n, "L");
                 py::gil_scoped_release release;
                 return new ShiftSolveOp(L, grid_height, grid_width);
             }),
             py::arg("data"), py::arg("indices"), py::arg("indptr"), py::arg("n"),
             py::arg("grid_height") = 0, py::arg("grid_width") = 0)
        .def("try_set_shift", &ShiftSolveOp::try_set_shift, py::arg("sigma"),
             py::arg("require_definite") = true, py::call_guard<py::gil_scoped_release>())
        .def("set_solve_threads", &ShiftSolveOp::set_solve_threads, py::arg("threads"))
        .def(
            "solve",
            [](const ShiftSolveOp& op, const Eigen::MatrixXd& X) {
                if (X.rows() != op.rows())
                    throw py::value_error("solve: X must have " + std::to_string(op.rows()) +
                                          " rows, got " + std::to_string(X.rows()));
                Eigen::MatrixXd Y;
                run_interruptible([&] {
                    if (X.cols() == 1) {
                        Y.resize(X.rows(), 1);
                        op.perform_op(X.data(), Y.data());
                    } else {
                        op.perform_op_block(X, Y);
                    }
                });
                return Y;
            },
            py::arg("X"), "(L - sigma I)^-1 X; one column: perform_op, else perform_op_block.")
        .def_property_readonly("stats", [](const ShiftSolveOp& op) {
            const auto& s = op.stats();
            py::dict d;
            d["analyze_seconds"] = s.analyze_seconds;
            d["factor_seconds"] = s.factor_seconds;
            d["lnz"] = s.lnz;
            d["flops"] = s.flops;
            d["ordering"] = s.ordering;
            d["split_tree_top"] = s.split_tree_top;
            d["backend"] = ShiftSolveOp::backend();
            return d;
        });
}

}  // namespace sss::bindings
