// An MNIST split resident on the device for the whole run: uint8 images and labels, a per-epoch shuffle
// drawn from Philox(seed, kPurposeDataShuffle, ., epoch), and batches gathered on the device.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace dg {

struct MnistSplit;

// A batch: images [B, 1, 28, 28] as floats in [0, 1], labels [B] int32.
struct Batch {
  Tensor images;
  Tensor labels;
  int size() const { return int(images.dim(0)); }
};

class DeviceDataset {
 public:
  DeviceDataset(Context& ctx, const MnistSplit& split);
  // Host arrays: images [n, rows*cols] uint8, labels [n].
  DeviceDataset(Context& ctx, const uint8_t* images, const uint8_t* labels, int64_t n, int rows, int cols);
  int64_t size() const { return n_; }
  int rows() const { return rows_; }
  int cols() const { return cols_; }
  // Sets the order for an epoch: a Fisher-Yates shuffle from (seed, epoch), the same on every device.
  void shuffle(Context& ctx, uint64_t seed, uint32_t epoch);
  // Sets the order to 0, 1, 2, ... (evaluation).
  void sequential(Context& ctx);
  // Gathers positions [begin, begin + B) of the current order.
  Batch batch(Context& ctx, int64_t begin, int B) const;
  // The shuffle itself, exposed for tests.
  static std::vector<int32_t> permutation(int64_t n, uint64_t seed, uint32_t epoch);

 private:
  int64_t n_ = 0;
  int rows_ = 28, cols_ = 28;
  Tensor images_;  // U8 [n, rows*cols]
  Tensor labels_;  // U8 [n]
  Tensor order_;   // I32 [n]
};

}  // namespace dg
