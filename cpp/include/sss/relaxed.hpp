// Stage 10 (docs/algorithm.md): relaxed sparsification (paper Eq. 7-17), IRLS with
// preconditioned conjugate gradients on the K*N system, matrix-free.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <Eigen/Dense>

#include <vector>

#include "sss/image.hpp"
#include "sss/solvers.hpp"
#include "sss/sparse.hpp"

namespace sss {

/// The operator of the relaxed sparsification system, never assembled:
///   A = blockdiag(L, ..., L) + delta C^T C + diag(d)
/// on K layers of N pixels, C = [I I ... I] (C^T C couples the K layers of a
/// pixel). Vectors are pixel-major: x[p * K + k] is layer k at pixel p.
class RelaxedSystemOp {
public:
    RelaxedSystemOp(const SparseRef& L, int num_layers, double delta, int num_threads = 0);
    Eigen::Index rows() const { return L_.rows() * K_; }
    int num_layers() const { return K_; }
    /// Set the diagonal term d (length N*K, pixel-major).
    void set_diagonal(const Eigen::VectorXd& d) { d_ = d; }
    const Eigen::VectorXd& diagonal() const { return d_; }
    /// The diagonal of L (length N).
    const Eigen::VectorXd& laplacian_diagonal() const { return ldiag_; }
    double delta() const { return delta_; }
    Eigen::Index cols() const { return rows(); }
    /// y = A x (operator convention of sss/solvers/operator.hpp).
    void perform_op(const double* x, double* y) const;

private:
    SparseRef L_;
    int K_;
    double delta_;
    int threads_;
    Eigen::VectorXd d_, ldiag_;
};

/// Block-Jacobi preconditioner of RelaxedSystemOp: the exact inverse of each
/// pixel's K x K diagonal block diag(L_pp + d_pk) + delta 1 1^T (sss/solvers/block_jacobi.hpp).
BlockJacobi relaxed_block_jacobi(const RelaxedSystemOp& op, int num_threads = 0);

/// One preconditioned CG solve of the relaxed system, from x as the start.
using RelaxedSolve = CgResult (*)(const RelaxedSystemOp& op, const Eigen::VectorXd& b,
                                  Eigen::VectorXd& x, const CgParams& cg);

/// The preconditioners of RelaxedParams::preconditioner by name ("block_jacobi",
/// "jacobi", "none"): the one registration point (relaxed.cpp). A new
/// preconditioner is an op class in its own header (sss/solvers/) plus one
/// entry here; the bindings and Python read the names from this list.
const std::vector<std::pair<std::string, RelaxedSolve>>& relaxed_preconditioners();

/// The solve registered as `name`; throws std::invalid_argument naming the
/// registered ones otherwise.
RelaxedSolve relaxed_preconditioner(const std::string& name);

struct RelaxedParams {
    int iterations = 20;            ///< reweighted (IRLS) solves
    int cg_iterations = 100;        ///< CG cap per reweighted solve
    int final_cg_iterations = 1000; ///< CG cap of the final solve without sparsity
    double cg_tol = 1e-6;           ///< relative residual tolerance of every solve
    double sparsity = 1.0;          ///< sigma_S, weight of the sparsity term
    double fidelity = 1.0;          ///< sigma_F, weight of the fidelity to the input
    double constraint = 100.0;      ///< delta, weight of the sum-to-one constraint
    double low = 0.1;               ///< input alphas below are set to 0
    double high = 0.9;              ///< input alphas above are set to 1
    double gamma_base = 0.9;        ///< gamma_p = gamma_base + min(grad_p, gradient_cap)
    double gradient_cap = 0.1;
    double clamp = 1e-2;            ///< |alpha| and |1 - alpha| are clamped below by this
    std::string preconditioner = "block_jacobi";  ///< a name of relaxed_preconditioners()
    int num_threads = 0;
};

struct RelaxedResult {
    Eigen::VectorXd alphas;         ///< N*K, pixel-major
    std::vector<CgResult> cg_log;   ///< one entry per CG solve (iterations + 1)
};

/// Relaxed sparsification of K soft layers (stage 10 of docs/algorithm.md; the reference's
/// sparsifySegments): threshold at low/high and renormalise (a pixel whose
/// layers all vanish gets 1/K each), then `iterations` IRLS solves of
///   (blockdiag(L) + delta C^T C + sigma_S (diag(u) + diag(v)) + sigma_F I) a
///       = sigma_S v + sigma_F a_hat + delta
/// with u = max(|a|, clamp)^(gamma_p - 2), v = max(|1 - a|, clamp)^(gamma_p - 2),
/// each by (preconditioned) CG warm-started from the previous solution, and a
/// final solve of (blockdiag(L) + delta C^T C + sigma_F I) a = sigma_F a_prev + delta.
/// `layers` is an H x W x K view; `gradient` an H x W x 1 view of the image
/// gradient magnitude, or a view with null data for the constant gamma_base.
RelaxedResult relaxed_sparsify(const ImageView& layers, const SparseRef& L,
                               const ImageView& gradient, const RelaxedParams& params = {});

}  // namespace sss
