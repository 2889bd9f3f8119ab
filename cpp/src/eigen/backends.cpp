// The registration point of the shift-solve backends: CHOLMOD's supernodal
// Cholesky when the build has it (SSS_HAVE_CHOLMOD), else Eigen's
// SimplicialLDLT.
#include "shift_solve_backend.hpp"

namespace sss::detail {

LowerMatrix lower_triangle(const SparseRef& L) {
    // Row-major upper triangle transposed = column-major lower triangle of
    // L^T, which is L's lower triangle by symmetry.
    const SparseMatrix upper = L.triangularView<Eigen::Upper>();
    LowerMatrix lower(upper.transpose());
    lower.makeCompressed();
    return lower;
}

std::unique_ptr<ShiftSolveBackend> make_shift_solve_backend(const SparseRef& L, int grid_height,
                                                            int grid_width) {
#ifdef SSS_HAVE_CHOLMOD
    return make_cholmod_shift_solve(L, grid_height, grid_width);
#else
    (void)grid_height, (void)grid_width;  // the LDL^T backend always uses AMD
    return make_ldlt_shift_solve(L);
#endif
}

const char* shift_solve_backend_name() {
#ifdef SSS_HAVE_CHOLMOD
    return "cholmod";
#else
    return "eigen-ldlt";
#endif
}

}  // namespace sss::detail
