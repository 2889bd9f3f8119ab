// Layer colours: Levin et al.'s closed-form foreground/background colour
// estimation generalised from 2 to K soft layers (paper Sec. 4.3-4.4).
#pragma once

#include <cstddef>
#include <vector>

#include "sss/image.hpp"

namespace sss {

/// Parameters of the layer colour estimation.
struct LayerColorParams {
    /// Regulariser added to every edge weight of the smoothness term, so that
    /// colours are defined (smoothly extrapolated) where a layer is absent.
    double eps = 1e-5;
    int max_iterations = 100;  ///< preconditioned CG iterations per cascade level
    double tolerance = 1e-5;   ///< stop when ||r|| / ||b|| is below this, every channel
    int num_threads = 0;       ///< 0: all available (OpenMP); 1: serial
};

/// Result of estimate_layer_colors.
struct LayerColors {
    /// H x W x K x 3 colours, row-major: pixel p, layer k, channel c at
    /// colors[(p * K + k) * 3 + c].
    std::vector<double> colors;
    int iterations = 0;             ///< CG iterations run at full size
    int coarse_iterations = 0;      ///< CG iterations run on the smaller levels
    double relative_residual = 0.0; ///< largest final ||r|| / ||b|| over the channels
};

/// Alphas made usable for colour estimation and export: each value clipped to
/// [0, 1], then each pixel renormalised to sum 1. A pixel whose clipped alphas
/// are all zero (every raw alpha <= 0) goes wholly to the layer with the
/// largest raw alpha (the first on ties). Returns H x W x K values, row-major.
/// Throws std::invalid_argument for an empty view or non-finite values.
std::vector<double> normalize_alphas(const ImageView& alphas);

/// Matrix-free operator of the colour estimation's normal equations
/// (operator convention of sss/solvers/operator.hpp).
///
/// Unknowns: the colours x[(p * K + k) * 3 + c] of K layers at N pixels, three
/// channels side by side (the matrix is the same for every channel, so the
/// vectors hold 3 interleaved right-hand sides). The energy is
///   sum_p ||sum_k a_pk x_pk - I_p||^2 + sum_k sum_{p~q} w_k(p,q) ||x_pk - x_qk||^2
/// over 4-neighbour pairs p~q, with w_k(p,q) = eps + |a_pk - a_qk| (Levin et
/// al.'s gradient-weighted smoothness plus a small regulariser). The operator
/// is its Hessian / 2: (A x)_pk = a_pk sum_l a_pl x_pl + sum_q w_k(p,q)(x_pk - x_qk).
class LayerColorOp {
public:
    /// `alphas`: H x W x K row-major, non-negative; must outlive the operator.
    LayerColorOp(const double* alphas, int height, int width, int layers, double eps,
                 int num_threads);

    std::ptrdiff_t rows() const { return n_ * k_ * 3; }
    std::ptrdiff_t cols() const { return rows(); }
    /// y = A x (both of length rows()).
    void perform_op(const double* x, double* y) const;
    /// Rows [begin, end) of y = A x, serial; begin and end must be multiples of
    /// 3 K (whole pixels).
    void perform_op_rows(const double* x, double* y, std::ptrdiff_t begin,
                         std::ptrdiff_t end) const;
    /// The diagonal of the smoothness term, sum_q w_k(p,q) (N K, pixel-major).
    const std::vector<double>& smoothness_diagonal() const { return diag_; }
    const double* alphas() const { return a_; }
    std::ptrdiff_t num_pixels() const { return n_; }
    int num_layers() const { return k_; }
    /// b = A-side right-hand side a_pk * I_pc for an H x W x 3 image.
    void rhs(const double* image, double* b) const;

private:
    void perform_op_pixels(const double* x, double* y, std::ptrdiff_t p_begin,
                           std::ptrdiff_t p_end) const;
    const double* a_;
    int h_, w_, k_;
    std::ptrdiff_t n_;
    int threads_;
    std::vector<double> wright_, wdown_, diag_;  // N*K each
};

/// Per-layer colour images for soft layers `alphas` (H x W x K) of `image`
/// (H x W x 3), such that sum_k alpha_k c_k = image at every pixel.
///
/// 1. The alphas are normalised with normalize_alphas (the caller keeps the raw ones).
/// 2. Cascadic solve: the problem is first solved on 2x, 4x, ... smaller
///    copies (box-averaged image and alphas, down to a side of 64-127 px),
///    the coarsest one starting from a push-pull fill of each layer's
///    alpha-weighted colours; each solution, enlarged bilinearly, starts the
///    next finer level.
/// 3. On each level the LayerColorOp energy is minimised by pcg (sss/solvers/pcg.hpp,
///    the three channels in lockstep) with the block-Jacobi preconditioner of the
///    per-pixel K x K blocks diag(d_p) + a_p a_p^T (up to max_iterations per level).
/// 4. project_layer_colors makes the composite exact and keeps colours in [0, 1].
///
/// Throws std::invalid_argument for mismatched sizes, non-finite values or bad params.
LayerColors estimate_layer_colors(const ImageView& image, const ImageView& alphas,
                                  const LayerColorParams& params = {});

/// Moves `colors` (H x W x K x 3, in place) as little as possible (least squares
/// per pixel and channel) so that sum_k alpha_k c_k equals the image exactly
/// and every colour lies in [min(0, t / S), max(1, t / S)] (t the image value,
/// S = sum_k alpha_k: the box is [0, 1] unless the image itself is outside).
/// Layers with alpha 0 are only clipped to the box. `alphas` must be
/// non-negative with a positive sum at every pixel (std::invalid_argument otherwise).
void project_layer_colors(const ImageView& image, const ImageView& alphas, double* colors,
                          int num_threads = 0);

/// The checks project_layer_colors makes of its inputs, with messages naming
/// `what`: `image` H x W x 3 and `alphas` H x W x K of one size, all of image,
/// alphas and the H x W x K x 3 `colors` finite, alphas non-negative with a
/// positive sum at every pixel. Throws std::invalid_argument otherwise.
void check_projection(const ImageView& image, const ImageView& alphas, const double* colors,
                      const char* what);
/// check_projection without the colours (for callers that make them).
void check_projection_inputs(const ImageView& image, const ImageView& alphas, const char* what);

/// project_layer_colors at one pixel: `colors` (K x 3, layer-major) is changed
/// in place so that sum_k a_k c_k equals `rgb` (3 values). `a`: K
/// non-negative weights with a positive sum (not checked here); `scratch`:
/// room for 2 K doubles.
void project_pixel_colors(const double* a, int K, const double* rgb, double* colors,
                          double* scratch);

}  // namespace sss
