// One-hot encoding of class labels: labels [B] int32 -> y [B, K] floats, y[b, k] = 1 where k == labels[b], else 0.
// Conditioning input of the label-conditioned models (CVAE); no backward (labels are not differentiable).
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

// The CPU reference rejects a label outside [0, K); the CUDA kernel, which cannot throw, writes a zero row.
DG_DECLARE_OP(one_hot, (Context & ctx, const int32_t* labels, float* y, int B, int K), (labels, y, B, K))

}  // namespace dg
