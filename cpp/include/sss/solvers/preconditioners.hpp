// Simple preconditioners (operator convention of sss/solvers/operator.hpp).
#pragma once

#include <Eigen/Dense>

#include <algorithm>
#include <utility>

namespace sss {

/// No preconditioning: z = r.
struct IdentityPreconditioner {
    Eigen::Index n = 0;
    Eigen::Index rows() const { return n; }
    Eigen::Index cols() const { return n; }
    void perform_op(const double* r, double* z) const { std::copy(r, r + n, z); }
};

/// Diagonal (Jacobi) preconditioner z = r ./ d.
struct JacobiPreconditioner {
    Eigen::VectorXd inv_diag;  ///< 1 / d
    Eigen::Index rows() const { return inv_diag.size(); }
    Eigen::Index cols() const { return inv_diag.size(); }
    void perform_op(const double* r, double* z) const {
        Eigen::Map<Eigen::VectorXd>(z, inv_diag.size()) =
            Eigen::Map<const Eigen::VectorXd>(r, inv_diag.size()).cwiseProduct(inv_diag);
    }
};

}  // namespace sss
