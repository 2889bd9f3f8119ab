// sss._core.build_info(): how this extension was built (compiler, Eigen,
// Spectra, CHOLMOD, BLAS, OpenMP) and which SIMD kernels it picks on this CPU
// at run time. sss.show_config() prints it.
#include "bindings.hpp"

#include "sss/constrained.hpp"
#include "sss/eigensolver.hpp"
#include "sss/kmeans.hpp"
#include "sss_build_info.hpp"

#include <pybind11/stl.h>

#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace py = pybind11;

namespace sss::bindings {

namespace {

// The first available kernel in the order the library's "auto" tries them
// (constrained.hpp: Avx2, Blas, Eigen; kmeans.hpp: Avx, Sse2, Scalar).
std::string auto_gram_kernel() {
    for (GramKernel k : {GramKernel::Avx2, GramKernel::Blas, GramKernel::Eigen})
        if (gram_kernel_available(k)) return gram_kernel_name(k);
    return "eigen";
}

std::string auto_kmeans_kernel() {
    for (KmeansKernel k : {KmeansKernel::Avx, KmeansKernel::Sse2, KmeansKernel::Scalar})
        if (kmeans_kernel_available(k)) return kmeans_kernel_name(k);
    return "scalar";
}

py::object or_none(const char* s) {
    if (!s || !*s) return py::none();
    return py::str(s);
}

}  // namespace

void bind_build_info(py::module_& m) {
    m.def("build_info", [] {
        py::dict d;
        d["version"] = build::version;
        d["compiler"] = std::string(build::compiler_id) + " " + build::compiler_version;
        d["build_type"] = build::build_type;
        d["cxx_flags"] = build::cxx_flags;
        d["processor"] = build::system_processor;
        d["eigen"] = std::string(build::eigen_version) + " (" + build::eigen_source + ")";
        d["spectra"] = SSS_BUILD_HAS_SPECTRA ? or_none(build::spectra_version) : py::none();
        d["cholmod"] = SSS_BUILD_HAS_CHOLMOD ? or_none(build::cholmod_library) : py::none();
        d["blas"] = SSS_BUILD_HAS_BLAS ? or_none(build::blas_libraries) : py::none();
        d["openmp"] = SSS_BUILD_HAS_OPENMP ? or_none(build::openmp) : py::none();
        d["has_spectra"] = static_cast<bool>(SSS_BUILD_HAS_SPECTRA);
        d["has_cholmod"] = static_cast<bool>(SSS_BUILD_HAS_CHOLMOD);
        d["has_blas"] = static_cast<bool>(SSS_BUILD_HAS_BLAS);
        d["has_openmp"] = static_cast<bool>(SSS_BUILD_HAS_OPENMP);
        d["sparse_factorization"] = ShiftSolveOp::backend();
#ifdef _OPENMP
        d["max_threads"] = omp_get_max_threads();
#else
        d["max_threads"] = 1;
#endif
        py::dict simd;
        simd["gram_kernel"] = auto_gram_kernel();
        simd["kmeans_kernel"] = auto_kmeans_kernel();
        py::list gram, km;
        for (GramKernel k : {GramKernel::Avx2, GramKernel::Blas, GramKernel::Eigen})
            if (gram_kernel_available(k)) gram.append(gram_kernel_name(k));
        for (KmeansKernel k : {KmeansKernel::Avx, KmeansKernel::Sse2, KmeansKernel::Scalar})
            if (kmeans_kernel_available(k)) km.append(kmeans_kernel_name(k));
        simd["gram_kernels_available"] = gram;
        simd["kmeans_kernels_available"] = km;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
        simd["vector_pow"] = __builtin_cpu_supports("avx2") ? "avx2" : "scalar";
        py::list cpu;
        if (__builtin_cpu_supports("sse2")) cpu.append("sse2");
        if (__builtin_cpu_supports("avx")) cpu.append("avx");
        if (__builtin_cpu_supports("avx2")) cpu.append("avx2");
        if (__builtin_cpu_supports("fma")) cpu.append("fma");
        if (__builtin_cpu_supports("avx512f")) cpu.append("avx512f");
        simd["cpu_features"] = cpu;
#else
        simd["vector_pow"] = "scalar";
        simd["cpu_features"] = py::list();
#endif
        d["simd"] = simd;
        return d;
    }, "How this build of sss._core was made (compiler, Eigen, Spectra, CHOLMOD, BLAS, OpenMP;\n"
       "None for what it was built without) and the SIMD kernels it chooses on this CPU.\n"
       "sss.show_config() prints it.");
}

}  // namespace sss::bindings
