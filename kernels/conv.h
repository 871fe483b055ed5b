// 2-D convolution and transposed convolution (NCHW, square kernels), forward and both backward passes.
// CPU: im2col / col2im + OpenBLAS GEMM. CUDA: cuDNN with fixed deterministic algorithms.
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

// Geometry of a convolution from `in` (x: [B, Cin, H, W]) to `out` (y: [B, Cout, Ho, Wo]),
// weights w: [Cout, Cin, K, K], Ho = (H + 2*pad - K) / stride + 1.
// For the transposed convolution the same struct describes the *forward* convolution it is the
// transpose of: it maps [B, Cout, Ho, Wo] -> [B, Cin, H, W], weights w: [Cout, Cin, K, K]
// (PyTorch's ConvTranspose2d layout [in_channels, out_channels, K, K] with in = Cout, out = Cin).
struct ConvGeom {
  int B = 0, Cin = 0, H = 0, W = 0, Cout = 0, K = 0, stride = 1, pad = 0;
  int Ho() const { return (H + 2 * pad - K) / stride + 1; }
  int Wo() const { return (W + 2 * pad - K) / stride + 1; }
};

// y = conv(x, w) (overwritten; bias is a separate op).
DG_DECLARE_OP(conv2d_forward, (Context & ctx, const ConvGeom& g, const float* x, const float* w, float* y), (g, x, w, y))
// dx = conv2d_forward's input gradient (overwritten).
DG_DECLARE_OP(conv2d_backward_data, (Context & ctx, const ConvGeom& g, const float* dy, const float* w, float* dx),
              (g, dy, w, dx))
// dw (+)= weight gradient per mode.
DG_DECLARE_OP(conv2d_backward_filter,
              (Context & ctx, const ConvGeom& g, const float* x, const float* dy, float* dw, Grad mode),
              (g, x, dy, dw, mode))

// Transposed convolution: x [B, Cout, Ho, Wo] -> y [B, Cin, H, W]; it equals conv2d_backward_data.
DG_DECLARE_OP(conv_transpose2d_forward, (Context & ctx, const ConvGeom& g, const float* x, const float* w, float* y),
              (g, x, w, y))
// dx [B, Cout, Ho, Wo] = conv2d_forward(dy) (overwritten).
DG_DECLARE_OP(conv_transpose2d_backward_data,
              (Context & ctx, const ConvGeom& g, const float* dy, const float* w, float* dx), (g, dy, w, dx))
// dw (+)= weight gradient, w laid out [Cout, Cin, K, K] as above.
DG_DECLARE_OP(conv_transpose2d_backward_filter,
              (Context & ctx, const ConvGeom& g, const float* x, const float* dy, float* dw, Grad mode),
              (g, x, dy, dw, mode))

}  // namespace dg
