// Private: Spectra's implicitly restarted Lanczos on a prefactorised
// shift-solve op (convention of sss/solvers/operator.hpp plus set_shift),
// one solve and a full reorthogonalisation per step.
#pragma once

#include <Eigen/Dense>

#include <random>
#include <stdexcept>
#include <string>

#ifdef SSS_HAVE_SPECTRA
#include <Spectra/SymEigsShiftSolver.h>
#endif

#include "../stopwatch.hpp"
#include "common.hpp"
#include "sss/eigensolver.hpp"

namespace sss::detail {

// Spectra's shift-solve solver calls set_shift() in its constructor; we have
// already chosen and factorised the shift, so forward everything but that.
template <class Op>
struct PrefactorisedOp {
    using Scalar = double;
    Op* op;
    double* seconds;  // accumulates the time spent in solves
    Eigen::Index rows() const { return op->rows(); }
    void set_shift(double) {}
    void perform_op(const double* x, double* y) const {
        Stopwatch sw;
        op->perform_op(x, y);
        *seconds += sw.lap();
    }
};

#ifndef SSS_HAVE_SPECTRA
[[noreturn]] inline void spectra_missing() {
    throw std::runtime_error(
        "smallest_eigenvectors: method='lanczos' needs the Spectra library, and this build of sss "
        "was compiled without it. Use method='block' (the default, same eigenpairs), or install "
        "Spectra 1.0+ (Debian/Ubuntu: apt-get install libspectra-dev; elsewhere: the header-only "
        "release from spectralib.org) and rebuild sss from source (pip install --no-binary "
        "semantic-soft-segmentation semantic-soft-segmentation). See sss.show_config().");
}
#endif

template <class Op>
void lanczos(Op& op, const EigenParams& params, Eigen::Index ncv, EigenResult& res) {
#ifndef SSS_HAVE_SPECTRA
    (void)op, (void)params, (void)ncv, (void)res;
    spectra_missing();
#else
    const Eigen::Index n = op.rows();
    const int k = params.num_vectors;
    Stopwatch sw;
    PrefactorisedOp<Op> pop{&op, &res.seconds_solve};
    Spectra::SymEigsShiftSolver<PrefactorisedOp<Op>> solver(pop, k, ncv, res.shift);
    // Fixed starting vector: deterministic results.
    std::mt19937_64 gen(kStartSeed);
    const Eigen::MatrixXd v0 = seeded_random(n, 1, gen);
    solver.init(v0.data());
    // In shift-invert mode the largest 1/(lambda - sigma) are the eigenvalues
    // nearest sigma; sort the result by the transformed value, then ascending.
    const Eigen::Index nconv =
        solver.compute(Spectra::SortRule::LargestMagn, params.max_restarts, params.tol,
                       Spectra::SortRule::SmallestAlge);
    res.seconds_orthogonalize = sw.lap() - res.seconds_solve;  // Spectra's own work
    res.restarts = static_cast<int>(solver.num_iterations());
    res.operations = static_cast<int>(solver.num_operations());
    if (solver.info() != Spectra::CompInfo::Successful || nconv < k)
        throw std::runtime_error("smallest_eigenvectors: Lanczos did not converge (" +
                                 std::to_string(nconv) + " of " + std::to_string(k) +
                                 " eigenpairs after " + std::to_string(res.restarts) +
                                 " restarts); try a larger ncv or max_restarts");
    finish_result(solver.eigenvalues(), solver.eigenvectors(), k, res);
#endif
}

}  // namespace sss::detail
