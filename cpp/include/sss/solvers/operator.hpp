// The operator convention of every iterative solver in sss (Spectra's).
//
// An operator ("op") is any class with
//     Eigen::Index rows() const;
//     Eigen::Index cols() const;
//     void perform_op(const double* x, double* y) const;  // y = A x, both of length rows()
// A preconditioner is an op too: its perform_op(r, z) sets z = M^-1 r.
//
// Optional members that solvers use when present (detected at compile time):
//     void perform_op_rows(const double* x, double* y, Eigen::Index begin, Eigen::Index end) const;
//         rows [begin, end) of y = A x only, serial (pcg fuses it with its
//         vector updates, one parallel pass over fixed row blocks);
//     Eigen::Index local_rows() const;
//         (preconditioners with perform_op_rows) rows of z in a range of
//         whole multiples of local_rows() depend only on the rows of r in it
//         (block-diagonal preconditioners): pcg then applies it in the same
//         pass as the residual update;
//     void perform_op_block(const Eigen::MatrixXd& X, Eigen::MatrixXd& Y) const;
//         Y = A X for several columns at once (the block eigensolver; without
//         it apply_block calls perform_op once per column).
// A shift-solve op for the eigensolver adds set_shift(sigma) (Spectra's
// SymEigsShiftSolver calls it) and computes y = (L - sigma I)^-1 x.
//
// A new operator or preconditioner is a class in its own file; the solver
// templates (pcg.hpp, cpp/src/eigen/krylov_schur.hpp, lanczos.hpp) take it
// unchanged.
#pragma once

#include <Eigen/Dense>

#include <type_traits>
#include <utility>

namespace sss {

namespace detail {
template <class Op, class = void>
struct has_perform_op_rows : std::false_type {};
template <class Op>
struct has_perform_op_rows<
    Op, std::void_t<decltype(std::declval<const Op&>().perform_op_rows(
            std::declval<const double*>(), std::declval<double*>(), Eigen::Index{}, Eigen::Index{}))>>
    : std::true_type {};

template <class Op, class = void>
struct has_local_rows : std::false_type {};
template <class Op>
struct has_local_rows<Op, std::void_t<decltype(std::declval<const Op&>().local_rows())>>
    : std::true_type {};

template <class Op, class = void>
struct has_perform_op_block : std::false_type {};
template <class Op>
struct has_perform_op_block<
    Op, std::void_t<decltype(std::declval<const Op&>().perform_op_block(
            std::declval<const Eigen::MatrixXd&>(), std::declval<Eigen::MatrixXd&>()))>>
    : std::true_type {};
}  // namespace detail

/// Y = A X with the op's multi-column solve when it has one, else column by column.
template <class Op>
void apply_block(const Op& A, const Eigen::MatrixXd& X, Eigen::MatrixXd& Y) {
    if constexpr (detail::has_perform_op_block<Op>::value) {
        A.perform_op_block(X, Y);
    } else {
        Y.resize(A.rows(), X.cols());
        for (Eigen::Index j = 0; j < X.cols(); ++j) A.perform_op(X.col(j).data(), Y.col(j).data());
    }
}

/// A dense matrix as an op (small problems and tests).
struct DenseMatrixOp {
    Eigen::MatrixXd A;
    Eigen::Index rows() const { return A.rows(); }
    Eigen::Index cols() const { return A.cols(); }
    void perform_op(const double* x, double* y) const {
        Eigen::Map<Eigen::VectorXd>(y, A.rows()).noalias() =
            A * Eigen::Map<const Eigen::VectorXd>(x, A.cols());
    }
};

}  // namespace sss
