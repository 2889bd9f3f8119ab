// Python bindings of stage 10 (relaxed sparsification).
#include <pybind11/eigen.h>

#include "bindings.hpp"
#include "convert.hpp"
#include "sss/relaxed.hpp"
#include "sss/vector_pow.hpp"

namespace sss::bindings {

void bind_relaxed(py::module_& m) {
    m.def(
        "relaxed_preconditioners",
        [] {
            py::list names;
            for (const auto& entry : relaxed_preconditioners()) names.append(entry.first);
            return names;
        },
        "Names of the relaxed-sparsification preconditioners registered in the core.");
    m.def(
        "pow_array",
        [](const Eigen::VectorXd& x, const Eigen::VectorXd& e, bool simd) {
            if (x.size() != e.size()) throw py::value_error("pow_array: x and e differ in length");
            if (!(x.array() > 0.0).all() || !x.allFinite())
                throw py::value_error("pow_array: x must be finite and > 0");
            Eigen::VectorXd y(x.size());
            if (simd)
                pow_array(x.data(), e.data(), y.data(), x.size());
            else
                pow_array_scalar(x.data(), e.data(), y.data(), x.size());
            return y;
        },
        py::arg("x"), py::arg("e"), py::arg("simd") = true,
        "x ** e elementwise as the IRLS weights compute it (simd=False: the one-at-a-time "
        "path).");
    m.def(
        "relaxed_sparsify",
        [](const py::array& layers, const py::array& data, const py::array& indices,
           const py::array& indptr, const py::object& gradient, int iterations,
           int cg_iterations, int final_cg_iterations, double cg_tol, double sparsity,
           double fidelity, double constraint, double low, double high, double gamma_base,
           double gradient_cap, double clamp, const std::string& preconditioner,
           int num_threads) {
            const ImageView lv = image_view(layers, "layers", 0);
            const py::ssize_t n = static_cast<py::ssize_t>(lv.num_pixels());
            const auto L = csr_view(data, indices, indptr, n, n, "L");
            ImageView gv;
            if (!gradient.is_none()) gv = image_view(gradient.cast<py::array>(), "gradient", 1);
            RelaxedParams p;
            p.iterations = iterations;
            p.cg_iterations = cg_iterations;
            p.final_cg_iterations = final_cg_iterations;
            p.cg_tol = cg_tol;
            p.sparsity = sparsity;
            p.fidelity = fidelity;
            p.constraint = constraint;
            p.low = low;
            p.high = high;
            p.gamma_base = gamma_base;
            p.gradient_cap = gradient_cap;
            p.clamp = clamp;
            p.num_threads = num_threads;
            relaxed_preconditioner(preconditioner);  // std::invalid_argument -> ValueError
            p.preconditioner = preconditioner;
            RelaxedResult res;
            run_interruptible([&] {
                res = relaxed_sparsify(lv, L, gv, p);
            });
            py::array_t<double> out({static_cast<py::ssize_t>(lv.height),
                                     static_cast<py::ssize_t>(lv.width),
                                     static_cast<py::ssize_t>(lv.channels)});
            std::copy(res.alphas.data(), res.alphas.data() + res.alphas.size(),
                      out.mutable_data());
            py::array_t<double> log({static_cast<py::ssize_t>(res.cg_log.size()),
                                     static_cast<py::ssize_t>(4)});
            auto lg = log.mutable_unchecked<2>();
            for (size_t i = 0; i < res.cg_log.size(); ++i) {
                lg(i, 0) = res.cg_log[i].flag;
                lg(i, 1) = res.cg_log[i].relres;
                lg(i, 2) = res.cg_log[i].iterations;
                lg(i, 3) = res.cg_log[i].iterations_run;
            }
            return py::make_tuple(out, log);
        },
        py::arg("layers"), py::arg("data"), py::arg("indices"), py::arg("indptr"),
        py::arg("gradient"), py::arg("iterations"), py::arg("cg_iterations"),
        py::arg("final_cg_iterations"), py::arg("cg_tol"), py::arg("sparsity"),
        py::arg("fidelity"), py::arg("constraint"), py::arg("low"), py::arg("high"),
        py::arg("gamma_base"), py::arg("gradient_cap"), py::arg("clamp"),
        py::arg("preconditioner"), py::arg("num_threads"),
        "Relaxed sparsification of (H, W, K) float64 layers: (alphas, cg_log).");
}

}  // namespace sss::bindings
