// The whole pipeline, from a photo and its 3-D semantic features to the soft
// layers (docs/algorithm.md stages 2-10, and the multilevel method of
// docs/multilevel.md). Every parameter with its reference default is
// declared once, in the per-stage structs gathered by Params.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sss/affinity.hpp"
#include "sss/constrained.hpp"
#include "sss/eigensolver.hpp"
#include "sss/grouping.hpp"
#include "sss/image.hpp"
#include "sss/kmeans.hpp"
#include "sss/layer_matting.hpp"
#include "sss/matting.hpp"
#include "sss/multilevel.hpp"
#include "sss/relaxed.hpp"
#include "sss/subject_matting.hpp"
#include "sss/superpixels.hpp"

namespace sss {

enum class Method {
    Multilevel,  ///< stages 2-10 at a working level of fixed pixel budget, guided upsampling
    Reference,   ///< every stage on every pixel, as the authors' implementation
};

/// Stage 8's initialisation: the splitting k-means on the features.
struct InitialParams {
    int num_layers = 40;           ///< initial layers (clusters)
    SplittingParams kmeans;        ///< start clusters 5, replicates 7, rerun below 13
};

/// Multilevel method only.
struct MultilevelParams {
    long long working_pixels = 19200;       ///< pixel budget of the working level (160 x 120)
    long long feature_pixels = 640 * 480;   ///< budget of the copy the feature network sees
    GuidedUpsampleParams upsample;          ///< radius 1, eps 1e-4
    double alpha_cutoff = 0.01;             ///< final clean_alphas cutoff (0: none; reference: 0)
};

/// Every parameter of segment(). Params::reference() and
/// Params::multilevel() give each method's defaults; a default-constructed
/// Params is Params::multilevel().
struct Params {
    Method method = Method::Multilevel;
    int num_layers = 5;            ///< output layers (stage 9's groups)
    std::uint64_t seed = 0;        ///< seed of the two k-means (numpy.random.default_rng(seed))
    int num_threads = 0;           ///< 0: all cores; results do not depend on it
    AffinityParams affinity;
    EigenParams eigen;             ///< k = num_vectors, tol
    InitialParams initial;
    ConstrainedParams constrained; ///< sample_stride 0: auto_sample_stride of the working size
    RelaxedParams relaxed;
    /// stage 9; multilevel: 10 k-means runs (far less dependence on the seed) and layers
    /// below 0.5% of the alpha left out of them (no near-empty layer becomes a group)
    GroupingParams grouping{10, 0.005};
    MultilevelParams levels;       ///< the multilevel method's working level and upsampling
    /// stage 10b (multilevel, when the layers are upsampled; reference: disabled)
    LayerMattingParams layer_matting;
    /// stage 11 (multilevel, when a salient-object map is given; reference: disabled)
    SubjectMattingParams subject;

    Params();                      ///< the multilevel method's defaults
    static Params reference();     ///< 100 eigenvectors (tol 1e-10), 40 iterations, auto stride,
                                   ///< one grouping k-means run
    static Params multilevel();    ///< 50 eigenvectors (tol 1e-6), 20 iterations, stride 2
};

/// Fewest sampled pixels of ConstrainedParams::sample_stride = 0 ("auto").
constexpr long long kAutoMinSamples = 65536;
/// The largest stride s whose s x s sampling keeps >= min_samples pixels
/// (1 below 512 x 512 pixels, 2 at 640 x 480).
int auto_sample_stride(int height, int width, long long min_samples = kAutoMinSamples);

/// Pipeline stages as reported to StageHook, in order.
enum class StageEvent { Begin, End };
/// Called at the start and end of each stage ("affinities", "eigenvectors",
/// "constrained sparsification", "grouping", "relaxed sparsification",
/// "upsampling", "layer matting", "subject matting"); `fractions` tells whether the stage reports its progress
/// through report_progress(). It may throw (e.g. Cancelled) to stop the run.
using StageHook = std::function<void(const char* stage, StageEvent event, bool fractions)>;

/// Optional inputs, and replacements of stages at the working level.
struct Overrides {
    /// A salient-object map of the photo (any size, 1 channel, values in [0, 1];
    /// e.g. the saliency cue's) for stage 11, subject matting; none: data null.
    ImageView saliency;
    const int* superpixels = nullptr;   ///< h x w labels 0..K-1 instead of SLIC
    const SparseRef* laplacian = nullptr;  ///< a ready (h w) x (h w) Laplacian instead of stages 2-6
    /// (L, k) -> eigenpairs, instead of smallest_eigenvectors
    std::function<EigenResult(const SparseRef&, int)> eigensolver;
    StageHook on_stage;
};

/// The result of segment().
struct SoftSegments {
    int height = 0, width = 0;                  ///< size of the photo (and of `alphas`)
    int working_height = 0, working_width = 0;  ///< size at which stages 2-10 ran
    int num_layers = 0;                         ///< K
    std::vector<float> alphas;      ///< H x W x K final layers, row-major
    RowMatrixXd initial_alphas;     ///< (h w) x M: layers surviving constrained sparsification
    RowMatrixXd grouped_alphas;     ///< (h w) x K: their grouping, the input of stage 10
    std::vector<int> group_ids;     ///< group of each initial layer
    Eigen::VectorXd eigenvalues;    ///< of the Laplacian used, ascending
    std::vector<int> superpixels;   ///< h x w labels (empty when a ready Laplacian was given)
    CgResult last_cg;               ///< the last CG solve of relaxed sparsification
    std::vector<int> matted_subject;  ///< stage 11: the subject's layers (empty: not applied)
};

/// Semantic soft segmentation of `image` (H x W x 3, values in [0, 1]) with
/// its 3-D semantic `features` (docs/algorithm.md stage 1), into at most
/// params.num_layers soft layers summing to one per pixel (fewer when fewer
/// initial layers survive or form distinct groups: size buffers from
/// SoftSegments::num_layers, not from params).
///
/// Throws std::invalid_argument, naming the problem, for: images of the wrong
/// shape, NaN or infinite values in the image or features, image values
/// outside [0, 1] by more than 0.1 (e.g. 0-255), num_layers outside
/// [1, initial.num_layers], levels.alpha_cutoff outside [0, 0.25] or NaN, an
/// unknown method, and the stages' own parameter errors.
///
/// Reference method: stages 2-10 on every pixel; the layers are those of
/// relaxed sparsification (not clipped). Multilevel method: the photo
/// (bicubic) and the features (bilinear), unless they already are at the
/// working size, are resized to at most levels.working_pixels pixels
/// (sss.io.resize's arithmetic); stages 2-10 run there and the layers are
/// carried to the photo's size by guided_upsample (or, when the photo is
/// the working level, clipped to [0, 1] and renormalised). `features` may be
/// given at the photo's size or at the working size. When the layers are
/// upsampled and params.layer_matting.enabled, the multilevel method then
/// runs matte_layers (stage 10b) on the layers carried to the matting level
/// (the photo resized to at most layer_matting.max_pixels, bicubic) and
/// carries its result to the photo's size by guided_upsample. With a
/// salient-object map (overrides.saliency) and params.subject.enabled, it
/// ends with matte_subject (stage 11), its layers at the matting level those
/// of stage 10b when the two levels agree (when they differ, the final layers
/// resized there; without stage 10b, carried there from the working level by
/// guided_upsample).
///
/// Deterministic for a seed, independent of the thread count, and equal to
/// the stage-by-stage Python functions for the same seed.
SoftSegments segment(const ImageView& image, const ImageView& features, const Params& params = {},
                     const Overrides& overrides = {});

/// segment() with the working level given: `working_image` (h x w x 3) and
/// `working_features` (h x w x 3) are the photo and its features at the
/// working size (the photo itself for the reference method).
SoftSegments segment_working(const ImageView& image, const ImageView& working_image,
                             const ImageView& working_features, const Params& params = {},
                             const Overrides& overrides = {});

}  // namespace sss
