// Softmax over the last dimension of a [R, D] matrix, forward and backward (the U-Net's self-attention weights).
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

// y[r, :] = softmax(scale * x[r, :]) (max-subtracted, so any finite x is safe). x and y may alias.
DG_DECLARE_OP(softmax_rows_forward, (Context & ctx, const float* x, float* y, int64_t R, int D, float scale),
              (x, y, R, D, scale))
// dx[r, j] = scale * y[r, j] * (dy[r, j] - sum_k y[r, k] dy[r, k]) (overwritten), the gradient through the forward
// above given its output y.
DG_DECLARE_OP(softmax_rows_backward,
              (Context & ctx, const float* y, const float* dy, float* dx, int64_t R, int D, float scale),
              (y, dy, dx, R, D, scale))

}  // namespace dg
