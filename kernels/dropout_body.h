// Per-index bodies of inverted dropout, shared by the CUDA launcher and the CPU reference; the mask is a
// pure function of (seed, step, index), which is what lets backward recompute it instead of storing it.
#pragma once
#include <cstdint>

#include "kernels/hd.h"
#include "runtime/philox.h"

namespace dg {

DG_HD bool dropout_keep(uint64_t seed, uint32_t step, int64_t i, float p) {
  return philox_uniform(seed, kPurposeDropout, uint64_t(i), step) > p;
}

// 1 / (1 - p), computed once on the host so both backends scale by the same float.
inline float dropout_scale(float p) { return p < 1.0f ? 1.0f / (1.0f - p) : 0.0f; }

// out[i] = keep(i) ? in[i] * scale : 0. Used for forward (in = x) and backward (in = dy) alike.
struct DropoutBody {
  const float* in; float* out; float p; float scale; uint64_t seed; uint32_t step;
  DG_HD void operator()(int64_t i) const { out[i] = dropout_keep(seed, step, i, p) ? in[i] * scale : 0.0f; }
};

}  // namespace dg
