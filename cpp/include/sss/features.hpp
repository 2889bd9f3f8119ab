// Stage 1 (docs/algorithm.md): preprocessing of raw per-pixel semantic features.
#pragma once

#include <vector>

#include "sss/image.hpp"

namespace sss {

/// Parameters of the feature preprocessing (reference defaults). The guided
/// filter guides as the authors' preprocessFeatures does through MATLAB's
/// imguidedfilter: channels go in groups of three and channel c of a group is
/// filtered with image channel c as a grey-level guide; the D mod 3 remaining
/// channels get the colour guided filter (3x3 colour covariance).
struct FeaturePrepParams {
    double clip = 5.0;              ///< features are clipped to [-clip, clip]
    int neighborhood_size = 10;     ///< guided filter window side n (offsets -(n-1)/2 .. n/2)
    double smoothing = 0.01;        ///< guided filter epsilon (MATLAB DegreeOfSmoothing)
    int num_components = 3;         ///< output dimension
    int num_threads = 0;            ///< 0: all available (OpenMP); 1: serial
};

/// Mean box filter of one H x W plane (row-major) over the window offsets
/// [-lo, +hi] along both axes, with the edge samples repeated outside the image
/// (MATLAB 'replicate', as imguidedfilter pads). O(H W) whatever the window size. `out` may not alias `in`.
/// `work` is an optional H x W scratch buffer (allocated when null).
void box_mean(const double* in, double* out, int height, int width, int lo, int hi,
              double* work = nullptr);

/// Guided filter of He et al. with a 3-channel guide, applied to each of the
/// `channels` planes of `planes` (channel-planar, plane c at planes[c * H * W]),
/// in place. Window offsets [-(n-1)/2, n/2] (MATLAB's centre for even n),
/// replicate padding, epsilon added to the guide's window covariance. Every
/// channel is filtered by the same linear operator.
void guided_filter_planes(const ImageView& guide, double* planes, int channels,
                          int neighborhood_size, double eps, int num_threads = 0);

/// Guided filter as the reference's preprocessFeatures applies it (FeatureGuide::
/// Reference): planes 3k, 3k+1, 3k+2 are filtered with guide channels 0, 1, 2 as
/// grey-level guides (He et al.'s grey guided filter); the last `channels` mod 3
/// planes with the colour guided filter. Same window and padding as above.
void guided_filter_planes_reference(const ImageView& guide, double* planes, int channels,
                                    int neighborhood_size, double eps, int num_threads = 0);

/// Feature preprocessing (stage 1 of docs/algorithm.md; the reference's preprocessFeatures):
/// clip to [-clip, clip], guided-filter every channel with `image` as the guide,
/// PCA to `num_components`, and rescale each component to [0, 1] (min/max).
///
/// When D > prefilter_components > 0 the clipped features are projected on their
/// top principal directions first (the filter commutes with that projection).
/// Component signs are fixed so that each eigenvector's largest entry is positive.
///
/// Returns an H x W x num_components row-major, channel-interleaved array.
/// Throws std::invalid_argument for mismatched sizes, a non-RGB guide, bad
/// parameters or non-finite features.
std::vector<double> preprocess_features(const ImageView& features, const ImageView& image,
                                        const FeaturePrepParams& params = {});

}  // namespace sss
