// Strict MNIST IDX readers (plain or gzip, detected by the 1f 8b magic) and the MNIST split loader.
// Every rejection is a dg::Error naming the file, the field and what was expected.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace dg {

// IDX3 unsigned-byte images, row-major [count, rows, cols], values 0..255 as stored.
struct IdxImages {
  int64_t count = 0;
  int rows = 0, cols = 0;
  std::vector<uint8_t> pixels;
};

// Limits past which a header is "absurd" (rejected before any allocation).
constexpr int64_t kIdxMaxCount = 100'000'000;
constexpr int kIdxMaxSide = 4096;
constexpr int64_t kIdxMaxImageBytes = int64_t(8) << 30;

// Magic 0x00000803, every dimension >= 1, body exactly count*rows*cols bytes.
IdxImages read_idx_images(const std::string& path);
// Magic 0x00000801, count >= 1, body exactly count bytes, every label in 0..9.
std::vector<uint8_t> read_idx_labels(const std::string& path);

struct MnistSplit {
  IdxImages images;
  std::vector<uint8_t> labels;
};
// Loads <dir>/{train,t10k}-images-idx3-ubyte and -labels-idx1-ubyte, each plain or with ".gz" appended
// (plain preferred when both exist), and checks that the image and label counts match.
MnistSplit load_mnist_split(const std::string& dir, bool train);

// Pixels scaled to [0,1] floats (value / 255).
std::vector<float> idx_to_unit_float(const IdxImages& images);

}  // namespace dg
