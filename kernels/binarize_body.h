// Per-index body of the binarize op, shared by the CPU reference and the CUDA launcher.
#pragma once
#include "runtime/philox.h"

namespace dg {

struct BinarizeBody {
  const float* x; float* out; uint64_t seed; uint64_t index_base; uint32_t step;
  DG_HD void operator()(int64_t i) const {
    // philox_uniform is in (0, 1], so a pixel of exactly 0 never turns on and 1 always does.
    out[i] = philox_uniform(seed, kPurposeBinarize, index_base + uint64_t(i), step) <= x[i] ? 1.0f : 0.0f;
  }
};

}  // namespace dg
