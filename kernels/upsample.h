// Nearest-neighbour upsampling by an integer factor (NCHW), forward and backward.
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

// x [BC, H, W] -> y [BC, H*f, W*f]
DG_DECLARE_OP(upsample_nearest_forward, (Context & ctx, const float* x, float* y, int BC, int H, int W, int f),
              (x, y, BC, H, W, f))
// dx [BC, H, W] = sum of dy over each f x f block (overwritten).
DG_DECLARE_OP(upsample_nearest_backward, (Context & ctx, const float* dy, float* dx, int BC, int H, int W, int f),
              (dy, dx, BC, H, W, f))

}  // namespace dg
