// Non-owning views of images passed to the core.
#pragma once

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

namespace sss {

/// A read-only view of an H x W x C image of doubles, row-major and
/// channel-interleaved (pixel p = row * width + col, value at data[p * C + c]).
/// The memory is owned by the caller and must outlive every call that uses it.
struct ImageView {
    const double* data = nullptr;
    int height = 0;
    int width = 0;
    int channels = 0;

    std::ptrdiff_t num_pixels() const {
        return static_cast<std::ptrdiff_t>(height) * static_cast<std::ptrdiff_t>(width);
    }
    const double* pixel(std::ptrdiff_t p) const { return data + p * channels; }
};

/// Throws std::invalid_argument with a message naming `what` unless the view
/// has a non-null buffer, positive size and the expected channel count
/// (`expected_channels` <= 0 accepts any).
inline void check_image(const ImageView& image, const char* what, int expected_channels) {
    if (image.data == nullptr)
        throw std::invalid_argument(std::string(what) + ": null image buffer");
    if (image.height <= 0 || image.width <= 0)
        throw std::invalid_argument(std::string(what) + ": image is empty (" +
                                    std::to_string(image.height) + " x " +
                                    std::to_string(image.width) + ")");
    if (expected_channels > 0 && image.channels != expected_channels)
        throw std::invalid_argument(std::string(what) + ": expected " +
                                    std::to_string(expected_channels) + " channels, got " +
                                    std::to_string(image.channels));
}

/// Throws std::invalid_argument ("<what>: <name> contains NaN or infinite
/// values") unless the `n` values at `v` are all finite.
template <class T>
inline void check_finite(const T* v, std::ptrdiff_t n, const char* what, const char* name) {
    for (std::ptrdiff_t i = 0; i < n; ++i)
        if (!std::isfinite(v[i]))
            throw std::invalid_argument(std::string(what) + ": " + name +
                                        " contains NaN or infinite values");
}

}  // namespace sss
