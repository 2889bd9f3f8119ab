// Shift-solve backend: Eigen's SimplicialLDLT with AMD ordering (the build
// without CHOLMOD). The number of negative pivots of LDL^T equals the number
// of eigenvalues below sigma (Sylvester's law of inertia), so all pivots
// positive proves sigma below the spectrum.
#include <Eigen/SparseCholesky>

#include "../stopwatch.hpp"
#include "shift_solve_backend.hpp"

namespace sss::detail {
namespace {

class LdltShiftSolve final : public ShiftSolveBackend {
public:
    explicit LdltShiftSolve(const SparseRef& L) : lower_(lower_triangle(L)) {
        Stopwatch sw;
        ldlt_.analyzePattern(lower_);
        stats_.ordering = "eigen-amd";
        stats_.analyze_seconds = sw.lap();
    }
    bool try_set_shift(double sigma, bool require_definite) override {
        Stopwatch sw;
        ldlt_.setShift(-sigma, 1.0);
        ldlt_.factorize(lower_);
        bool ok = ldlt_.info() == Eigen::Success && ldlt_.vectorD().allFinite() &&
                  (ldlt_.vectorD().array() != 0.0).all();
        if (ok && require_definite) ok = (ldlt_.vectorD().array() > 0.0).all();
        stats_.factor_seconds = sw.lap();
        return ok;
    }
    void solve(const double* X, double* Y, Eigen::Index cols, int) const override {
        const Eigen::Index n = lower_.rows();
        Eigen::Map<Eigen::MatrixXd>(Y, n, cols) =
            ldlt_.solve(Eigen::Map<const Eigen::MatrixXd>(X, n, cols));
    }
    const ShiftSolveOp::Stats& stats() const override { return stats_; }

private:
    LowerMatrix lower_;
    Eigen::SimplicialLDLT<LowerMatrix, Eigen::Lower, Eigen::AMDOrdering<int>> ldlt_;
    ShiftSolveOp::Stats stats_;
};

}  // namespace

std::unique_ptr<ShiftSolveBackend> make_ldlt_shift_solve(const SparseRef& L) {
    return std::make_unique<LdltShiftSolve>(L);
}

}  // namespace sss::detail
