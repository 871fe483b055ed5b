// Layout changes between channel-first images and channel-last rows: x [B, C, S] (NCHW, S = H * W) <->
// y [B * S, C] (one row of C features per position), for ops that work on one vector per position (the VQ-VAE's
// quantizer, the PixelCNN prior). Each is the other's backward.
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

// y[(b * S + s) * C + c] = x[(b * C + c) * S + s] (overwritten).
DG_DECLARE_OP(channels_last, (Context & ctx, const float* x, float* y, int B, int C, int S), (x, y, B, C, S))
// x[(b * C + c) * S + s] = y[(b * S + s) * C + c] (overwritten).
DG_DECLARE_OP(channels_first, (Context & ctx, const float* y, float* x, int B, int C, int S), (y, x, B, C, S))

}  // namespace dg
