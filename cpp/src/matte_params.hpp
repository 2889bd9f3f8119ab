// The checks of the parameters that stages 10b and 11 share (internal): the
// closed-form matte's eps and prior, and the colour-sampling pull.
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>

#include "sss/alpha_sampling.hpp"

namespace sss::detail {

/// Throws std::invalid_argument, the message starting with `stage`, for a bad
/// sampling_weight, sampling_* field, eps or prior of `p`
/// (LayerMattingParams, SubjectMattingParams).
template <class StageParams>
void check_matte_params(const StageParams& p, const std::string& stage) {
    if (!(p.sampling_weight >= 0.0 && std::isfinite(p.sampling_weight)))
        throw std::invalid_argument(stage + ": sampling_weight must be >= 0 and finite");
    check_alpha_sampling_params(alpha_sampling_params(p));
    if (!(p.eps > 0.0 && std::isfinite(p.eps)) || !(p.prior > 0.0 && std::isfinite(p.prior)))
        throw std::invalid_argument(stage + ": eps and prior must be positive and finite, got " +
                                    std::to_string(p.eps) + " and " + std::to_string(p.prior));
}

}  // namespace sss::detail
