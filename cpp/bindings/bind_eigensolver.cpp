// Python bindings of stage 7 (smallest eigenvectors).
#include <pybind11/eigen.h>

#include "bindings.hpp"
#include "convert.hpp"
#include "sss/eigensolver.hpp"

#include <string>

namespace sss::bindings {

void bind_eigensolver(py::module_& m) {
    m.def(
        "smallest_eigenvectors",
        [](const py::array& data, const py::array& indices, const py::array& indptr,
           py::ssize_t n, int k, int ncv, double tol, int max_restarts, double shift,
           const std::string& method, int block_size) {
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
            EigenResult res;
            {
                py::gil_scoped_release release;
                res = smallest_eigenvectors(L, params);
            }
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
        py::arg("method") = "block", py::arg("block_size") = 0,
        "k smallest eigenpairs of a symmetric CSR matrix (shift-invert block "
        "Krylov-Schur or Lanczos): (values, vectors, info).");
    m.def("eigen_default_block_size", &default_block_size, py::arg("k"),
          "The block eigensolver's default block size for k eigenpairs.");
}

}  // namespace sss::bindings
