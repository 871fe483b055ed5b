// Inverted dropout with a Philox mask: the mask is recomputed in backward from (seed, step), never stored.
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

// y[i] = keep(i) ? x[i] / (1 - p) : 0, keep(i) = philox_uniform(seed, kPurposeDropout, i, step) > p.
// Both backends multiply by the one float 1 / (1 - p) (kernels/dropout_body.h); p must lie in [0, 1), and
// p == 0 is a plain copy. x and y may alias.
DG_DECLARE_OP(dropout_forward, (Context & ctx, const float* x, float* y, int64_t n, float p, uint64_t seed, uint32_t step),
              (x, y, n, p, seed, step))
// dx[i] = keep(i) ? dy[i] / (1 - p) : 0 (overwrites dx).
DG_DECLARE_OP(dropout_backward,
              (Context & ctx, const float* dy, float* dx, int64_t n, float p, uint64_t seed, uint32_t step),
              (dy, dx, n, p, seed, step))

}  // namespace dg
