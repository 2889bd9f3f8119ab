// Colour sampling of alpha in a trimap's unknown region (stage 11's data term).
#pragma once

#include <vector>

#include "sss/image.hpp"

namespace sss {

struct AlphaSamplingParams {
    int neighbours = 4;   ///< foreground and background samples tried per pixel (k x k pairs)
    double sigma = 0.1;   ///< colour-line residual (relative to |F - B|) at which confidence is 1/e
    int band = 2;         ///< known pixels within this many 4-neighbour steps of another region are samples
    int num_threads = 0;  ///< <= 0: all cores; the result does not depend on it
};

/// Throws std::invalid_argument naming the field for parameters out of range.
void check_alpha_sampling_params(const AlphaSamplingParams& params);

/// The sampling fields of a stage's parameters (sampling_neighbours,
/// sampling_sigma, sampling_band, num_threads: SubjectMattingParams,
/// LayerMattingParams).
template <class StageParams>
AlphaSamplingParams alpha_sampling_params(const StageParams& p) {
    AlphaSamplingParams sp;
    sp.neighbours = p.sampling_neighbours;
    sp.sigma = p.sampling_sigma;
    sp.band = p.sampling_band;
    sp.num_threads = p.num_threads;
    return sp;
}

struct SampledAlpha {
    std::vector<double> alpha;       ///< H x W: the trimap where known, the estimate where unknown
    std::vector<double> confidence;  ///< H x W in [0, 1]: 1 where known, 0 where no pair explains the colour
};

/// Alpha of each unknown pixel of a trimap (0 background, 1 foreground, anything
/// else unknown) estimated from known colours: the samples are the distinct
/// colours of the known pixels near the edge of their region (within `band`
/// steps of a pixel outside it);
/// for an unknown pixel of colour I, its `neighbours` nearest foreground and
/// background samples in RGB are paired, each pair (F, B) gives
/// a = clamp((I - B).(F - B) / |F - B|^2, 0, 1) and the residual
/// r = |I - (a F + (1 - a) B)| / |F - B|, and the pair of smallest r is taken,
/// with confidence exp(-(r / sigma)^2). Without foreground or background samples
/// every unknown pixel gets alpha 0.5 and confidence 0. Exact nearest neighbours
/// (a k-d tree; among samples of equal distance a fixed traversal order chooses),
/// so the result is deterministic and independent of the thread count.
SampledAlpha sampled_alpha(const ImageView& image, const std::vector<double>& trimap,
                           const AlphaSamplingParams& params);

}  // namespace sss
