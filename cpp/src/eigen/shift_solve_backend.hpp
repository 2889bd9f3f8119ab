// Private: the interface of a shift-solve backend behind sss::ShiftSolveOp,
// and the one registration point that picks the backend of this build
// (backends.cpp).
//
// A backend factorises L - sigma I and solves with the factor. To add one:
// a class deriving from ShiftSolveBackend in its own file
// (shift_solve_<name>.cpp, see shift_solve_ldlt.cpp for the smallest) and its
// factory in backends.cpp; CMakeLists.txt compiles the file when its library
// is found.
#pragma once

#include <Eigen/Dense>

#include <memory>

#include "sss/eigensolver.hpp"

namespace sss::detail {

class ShiftSolveBackend {
public:
    virtual ~ShiftSolveBackend() = default;
    /// Factorise L - sigma I; true iff it succeeded and (with require_definite)
    /// proved L - sigma I positive definite.
    virtual bool try_set_shift(double sigma, bool require_definite) = 0;
    /// Y = (L - sigma I)^-1 X for `cols` contiguous columns of n entries,
    /// Y with leading dimension n; threads: the solve's thread budget (the
    /// result must not depend on it).
    virtual void solve(const double* X, double* Y, Eigen::Index cols, int threads) const = 0;
    virtual const ShiftSolveOp::Stats& stats() const = 0;
};

/// The lower triangle of a symmetric L, column-major (what the factorisations read).
using LowerMatrix = Eigen::SparseMatrix<double, Eigen::ColMajor, int>;
LowerMatrix lower_triangle(const SparseRef& L);

// The backends (each in its own file).
std::unique_ptr<ShiftSolveBackend> make_cholmod_shift_solve(const SparseRef& L, int grid_height,
                                                            int grid_width);
std::unique_ptr<ShiftSolveBackend> make_ldlt_shift_solve(const SparseRef& L);

/// The backend of this build (backends.cpp: the registration point) and its name.
std::unique_ptr<ShiftSolveBackend> make_shift_solve_backend(const SparseRef& L, int grid_height,
                                                            int grid_width);
const char* shift_solve_backend_name();

}  // namespace sss::detail
