// Data augmentation on the device: each image shifted by a random whole-pixel offset in [-max, max] per axis
// (zeros shifted in). The offset of image b comes from Philox(seed, kPurposeAugment, index_base + b, step), so it
// is the same on every device. A data op: no parameters upstream, so it has no backward pass.
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

// x, y: [B, H, W] (single channel), y must not alias x.
DG_DECLARE_OP(random_shift,
              (Context & ctx, const float* x, float* y, int B, int H, int W, int max_shift, uint64_t seed,
               uint64_t index_base, uint32_t step),
              (x, y, B, H, W, max_shift, seed, index_base, step))

}  // namespace dg
