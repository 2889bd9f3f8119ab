// Stage 10 (docs/algorithm.md): relaxed sparsification by IRLS + matrix-free PCG.
#include "sss/relaxed.hpp"
#include "sss/progress.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "sss/parallel.hpp"
#include "sss/vector_pow.hpp"

namespace sss {

RelaxedSystemOp::RelaxedSystemOp(const SparseRef& L, int num_layers, double delta,
                                 int num_threads)
    : L_(L), K_(num_layers), delta_(delta), threads_(num_threads) {
    if (L.rows() != L.cols())
        throw std::invalid_argument("relaxed_sparsify: L must be square");
    if (K_ < 1) throw std::invalid_argument("relaxed_sparsify: need at least one layer");
    const Eigen::Index n = L.rows();
    ldiag_.setZero(n);
    const int* outer = L.outerIndexPtr();
    const int* inner = L.innerIndexPtr();
    const double* val = L.valuePtr();
    for (Eigen::Index p = 0; p < n; ++p)
        for (int j = outer[p]; j < outer[p + 1]; ++j)
            if (inner[j] == p) ldiag_[p] += val[j];
    d_.setZero(n * K_);
}

namespace {

// y = (blockdiag(L) + delta C^T C + diag(d)) x for pixel-major x (K values per
// pixel). KC > 0: K fixed at compile time (the accumulators stay in
// registers); KC == 0: any K. Same operations in the same order either way.
template <int KC>
void apply_system(const SparseRef& L, int K_run, double delta, const double* xs, const double* ds,
                  double* ys, int threads) {
    const int K = KC > 0 ? KC : K_run;
    const Eigen::Index n = L.rows();
    const int* outer = L.outerIndexPtr();
    const int* inner = L.innerIndexPtr();
    const double* val = L.valuePtr();
#pragma omp parallel for schedule(static, 512) num_threads(threads)
    for (Eigen::Index p = 0; p < n; ++p) {
        double acc[KC > 0 ? KC : 16];
        double* a = KC > 0 || K <= 16 ? acc : ys + p * K;  // K > 16: accumulate in place
        for (int k = 0; k < K; ++k) a[k] = 0.0;
        for (int j = outer[p]; j < outer[p + 1]; ++j) {
            const double w = val[j];
            const double* xj = xs + static_cast<Eigen::Index>(inner[j]) * K;
            for (int k = 0; k < K; ++k) a[k] += w * xj[k];
        }
        const double* xp = xs + p * K;
        double s = 0.0;
        for (int k = 0; k < K; ++k) s += xp[k];
        s *= delta;
        for (int k = 0; k < K; ++k) ys[p * K + k] = a[k] + s + ds[p * K + k] * xp[k];
    }
}

}  // namespace

void RelaxedSystemOp::perform_op(const double* xs, double* ys) const {
    const int nt = resolve_threads(threads_);
    const double* ds = d_.data();
    switch (K_) {
        case 1: return apply_system<1>(L_, K_, delta_, xs, ds, ys, nt);
        case 2: return apply_system<2>(L_, K_, delta_, xs, ds, ys, nt);
        case 3: return apply_system<3>(L_, K_, delta_, xs, ds, ys, nt);
        case 4: return apply_system<4>(L_, K_, delta_, xs, ds, ys, nt);
        case 5: return apply_system<5>(L_, K_, delta_, xs, ds, ys, nt);
        case 6: return apply_system<6>(L_, K_, delta_, xs, ds, ys, nt);
        case 7: return apply_system<7>(L_, K_, delta_, xs, ds, ys, nt);
        case 8: return apply_system<8>(L_, K_, delta_, xs, ds, ys, nt);
        default: return apply_system<0>(L_, K_, delta_, xs, ds, ys, nt);
    }
}

BlockJacobi relaxed_block_jacobi(const RelaxedSystemOp& op, int num_threads) {
    const Eigen::Index n = op.laplacian_diagonal().size();
    const int K = op.num_layers();
    const Eigen::VectorXd& d = op.diagonal();
    const Eigen::VectorXd& ld = op.laplacian_diagonal();
    Eigen::VectorXd diag(n * K);
    for (Eigen::Index p = 0; p < n; ++p)
        for (int k = 0; k < K; ++k) {
            diag[p * K + k] = ld[p] + d[p * K + k];
            if (!(diag[p * K + k] > 0.0))
                throw std::runtime_error("relaxed_sparsify: block-Jacobi preconditioner needs a "
                                         "positive diagonal");
        }
    return BlockJacobi(diag, Eigen::VectorXd(), op.delta(), K, 1, num_threads);
}

namespace {

CgResult solve_plain(const RelaxedSystemOp& op, const Eigen::VectorXd& b, Eigen::VectorXd& x,
                     const CgParams& cg) {
    return pcg(op, IdentityPreconditioner{op.rows()}, b.data(), x.data(), cg);
}

CgResult solve_jacobi(const RelaxedSystemOp& op, const Eigen::VectorXd& b, Eigen::VectorXd& x,
                      const CgParams& cg) {
    JacobiPreconditioner M;
    const Eigen::Index n = op.laplacian_diagonal().size();
    const int K = op.num_layers();
    M.inv_diag.resize(n * K);
    for (Eigen::Index p = 0; p < n; ++p)
        for (int k = 0; k < K; ++k)
            M.inv_diag[p * K + k] =
                1.0 / (op.laplacian_diagonal()[p] + op.delta() + op.diagonal()[p * K + k]);
    return pcg(op, M, b.data(), x.data(), cg);
}

CgResult solve_block_jacobi(const RelaxedSystemOp& op, const Eigen::VectorXd& b,
                            Eigen::VectorXd& x, const CgParams& cg) {
    return pcg(op, relaxed_block_jacobi(op, cg.num_threads), b.data(), x.data(), cg);
}

}  // namespace

const std::vector<std::pair<std::string, RelaxedSolve>>& relaxed_preconditioners() {
    static const std::vector<std::pair<std::string, RelaxedSolve>> registry{
        {"block_jacobi", solve_block_jacobi},  // exact inverse of each pixel's K x K block
        {"jacobi", solve_jacobi},              // inverse diagonal
        {"none", solve_plain},                 // plain CG, the reference's solver
    };
    return registry;
}

RelaxedSolve relaxed_preconditioner(const std::string& name) {
    std::string known;
    for (const auto& [key, solve] : relaxed_preconditioners()) {
        if (key == name) return solve;
        known += (known.empty() ? "'" : ", '") + key + "'";
    }
    throw std::invalid_argument("preconditioner must be one of " + known + ", got '" + name + "'");
}

RelaxedResult relaxed_sparsify(const ImageView& layers, const SparseRef& L,
                               const ImageView& gradient, const RelaxedParams& params) {
    check_image(layers, "relaxed_sparsify: layers", 0);
    const RelaxedSolve solve = relaxed_preconditioner(params.preconditioner);
    const Eigen::Index n = layers.num_pixels();
    const int K = layers.channels;
    if (L.rows() != n || L.cols() != n)
        throw std::invalid_argument("relaxed_sparsify: L is " + std::to_string(L.rows()) + " x " +
                                    std::to_string(L.cols()) + " but the layers have " +
                                    std::to_string(n) + " pixels");
    if (gradient.data != nullptr) {
        check_image(gradient, "relaxed_sparsify: gradient", 1);
        if (gradient.height != layers.height || gradient.width != layers.width)
            throw std::invalid_argument("relaxed_sparsify: gradient and layers differ in size");
    }
    if (params.iterations < 0 || params.cg_iterations < 1 || params.final_cg_iterations < 0)
        throw std::invalid_argument("relaxed_sparsify: iteration counts must be >= 0 (CG >= 1)");
    if (!(params.cg_tol > 0.0) || !(params.constraint >= 0.0) || !(params.fidelity > 0.0) ||
        !(params.sparsity >= 0.0) || !(params.clamp > 0.0))
        throw std::invalid_argument("relaxed_sparsify: tolerance, weights and clamp must be "
                                    "positive (sparsity, constraint >= 0)");
    const int nt = params.num_threads;

    // Threshold and renormalise the input: a_hat.
    Eigen::VectorXd a_hat(n * K);
    for (Eigen::Index p = 0; p < n; ++p) {
        double s = 0.0;
        for (int k = 0; k < K; ++k) {
            double a = layers.data[p * K + k];
            if (a < params.low) a = 0.0;
            if (a > params.high) a = 1.0;
            a_hat[p * K + k] = a;
            s += a;
        }
        for (int k = 0; k < K; ++k)
            a_hat[p * K + k] = s != 0.0 ? a_hat[p * K + k] / s : 1.0 / K;
    }
    // Per-pixel sparsity exponent minus 2.
    Eigen::VectorXd expo(n);
    for (Eigen::Index p = 0; p < n; ++p) {
        const double g = gradient.data ? std::min(gradient.data[p], params.gradient_cap) : 0.0;
        expo[p] = params.gamma_base + g - 2.0;
    }

    RelaxedSystemOp op(L, K, params.constraint, nt);
    CgParams cg;
    cg.tol = params.cg_tol;
    cg.num_threads = nt;
    RelaxedResult res;
    Eigen::VectorXd x = a_hat, b(n * K), d(n * K);
    for (int it = 0; it < params.iterations; ++it) {
        check_cancel();
        report_progress(static_cast<double>(it) / (params.iterations + 1));
        // u = max(|x|, clamp)^expo, v = max(|1 - x|, clamp)^expo by blocks
        // (pow_array: vectorised).
#pragma omp parallel num_threads(resolve_threads(nt))
        {
            constexpr Eigen::Index kBlock = 1024;
            double base[kBlock], ex[kBlock], u[kBlock], v[kBlock];
            const Eigen::Index nk = n * K, nblocks = (nk + kBlock - 1) / kBlock;
#pragma omp for schedule(static)
            for (Eigen::Index blk = 0; blk < nblocks; ++blk) {
                const Eigen::Index i0 = blk * kBlock, len = std::min(kBlock, nk - i0);
                for (Eigen::Index j = 0; j < len; ++j) {
                    ex[j] = expo[(i0 + j) / K];
                    base[j] = std::max(std::abs(x[i0 + j]), params.clamp);
                }
                pow_array(base, ex, u, len);
                for (Eigen::Index j = 0; j < len; ++j)
                    base[j] = std::max(std::abs(1.0 - x[i0 + j]), params.clamp);
                pow_array(base, ex, v, len);
                for (Eigen::Index j = 0; j < len; ++j) {
                    const Eigen::Index i = i0 + j;
                    d[i] = params.sparsity * (u[j] + v[j]) + params.fidelity;
                    b[i] = params.sparsity * v[j] + params.fidelity * a_hat[i] + params.constraint;
                }
            }
        }
        op.set_diagonal(d);
        cg.max_iterations = params.cg_iterations;
        res.cg_log.push_back(solve(op, b, x, cg));
    }
    report_progress(static_cast<double>(params.iterations) / (params.iterations + 1));
    if (params.final_cg_iterations > 0) {
        d.setConstant(params.fidelity);
        b = params.fidelity * x;
        b.array() += params.constraint;
        op.set_diagonal(d);
        cg.max_iterations = params.final_cg_iterations;
        res.cg_log.push_back(solve(op, b, x, cg));
    }
    res.alphas = std::move(x);
    return res;
}

}  // namespace sss
