// Stochastic binarization of [0, 1] images: out[i] = (u < x[i]) ? 1 : 0 with u = Philox(seed, kPurposeBinarize,
// index_base + i, step). Dynamic binarization in training (step = training step) and a fixed one for the test set.
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

DG_DECLARE_OP(binarize, (Context & ctx, const float* x, float* out, int64_t n, uint64_t seed, uint64_t index_base, uint32_t step),
              (x, out, n, seed, index_base, step))

}  // namespace dg
