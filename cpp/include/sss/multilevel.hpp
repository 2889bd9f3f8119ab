// Multilevel pipeline: carry soft layers from the working level to full
// resolution with the colour guided filter's local affine model.
#pragma once

#include <vector>

#include "sss/image.hpp"
#include "sss/resize.hpp"

namespace sss {

/// Parameters of guided_upsample (see there).
struct GuidedUpsampleParams {
    int radius = 1;         ///< window radius at the low resolution, pixels
    double eps = 1e-4;      ///< regulariser of the local colour model (colours in [0, 1])
    bool clip = true;       ///< clip to [0, 1] and renormalise to sum 1
    int num_threads = 0;    ///< <= 0: all cores
};

/// Mean over the (2r+1) x (2r+1) window of every pixel and channel, windows
/// clipped at the image border. Returns an H x W x C row-major image.
std::vector<double> box_mean(const ImageView& x, int radius);

/// Soft layers at the resolution of `guide`.
///
/// At the low resolution, every window w of radius `radius` fits each layer
/// as an affine function of the colour, p ~ a_w^T I + b_w (ridge regression
/// with `eps`: the colour guided filter); each pixel's (a, b) is the mean
/// over the windows that hold it. These coefficients are interpolated
/// bilinearly at the full-resolution pixel centres and applied to the
/// full-resolution colours (the fast guided filter). The map is linear in
/// the layers and sends 1 to 1, so layers summing to one still do.
///
/// `layers` is h x w x K, `guide_low` h x w x 3 and `guide` H x W x 3 (H >= 1,
/// W >= 1). Returns H x W x K floats, row-major. Each output pixel depends
/// only on its inputs, so the result does not depend on the thread count.
///
/// References: K. He, J. Sun, X. Tang, "Guided Image Filtering", TPAMI 2013;
/// K. He, J. Sun, "Fast Guided Filter", arXiv:1505.00996, 2015.
std::vector<float> guided_upsample(const ImageView& layers, const ImageView& guide_low,
                                   const ImageView& guide, const GuidedUpsampleParams& params);

/// Snap near-0 and near-1 alpha to exactly 0 and 1, in place, keeping the
/// layers a partition of one. `alphas` holds n pixels of k layers (row-major).
/// Each value becomes clip((a - t) / (1 - 2 t), 0, 1) with t = `cutoff`, then
/// every pixel is divided by its sum (pixels whose values all fall below t
/// stay 0; that needs t > 1 / k). Float arithmetic, pixel by pixel, so the
/// result does not depend on the thread count. Throws std::invalid_argument
/// for a cutoff outside [0, 0.25].
///
/// Why: the iterative solves and the upsampling leave a haze of alpha values
/// of a few thousandths over the whole photo in every layer, which adds up
/// when layers are combined (docs/cues.md).
void clean_alphas(float* alphas, std::ptrdiff_t n, int k, double cutoff);

/// Layer colours of a smaller copy carried to the size of `image`: each
/// layer's colours (`colors`: h x w x K x 3, row-major; here a view of h x w
/// x 3K values) resized bilinearly as resize_image does, then projected
/// (project_layer_colors) onto `alphas` (H x W x K, normalised) so that the
/// layers recompose `image` (H x W x 3) exactly. Returns H x W x K x 3 values.
/// The layers are resampled together one output row at a time (RowResizer)
/// and each row is projected while it is in cache: nothing photo-sized is
/// held besides the result.
std::vector<double> upsample_layer_colors(const ImageView& colors, const ImageView& image,
                                          const ImageView& alphas, int num_threads = 0);
/// upsample_layer_colors a band of rows at a time (upsample_layer_colors is
/// made of it), for callers that render each band (e.g. into files) and never
/// hold the full-size H x W x K x 3 colours. The small colours are resampled
/// horizontally once, on construction; rows() makes rows y0 .. y0 + n - 1 of
/// upsample_layer_colors' result from those rows of the photo and of the
/// normalised alphas (n x W x 3 and n x W x K views), bitwise the same values
/// whatever the bands, as double or as float (computed in double, rounded
/// once). rows() may be called from several threads at once. Throws std::invalid_argument
/// for inconsistent sizes or non-finite colours.
class LayerColorUpsampler {
public:
    LayerColorUpsampler(const ImageView& colors, int height, int width, int num_layers,
                        int num_threads = 0);
    void rows(int y0, const ImageView& image_rows, const ImageView& alpha_rows, double* out,
              int num_threads = 0) const;
    void rows(int y0, const ImageView& image_rows, const ImageView& alpha_rows, float* out,
              int num_threads = 0) const;
    int height() const { return height_; }
    int width() const { return width_; }
    int layers() const { return layers_; }

private:
    template <class Out>
    void rows_impl(int y0, const ImageView& image_rows, const ImageView& alpha_rows, Out* out,
                   int num_threads) const;
    int height_, width_, layers_;
    RowResizer up_;
};

}  // namespace sss
