// Device-resident dataset: upload once, shuffle per epoch, gather batches on the device.
#include "runtime/dataset.h"

#include <numeric>

#include "kernels/gather.h"
#include "runtime/error.h"
#include "runtime/idx.h"
#include "runtime/nvtx.h"
#include "runtime/philox.h"

namespace dg {

DeviceDataset::DeviceDataset(Context& ctx, const MnistSplit& split)
    : DeviceDataset(ctx, split.images.pixels.data(), split.labels.data(), split.images.count, split.images.rows,
                    split.images.cols) {}

DeviceDataset::DeviceDataset(Context& ctx, const uint8_t* images, const uint8_t* labels, int64_t n, int rows, int cols)
    : n_(n), rows_(rows), cols_(cols) {
  images_ = Tensor::empty(ctx, {n, int64_t(rows) * cols}, DType::U8);
  copy_to_device(ctx, images_.raw(), images, size_t(n) * rows * cols);
  labels_ = Tensor::empty(ctx, {n}, DType::U8);
  copy_to_device(ctx, labels_.raw(), labels, size_t(n));
  sequential(ctx);
}

std::vector<int32_t> DeviceDataset::permutation(int64_t n, uint64_t seed, uint32_t epoch) {
  std::vector<int32_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  for (int64_t i = n - 1; i > 0; --i) {
    const uint64_t j = philox_u32(seed, kPurposeDataShuffle, uint64_t(i), epoch) % uint64_t(i + 1);
    std::swap(p[size_t(i)], p[size_t(j)]);
  }
  return p;
}

void DeviceDataset::shuffle(Context& ctx, uint64_t seed, uint32_t epoch) {
  NvtxRange r("data/shuffle");
  const std::vector<int32_t> p = permutation(n_, seed, epoch);
  order_ = Tensor::empty(ctx, {n_}, DType::I32);
  copy_to_device(ctx, order_.raw(), p.data(), p.size() * sizeof(int32_t));
}

void DeviceDataset::sequential(Context& ctx) {
  std::vector<int32_t> p(static_cast<size_t>(n_));
  std::iota(p.begin(), p.end(), 0);
  order_ = Tensor::empty(ctx, {n_}, DType::I32);
  copy_to_device(ctx, order_.raw(), p.data(), p.size() * sizeof(int32_t));
}

Batch DeviceDataset::batch(Context& ctx, int64_t begin, int B) const {
  DG_REQUIRE(begin >= 0 && B >= 0 && begin + B <= n_, "batch [", begin, ", ", begin + B, ") outside the dataset's [0, ",
             n_, ")");
  NvtxRange r("data");
  Batch b;
  b.images = Tensor::empty(ctx, {B, 1, rows_, cols_});
  b.labels = Tensor::empty(ctx, {B}, DType::I32);
  const int32_t* idx = order_.as<int32_t>() + begin;
  gather_images(ctx, images_.as<uint8_t>(), idx, b.images.f32(), B, rows_ * cols_);
  gather_labels(ctx, labels_.as<uint8_t>(), idx, b.labels.as<int32_t>(), B);
  return b;
}

}  // namespace dg
