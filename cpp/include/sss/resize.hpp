// Resizing images for the multilevel working level.
#pragma once

#include <vector>

#include "sss/image.hpp"

namespace sss {

enum class ResizeFilter { Bilinear, Bicubic };

/// The H x W x C image resized to out_height x out_width, channel by channel,
/// as sss.io.resize does with Pillow: values rounded to float32, then
/// Pillow's two-pass separable resampling of 32-bit float images
/// (horizontal pass first; filters widened by the scale when downsizing,
/// i.e. antialiased; bicubic a = -0.5), every pass stored in float32.
/// Values are not clipped. Returns out_height x out_width x C, row-major.
/// The rows of each pass are split over `num_threads` threads (<= 0: all);
/// every value is computed as with one thread.
std::vector<double> resize_image(const ImageView& image, int out_height, int out_width,
                                 ResizeFilter filter, int num_threads = 0);

/// resize_image with every value clipped to [0, 1]: a photo or map in [0, 1]
/// resized without the filters' overshoot.
std::vector<double> resize_image_clipped(const ImageView& image, int out_height, int out_width,
                                         ResizeFilter filter, int num_threads = 0);

/// resize_image one output row at a time (resize_image is made of it), for
/// callers that use each row at once instead of holding the whole result: the
/// horizontal pass is made on construction (all channels, interleaved, over the
/// rows the vertical pass reads), row() makes the vertical pass of one row:
/// out_width x C values, row yy of resize_image's result. row() may be called
/// from several threads at once. Throws as resize_image.
class RowResizer {
public:
    RowResizer(const ImageView& image, int out_height, int out_width, ResizeFilter filter,
               int num_threads = 0);
    void row(int yy, double* out) const;

private:
    int channels_, src_width_;
    std::vector<float> src_;         // rows x src_width_ x channels_ (after the horizontal pass)
    std::vector<int> vbounds_;       // ymin (relative to src_), count per output row
    std::vector<double> vk_;         // vksize_ weights per output row
    int vksize_;
    bool vert_;
};

/// (h, w) with h * w <= max_pixels and the aspect ratio of (height, width);
/// images within the budget keep their size (sss.multilevel.working_shape).
void working_shape(int height, int width, long long max_pixels, int& out_height, int& out_width);

}  // namespace sss
