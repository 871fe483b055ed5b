// Per-index body of random_shift, shared by the CPU reference and the CUDA launcher.
#pragma once
#include "runtime/philox.h"

namespace dg {

struct RandomShiftBody {
  const float* x; float* y; int H, W, max_shift; uint64_t seed; uint64_t index_base; uint32_t step;
  DG_HD void operator()(int64_t i) const {
    const int64_t plane = int64_t(H) * W;
    const int64_t b = i / plane;
    const int r = int((i % plane) / W), c = int(i % W);
    // One Philox block per image: lanes 0 and 1 give the row and column offsets.
    const Philox4 d = philox_block(seed, kPurposeAugment, index_base + uint64_t(b), step);
    const int span = 2 * max_shift + 1;
    const int dr = int(d.v[0] % uint32_t(span)) - max_shift, dc = int(d.v[1] % uint32_t(span)) - max_shift;
    const int sr = r - dr, sc = c - dc;
    y[i] = (sr >= 0 && sr < H && sc >= 0 && sc < W) ? x[b * plane + int64_t(sr) * W + sc] : 0.0f;
  }
};

}  // namespace dg
