// Segments a photo with the installed sss core, without Python:
//
//   sss_cpp_host PHOTO.ppm FEATURES.npy LAYERS.npy [name=value ...]
//
// PHOTO.ppm is a binary 8-bit PPM (P6); FEATURES.npy the photo's 3-D
// semantic features (stage 1, e.g. written by Python from
// sss.preprocess_features(sss.compute_features(photo), photo)) as an
// (H, W, 3) float64 array, at the photo's size or at the working level's;
// LAYERS.npy receives the (H, W, K) float32 soft layers. Options:
// method=multilevel|reference, num_layers=K, seed=S, n_segments=N,
// num_vectors=M, initial_layers=I, working_pixels=P, max_iter=T (constrained
// and relaxed sparsification's iterations), saliency=MAP.npy (a salient-object
// map of the photo, (h, w, 1) float64 in [0, 1], any size, e.g. written from
// sss.saliency_map(photo)[..., None]: stage 11, subject matting, then runs as in
// sss.segment's default). Prints the layers' size and the working level's.
#include <sss/pipeline.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
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

// A C-order little-endian float64 .npy array of shape (h, w, c) (NumPy's
// format version 1 or 2).
std::vector<double> read_npy(const std::string& path, int& h, int& w, int& c) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot open " + path);
    char magic[8];
    f.read(magic, 8);
    if (!f || std::memcmp(magic, "\x93NUMPY", 6) != 0)
        throw std::runtime_error(path + ": not a .npy file");
    std::uint32_t len = 0;
    if (magic[6] == 1) {
        unsigned char b[2];
        f.read(reinterpret_cast<char*>(b), 2);
        len = b[0] | (b[1] << 8);
    } else {
        unsigned char b[4];
        f.read(reinterpret_cast<char*>(b), 4);
        len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::uint32_t>(b[3]) << 24);
    }
    std::string header(len, ' ');
    f.read(header.data(), len);
    if (header.find("'descr': '<f8'") == std::string::npos ||
        header.find("'fortran_order': False") == std::string::npos)
        throw std::runtime_error(path + ": expected a C-order float64 ('<f8') array");
    const auto open = header.find('(', header.find("'shape'"));
    const auto close = header.find(')', open);
    std::istringstream shape(header.substr(open + 1, close - open - 1));
    std::vector<long> dims;
    std::string item;
    while (std::getline(shape, item, ','))
        if (item.find_first_not_of(' ') != std::string::npos) dims.push_back(std::stol(item));
    if (dims.size() != 3) throw std::runtime_error(path + ": expected an (H, W, C) array");
    h = static_cast<int>(dims[0]);
    w = static_cast<int>(dims[1]);
    c = static_cast<int>(dims[2]);
    std::vector<double> data(static_cast<size_t>(h) * w * c);
    f.read(reinterpret_cast<char*>(data.data()),
           static_cast<std::streamsize>(data.size() * sizeof(double)));
    if (!f) throw std::runtime_error(path + ": truncated data");
    return data;
}

void write_npy(const std::string& path, const std::vector<float>& data, int h, int w, int c) {
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
                         std::to_string(h) + ", " + std::to_string(w) + ", " +
                         std::to_string(c) + "), }";
    const size_t total = 10 + header.size() + 1;
    header.append((64 - total % 64) % 64, ' ');
    header += '\n';
    std::ofstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot write " + path);
    const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff),
                                  static_cast<unsigned char>(header.size() >> 8)};
    f.write("\x93NUMPY\x01\x00", 8);
    f.write(reinterpret_cast<const char*>(len), 2);
    f.write(header.data(), static_cast<std::streamsize>(header.size()));
    f.write(reinterpret_cast<const char*>(data.data()),
            static_cast<std::streamsize>(data.size() * sizeof(float)));
    if (!f) throw std::runtime_error("cannot write " + path);
}

sss::Params parse_options(int argc, char** argv) {
    std::string method = "multilevel";
    for (int i = 4; i < argc; ++i)
        if (std::strncmp(argv[i], "method=", 7) == 0) method = argv[i] + 7;
    if (method != "multilevel" && method != "reference")
        throw std::invalid_argument("method must be multilevel or reference, got " + method);
    sss::Params p = method == "reference" ? sss::Params::reference() : sss::Params::multilevel();
    for (int i = 4; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto eq = arg.find('=');
        if (eq == std::string::npos) throw std::invalid_argument("expected name=value: " + arg);
        const std::string name = arg.substr(0, eq), value = arg.substr(eq + 1);
        if (name == "method" || name == "saliency") continue;
        const long long v = std::stoll(value);
        if (name == "num_layers") p.num_layers = static_cast<int>(v);
        else if (name == "seed") p.seed = static_cast<std::uint64_t>(v);
        else if (name == "n_segments") p.affinity.superpixels.n_segments = static_cast<int>(v);
        else if (name == "num_vectors") p.eigen.num_vectors = static_cast<int>(v);
        else if (name == "initial_layers") p.initial.num_layers = static_cast<int>(v);
        else if (name == "working_pixels") p.levels.working_pixels = v;
        else if (name == "max_iter") {
            p.constrained.iterations = static_cast<int>(v);
            p.relaxed.iterations = static_cast<int>(v);
        } else throw std::invalid_argument("unknown option " + name);
    }
    return p;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::cerr << "usage: sss_cpp_host PHOTO.ppm FEATURES.npy LAYERS.npy [name=value ...]\n";
        return 2;
    }
    try {
        const sss::Params params = parse_options(argc, argv);
        int h = 0, w = 0, fh = 0, fw = 0, fc = 0;
        const std::vector<double> img = read_ppm(argv[1], h, w);
        const std::vector<double> feat = read_npy(argv[2], fh, fw, fc);
        const sss::ImageView image{img.data(), h, w, 3};
        const sss::ImageView features{feat.data(), fh, fw, fc};
        sss::Overrides overrides;
        std::vector<double> map;
        for (int i = 4; i < argc; ++i)
            if (std::strncmp(argv[i], "saliency=", 9) == 0) {
                int mh = 0, mw = 0, mc = 0;
                map = read_npy(argv[i] + 9, mh, mw, mc);
                overrides.saliency = sss::ImageView{map.data(), mh, mw, mc};
            }
        const sss::SoftSegments seg = sss::segment(image, features, params, overrides);
        write_npy(argv[3], seg.alphas, seg.height, seg.width, seg.num_layers);
        std::cout << "layers " << seg.height << " x " << seg.width << " x " << seg.num_layers
                  << "\nworking " << seg.working_height << " x " << seg.working_width << "\n";
    } catch (const std::exception& e) {
        std::cerr << "sss_cpp_host: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
