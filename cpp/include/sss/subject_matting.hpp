// Stage 11 of the multilevel method (docs/algorithm.md): the boundary of the
// photo's salient subject matted at a finer level than the working level.
//
// The layers come from a 160 x 120 working level; where the subject's edge is
// hair, fur or twigs over a background of similar colour, whole strands end up
// in the wrong layer. Where the layers and a salient-object map agree, both
// are trusted; where they disagree or change, a closed-form matte of the photo
// (Levin et al.) decides. The matte is shared among the subject's layers, and
// its complement among the others, in the proportions the layers had.
#pragma once

#include <cstddef>
#include <vector>

#include "sss/alpha_sampling.hpp"
#include "sss/image.hpp"
#include "sss/sparse.hpp"

namespace sss {

struct SubjectMattingParams {
    bool enabled = true;             ///< multilevel default; the reference method: false
    long long max_pixels = 640 * 480;  ///< pixel budget of the matting level
    double min_confidence = 0.5;     ///< map_confidence below which nothing is done
    /// the map is refined on the photo's colours from a copy of this many pixels (0: not)
    long long map_guide_pixels = 2000;
    double layer_threshold = 0.5;    ///< a layer is the subject's when the mean map under it exceeds this
    /// nothing is done when the trimap's known subject is less than this fraction of
    /// the subject's layers' alpha (the matte would remove most of the subject)
    double min_known_subject = 0.1;
    double map_certain = 0.9;        ///< the map is trusted above this (subject) and below 1 - this
    /// known subject needs the subject's layers above this; known background
    /// (where the map is below 1 - map_certain) needs them below it
    double layers_certain = 0.95;
    int erosion = 3;                 ///< pixels (at the matting level) the known regions are shrunk by
    double eps = 1e-6;               ///< the matting affinity's regulariser (as MattingParams::eps)
    double prior = 1e-5;             ///< weight pulling unknown pixels to the layers' value (> 0)
    /// weight of the colour-sampled alpha (sampled_alpha), times its confidence, in
    /// the same pull (0: the layers' value alone)
    double sampling_weight = 3e-3;
    int sampling_neighbours = 4;     ///< AlphaSamplingParams::neighbours
    double sampling_sigma = 0.1;     ///< AlphaSamplingParams::sigma
    int sampling_band = 2;           ///< AlphaSamplingParams::band
    int fallback_radius = 8;         ///< box radius of the proportions where a group had no alpha
    int num_threads = 0;             ///< <= 0: all cores; the result does not depend on it
};

/// How far a map in [0, 1] picks a clear subject: with u = mean(4 m (1 - m)),
/// 1 for u <= certain, 0 for u >= uncertain, linear between (sss.cues.cue_confidence).
double map_confidence(const double* map, std::ptrdiff_t n, double certain = 0.1,
                      double uncertain = 0.2);

/// Layers (H x W x K, normalised) whose mean map value, sum_p a_k m / sum_p a_k,
/// exceeds `threshold` (sss.subject.layer_saliency).
std::vector<int> subject_layer_indices(const ImageView& layers, const ImageView& map,
                                       double threshold);

/// Trimap of the subject: 1 where map > map_certain and subject > layers_certain,
/// 0 where map < 1 - map_certain and subject < layers_certain, each region
/// shrunk by `erosion` 4-neighbour erosions (the border counts as inside); 0.5
/// (unknown) elsewhere. `subject` and `map` hold height x width values.
std::vector<double> subject_trimap(const double* subject, const double* map, int height,
                                   int width, const SubjectMattingParams& params);

/// Closed-form matte of `image` (H x W x 3) for a trimap (0, 0.5, 1): the
/// unknown pixels minimise a^T L a + sum_p (prior + w_p) (a_p - a0_p)^2 with the
/// known ones fixed, L the matting Laplacian (radius 1, params.eps), a0 =
/// `prior_alpha`, w = `prior_weight` (H x W, >= 0; null: 0). Solved directly
/// (sparse Cholesky of the unknowns' block); clipped to [0, 1].
std::vector<double> closed_form_matte(const ImageView& image, const std::vector<double>& trimap,
                                      const double* prior_alpha,
                                      const SubjectMattingParams& params,
                                      const double* prior_weight = nullptr);

/// The matting affinity closed_form_matte uses: matting_affinity of `image`
/// with radius 1 and regulariser `eps`.
SparseMatrix closed_form_affinity(const ImageView& image, double eps, int num_threads);

/// closed_form_matte with the image's matting affinity W given
/// (closed_form_affinity), so that several trimaps of one image share it, and
/// `prior` for params.prior. Checks nothing beyond the sizes, reports no
/// progress and never checks for cancellation: safe to call from several
/// threads at once (stage 10b's layers).
std::vector<double> closed_form_matte(const SparseMatrix& affinity,
                                      const std::vector<double>& trimap,
                                      const double* prior_alpha, double prior,
                                      const double* prior_weight = nullptr);

/// The pull of closed_form_matte (its prior_alpha and prior_weight, H x W
/// values each) for a trimap of `image`: towards `a0` with weight `prior` and
/// towards sampled_alpha with weight sampling_weight x its confidence,
/// blended into one target per pixel (stages 10b and 11).
struct MattePull {
    std::vector<double> alpha, weight;
};
MattePull sampled_pull(const ImageView& image, const std::vector<double>& trimap,
                       const double* a0, double prior, double sampling_weight,
                       const AlphaSamplingParams& sampling);

struct SubjectMattingResult {
    bool applied = false;
    double confidence = 0.0;         ///< map_confidence of the map at the matting level
    std::vector<int> subject;        ///< the subject's layers (empty: nothing done)
    double unknown_fraction = 0.0;   ///< of the matting level's pixels
    double known_subject = 0.0;      ///< known-subject pixels / the subject's alpha, at the matting level
    int matting_height = 0, matting_width = 0;
};

/// Stage 11 in place on `alphas` (H x W x K floats, normalised, row-major) of
/// `image` (H x W x 3, [0, 1]) with a salient-object map (any size, 1
/// channel, [0, 1]; resized bilinearly; its confidence decides whether the
/// stage runs, then its edges are moved onto the photo's: the map and the
/// photo at the matting level are resized to map_guide_pixels pixels and the
/// map carried back by guided_upsample, as the layers are). The matting level is `image` resized
/// to at most max_pixels pixels (bicubic, clipped to [0, 1], as the feature
/// network's copy), or `matting_image` when given; `matting_layers` are the
/// layers there (h x w x K, normalised), or null to resize `alphas`
/// bilinearly. Does nothing (applied = false) when disabled,
/// when the map's confidence is below min_confidence or when no layer is the
/// subject's. Otherwise the matte of the subject (closed_form_matte of
/// subject_trimap) is carried to full size by guided_upsample and each pixel's
/// subject layers are scaled to sum to it, the others to its complement (in
/// their own proportions, or, where a group had no alpha, in those of its
/// layers' box mean at the matting level). Deterministic, independent of the
/// thread count. Reports progress and checks for cancellation between steps.
SubjectMattingResult matte_subject(float* alphas, int num_layers, const ImageView& image,
                                   const ImageView& map, const SubjectMattingParams& params,
                                   const ImageView* matting_image = nullptr,
                                   const ImageView* matting_layers = nullptr);

}  // namespace sss
