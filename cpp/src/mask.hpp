// Binary masks of an image (internal): shared by stage 11's trimap and its
// colour sampling.
#pragma once

#include <cstddef>
#include <vector>

namespace sss::detail {

/// `times` 4-neighbour erosions of an h x w mask in place; pixels outside the
/// image count as set (a region touching the border is not shrunk from it).
inline void erode_mask(std::vector<unsigned char>& m, int h, int w, int times = 1) {
    std::vector<unsigned char> out(m.size());
    for (int t = 0; t < times; ++t) {
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const std::size_t p = static_cast<std::size_t>(y) * w + x;
                out[p] = m[p] && (y == 0 || m[p - w]) && (y == h - 1 || m[p + w]) &&
                         (x == 0 || m[p - 1]) && (x == w - 1 || m[p + 1]);
            }
        m.swap(out);
    }
}

}  // namespace sss::detail
