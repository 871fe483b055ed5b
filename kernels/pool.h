// Max and average pooling over square windows (NCHW), forward and backward.
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

// x [B*C, H, W] -> y [B*C, Ho, Wo] with Ho = (H - K) / stride + 1 (no padding).
struct PoolGeom {
  int BC = 0, H = 0, W = 0, K = 2, stride = 2;
  int Ho() const { return (H - K) / stride + 1; }
  int Wo() const { return (W - K) / stride + 1; }
};

// y = window max; argmax[i] = flat index (within the H*W plane) of the chosen input, for backward.
DG_DECLARE_OP(maxpool2d_forward, (Context & ctx, const PoolGeom& g, const float* x, float* y, int32_t* argmax),
              (g, x, y, argmax))
// dx = scatter of dy to the argmax positions (overwritten; deterministic).
DG_DECLARE_OP(maxpool2d_backward, (Context & ctx, const PoolGeom& g, const float* dy, const int32_t* argmax, float* dx),
              (g, dy, argmax, dx))
DG_DECLARE_OP(avgpool2d_forward, (Context & ctx, const PoolGeom& g, const float* x, float* y), (g, x, y))
DG_DECLARE_OP(avgpool2d_backward, (Context & ctx, const PoolGeom& g, const float* dy, float* dx), (g, dy, dx))

}  // namespace dg
