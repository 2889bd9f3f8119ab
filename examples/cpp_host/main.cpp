// Computes the matting affinity of a small image with the installed sss core
// and prints its size, number of nonzeros and a checksum.
//
//   sss_cpp_host               uses a built-in 40 x 30 synthetic image
//   sss_cpp_host image.ppm     reads a binary (P6) 8-bit PPM
#include <sss/sss.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::vector<double> read_ppm(const std::string& path, int& h, int& w) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot open " + path);
    std::string magic;
    int maxval = 0;
    f >> magic >> w >> h >> maxval;
    if (magic != "P6" || w <= 0 || h <= 0 || maxval != 255)
        throw std::runtime_error(path + ": not a binary 8-bit PPM (P6, maxval 255)");
    f.get();  // the single whitespace after the header
    std::vector<unsigned char> bytes(static_cast<size_t>(w) * h * 3);
    f.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!f) throw std::runtime_error(path + ": truncated pixel data");
    std::vector<double> img(bytes.size());
    for (size_t i = 0; i < bytes.size(); ++i) img[i] = bytes[i] / 255.0;
    return img;
}

std::vector<double> synthetic(int h, int w) {
    std::vector<double> img(static_cast<size_t>(h) * w * 3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            double* p = &img[(static_cast<size_t>(y) * w + x) * 3];
            const bool disk = (x - 20) * (x - 20) + (y - 15) * (y - 15) < 64;
            p[0] = disk ? 0.9 : x / double(w - 1);
            p[1] = disk ? 0.2 : y / double(h - 1);
            p[2] = 0.25 + 0.5 * ((x * 7 + y * 3) % 11) / 10.0;
        }
    return img;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        int h = 30, w = 40;
        std::vector<double> pixels = argc > 1 ? read_ppm(argv[1], h, w) : synthetic(h, w);
        sss::ImageView image{pixels.data(), h, w, 3};
        const sss::SparseMatrix W = sss::matting_affinity(image);
        const sss::SparseMatrix L = sss::laplacian_from_affinity(W);
        // checksum: sum of values weighted by a pattern of their (row, col)
        double sum = 0.0, checksum = 0.0;
        for (int r = 0; r < W.outerSize(); ++r)
            for (sss::SparseMatrix::InnerIterator it(W, r); it; ++it) {
                sum += it.value();
                checksum += it.value() * ((it.row() * 7 + it.col() * 13) % 101 + 1);
            }
        double max_row_sum = 0.0;
        for (int r = 0; r < L.outerSize(); ++r) {
            double s = 0.0;
            for (sss::SparseMatrix::InnerIterator it(L, r); it; ++it) s += it.value();
            max_row_sum = std::max(max_row_sum, std::abs(s));
        }
        std::printf("size %ld x %ld\nnnz %ld\nsum %.15e\nchecksum %.15e\nlaplacian_max_row_sum %.3e\n",
                    static_cast<long>(W.rows()), static_cast<long>(W.cols()),
                    static_cast<long>(W.nonZeros()), sum, checksum, max_row_sum);
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
