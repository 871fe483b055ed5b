// Per-channel bias for tensors laid out [rows, C, inner] (Linear: inner = 1; conv: rows = B, inner = H*W).
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

// y[r, c, i] += b[c]
DG_DECLARE_OP(bias_forward, (Context & ctx, float* y, const float* b, int rows, int C, int inner),
              (y, b, rows, C, inner))
// db[c] (+)= sum over r, i of dy[r, c, i]; deterministic (no atomics).
DG_DECLARE_OP(bias_backward, (Context & ctx, const float* dy, float* db, int rows, int C, int inner, Grad mode),
              (dy, db, rows, C, inner, mode))

}  // namespace dg
