// Plugs test-only operators, a preconditioner and a shift-solve backend into
// the solver templates (sss/solvers/pcg.hpp, cpp/src/eigen/krylov_schur.hpp,
// lanczos.hpp, shift_search.hpp) and checks them against dense solves. Built
// and run by tests/test_solvers_cpp.py. Prints "ok" and exits 0 on success.
#include <Eigen/Dense>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "eigen/krylov_schur.hpp"
#include "eigen/shift_search.hpp"
#include "sss/solvers.hpp"

namespace {

int failures = 0;
void check(bool ok, const char* what, double value = 0.0) {
    if (!ok) {
        std::printf("FAIL %s (%g)\n", what, value);
        ++failures;
    }
}

// A new operator: a sparse SPD matrix applied from CSR, with the optional
// row-range member (pcg then fuses it into its block passes).
struct CsrOp {
    sss::SparseMatrix A;
    Eigen::Index rows() const { return A.rows(); }
    Eigen::Index cols() const { return A.cols(); }
    void perform_op(const double* x, double* y) const { perform_op_rows(x, y, 0, rows()); }
    void perform_op_rows(const double* x, double* y, Eigen::Index begin, Eigen::Index end) const {
        for (Eigen::Index i = begin; i < end; ++i) {
            double s = 0.0;
            for (sss::SparseMatrix::InnerIterator it(A, i); it; ++it) s += it.value() * x[it.col()];
            y[i] = s;
        }
    }
};

// A new preconditioner: symmetric Gauss-Seidel, M = (D + L) D^-1 (D + U).
struct SymmetricGaussSeidel {
    Eigen::MatrixXd A;
    Eigen::Index rows() const { return A.rows(); }
    Eigen::Index cols() const { return A.cols(); }
    void perform_op(const double* r, double* z) const {
        const Eigen::Map<const Eigen::VectorXd> rv(r, A.rows());
        const Eigen::VectorXd y = A.triangularView<Eigen::Lower>().solve(rv);
        const Eigen::VectorXd w = A.diagonal().cwiseProduct(y);
        Eigen::Map<Eigen::VectorXd>(z, A.rows()) = A.triangularView<Eigen::Upper>().solve(w);
    }
};

// A new shift-solve backend: dense Cholesky of L - sigma I.
struct DenseShiftSolve {
    using Scalar = double;
    Eigen::MatrixXd L;
    Eigen::LLT<Eigen::MatrixXd> llt;
    Eigen::Index rows() const { return L.rows(); }
    Eigen::Index cols() const { return L.cols(); }
    bool try_set_shift(double sigma, bool = true) {
        llt.compute(L - sigma * Eigen::MatrixXd::Identity(L.rows(), L.cols()));
        return llt.info() == Eigen::Success;
    }
    void set_shift(double sigma) { try_set_shift(sigma); }
    void perform_op(const double* x, double* y) const {
        Eigen::Map<Eigen::VectorXd>(y, L.rows()) = llt.solve(Eigen::Map<const Eigen::VectorXd>(x, L.rows()));
    }
};

// 2-D grid Laplacian (h x w, 4 neighbours) plus `shift` on the diagonal.
sss::SparseMatrix grid_laplacian(int h, int w, double shift) {
    std::vector<Eigen::Triplet<double>> t;
    auto id = [w](int y, int x) { return y * w + x; };
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            double deg = shift;
            if (x + 1 < w) { t.emplace_back(id(y, x), id(y, x + 1), -1.0); t.emplace_back(id(y, x + 1), id(y, x), -1.0); }
            if (y + 1 < h) { t.emplace_back(id(y, x), id(y + 1, x), -1.0); t.emplace_back(id(y + 1, x), id(y, x), -1.0); }
            deg += (x > 0) + (x + 1 < w) + (y > 0) + (y + 1 < h);
            t.emplace_back(id(y, x), id(y, x), deg);
        }
    sss::SparseMatrix A(h * w, h * w);
    A.setFromTriplets(t.begin(), t.end());
    A.makeCompressed();
    return A;
}

void test_pcg() {
    const sss::SparseMatrix A = grid_laplacian(13, 11, 0.05);
    const Eigen::MatrixXd Ad = Eigen::MatrixXd(A);
    const Eigen::Index n = A.rows();
    const Eigen::VectorXd b = Eigen::VectorXd::LinSpaced(n, -1.0, 2.0).array().sin();
    const Eigen::VectorXd exact = Ad.ldlt().solve(b);
    sss::CgParams cg;
    cg.tol = 1e-10;
    cg.max_iterations = 2000;
    cg.blocks = {0, 7, 50, n};  // blocks that cut nothing in particular
    const CsrOp op{A};
    // MATLAB stopping rule, a new operator with a new / the built-in preconditioners
    {
        Eigen::VectorXd x = Eigen::VectorXd::Zero(n);
        const sss::CgResult r = sss::pcg(op, SymmetricGaussSeidel{Ad}, b.data(), x.data(), cg);
        check(r.flag == 0, "pcg + symmetric Gauss-Seidel converges", r.flag);
        check((x - exact).norm() <= 1e-7 * exact.norm(), "pcg + symmetric Gauss-Seidel solves", (x - exact).norm());
        Eigen::VectorXd x2 = Eigen::VectorXd::Zero(n);
        const sss::CgResult r2 = sss::pcg(op, sss::IdentityPreconditioner{n}, b.data(), x2.data(), cg);
        check(r2.flag == 0 && (x2 - exact).norm() <= 1e-7 * exact.norm(), "pcg unpreconditioned", r2.flag);
        check(r.iterations < r2.iterations, "Gauss-Seidel needs fewer iterations", r.iterations);
        const sss::DenseMatrixOp dense{Ad};
        Eigen::VectorXd x3 = Eigen::VectorXd::Zero(n);
        sss::pcg(dense, sss::IdentityPreconditioner{n}, b.data(), x3.data(), cg);
        check((x3 - x2).norm() <= 1e-12 * x2.norm(), "dense and CSR ops agree", (x3 - x2).norm());
        // too few iterations: flag 1 and the best iterate
        sss::CgParams few = cg;
        few.max_iterations = 3;
        Eigen::VectorXd x4 = Eigen::VectorXd::Zero(n);
        const sss::CgResult r4 = sss::pcg(op, sss::IdentityPreconditioner{n}, b.data(), x4.data(), few);
        check(r4.flag == 1 && r4.relres > 1e-6, "max_iterations reached", r4.flag);
        check(std::abs((b - Ad * x4).norm() / b.norm() - r4.relres) < 1e-12, "relres is the true residual", r4.relres);
    }
    // lockstep: three right-hand sides interleaved, block-Jacobi of 1 x 1 blocks
    {
        const Eigen::Index m = 3 * n;
        Eigen::VectorXd b3(m), x3 = Eigen::VectorXd::Zero(m);
        for (Eigen::Index i = 0; i < n; ++i)
            for (int c = 0; c < 3; ++c) b3[3 * i + c] = (c + 1) * b[i] + c;
        struct Interleaved {  // A applied to each of 3 interleaved vectors
            const CsrOp* op;
            Eigen::Index rows() const { return 3 * op->rows(); }
            Eigen::Index cols() const { return rows(); }
            void perform_op(const double* x, double* y) const {
                const Eigen::Index n = op->rows();
                Eigen::MatrixXd X = Eigen::Map<const Eigen::MatrixXd>(x, 3, n).transpose(), Y(n, 3);
                for (int c = 0; c < 3; ++c) op->perform_op(X.col(c).data(), Y.col(c).data());
                Eigen::Map<Eigen::MatrixXd>(y, 3, n) = Y.transpose();
            }
        } op3{&op};
        sss::CgParams lock = cg;
        lock.num_rhs = 3;
        lock.stop = sss::CgStop::Lockstep;
        lock.blocks = {0, 21, 300, m};
        const sss::BlockJacobi M(Eigen::VectorXd(Ad.diagonal()), Eigen::VectorXd(), 0.0, 1, 3);
        const sss::CgResult r = sss::pcg(op3, M, b3.data(), x3.data(), lock);
        check(r.flag == 0, "lockstep converges", r.relres);
        for (int c = 0; c < 3; ++c) {
            Eigen::VectorXd bc(n), xc(n);
            for (Eigen::Index i = 0; i < n; ++i) bc[i] = b3[3 * i + c], xc[i] = x3[3 * i + c];
            const Eigen::VectorXd ec = Ad.ldlt().solve(bc);
            check((xc - ec).norm() <= 1e-7 * ec.norm(), "lockstep solves every right-hand side", (xc - ec).norm());
        }
    }
}

void test_block_jacobi() {
    // K = 3 blocks diag(d) + c u u^T, 2 interleaved right-hand sides, against dense inverses
    const int K = 3, R = 2, N = 5;
    Eigen::VectorXd d(N * K), u(N * K);
    for (int i = 0; i < N * K; ++i) d[i] = 1.0 + 0.3 * i, u[i] = std::cos(i);
    const double c = 0.7;
    Eigen::VectorXd r = Eigen::VectorXd::LinSpaced(N * K * R, -2.0, 3.0);
    for (const bool ones : {false, true}) {
        const Eigen::VectorXd uu = ones ? Eigen::VectorXd::Ones(N * K) : u;
        const sss::BlockJacobi M(d, ones ? Eigen::VectorXd() : u, c, K, R);
        Eigen::VectorXd z(N * K * R), zr = Eigen::VectorXd::Constant(N * K * R, -7.0);
        M.perform_op(r.data(), z.data());
        double err = 0.0;
        for (int p = 0; p < N; ++p) {
            Eigen::MatrixXd B = d.segment(p * K, K).asDiagonal();
            B += c * uu.segment(p * K, K) * uu.segment(p * K, K).transpose();
            for (int j = 0; j < R; ++j) {
                Eigen::VectorXd rp(K), zp(K);
                for (int k = 0; k < K; ++k) rp[k] = r[(p * K + k) * R + j], zp[k] = z[(p * K + k) * R + j];
                err = std::max(err, (B * zp - rp).norm());
            }
        }
        check(err < 1e-12, "block-Jacobi inverts its blocks", err);
        // row ranges that cut blocks give the same values
        const Eigen::Index cuts[] = {0, 4, 5, 17, 18, N * K * R};
        for (int i = 0; i + 1 < 6; ++i) M.perform_op_rows(r.data(), zr.data(), cuts[i], cuts[i + 1]);
        check(zr == z, "block-Jacobi rows agree with perform_op");
    }
}

void test_eigensolver_templates() {
    const int h = 9, w = 8;
    const sss::SparseMatrix L = grid_laplacian(h, w, 0.0);
    const Eigen::MatrixXd Ld = Eigen::MatrixXd(L);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(Ld);
    const int k = 6;
    DenseShiftSolve op{Ld, {}};
    sss::EigenParams params;
    params.num_vectors = k;
    params.num_threads = 1;
    sss::EigenResult res;
    sss::detail::choose_shift(L, op, params.shift, res);
    check(res.shift < es.eigenvalues()[0], "the shift search ends below the spectrum", res.shift);
    const Eigen::Index b = 4, ncv = std::max<Eigen::Index>(3 * k, k + 4 * b);
    sss::detail::block_krylov_schur(L, op, params, ncv, b, res);
    double err = 0.0;
    for (int i = 0; i < k; ++i) {
        err = std::max(err, std::abs(res.values[i] - es.eigenvalues()[i]));
        const Eigen::VectorXd v = res.vectors.col(i);
        err = std::max(err, (Ld * v - res.values[i] * v).norm());
    }
    check(err < 1e-8, "block Krylov-Schur on a dense shift-solve op", err);
}

}  // namespace

int main() {
    test_pcg();
    test_block_jacobi();
    test_eigensolver_templates();
    if (failures) return 1;
    std::printf("ok\n");
    return 0;
}
