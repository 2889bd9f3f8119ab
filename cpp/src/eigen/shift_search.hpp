// Private: the eigensolver's shift, chosen just below the spectrum or applied
// as given, on any op with try_set_shift(sigma) (true iff L - sigma I was
// factorised and proved positive definite) and set_shift(sigma).
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>

#include "sss/eigensolver.hpp"

namespace sss::detail {

// Picks (automatic) or applies (explicit) the shift; factorises L - sigma I.
template <class Op>
void choose_shift(const SparseRef& L, Op& op, double shift, EigenResult& res) {
    const Eigen::Index n = L.rows();
    double sigma = shift;
    if (std::isnan(sigma)) {
        double mean_diag = 0.0;
        for (Eigen::Index i = 0; i < n; ++i) mean_diag += std::abs(L.coeff(i, i));
        mean_diag /= static_cast<double>(n);
        if (!(mean_diag > 0.0) || !std::isfinite(mean_diag)) mean_diag = 1.0;
        double tau = 1e-4 * mean_diag;
        bool found = false;
        for (int attempt = 0; attempt < 40; ++attempt, tau *= 4.0) {
            ++res.factorizations;
            if (op.try_set_shift(-tau)) {
                sigma = -tau;
                found = true;
                break;
            }
        }
        if (!found)
            throw std::runtime_error("smallest_eigenvectors: found no shift below the spectrum "
                                     "(L - sigma I was not positive definite down to sigma = " + std::to_string(-tau / 4) + ")");
    } else {
        ++res.factorizations;
        if (!std::isfinite(sigma))
            throw std::invalid_argument("smallest_eigenvectors: shift must be finite");
        op.set_shift(sigma);
    }
    res.shift = sigma;
}

}  // namespace sss::detail
