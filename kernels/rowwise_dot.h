// Row-wise dot product of two [B, D] matrices, y[b] = sum_j a[b, j] * c[b, j], and its backward. The projection
// discriminator's class term (feature row . embedding row of the label) is this op.
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

// y [B] (overwritten) = sum_j a[b, j] * c[b, j]; a, c [B, D]. Fixed summation order per row.
DG_DECLARE_OP(rowwise_dot_forward, (Context & ctx, const float* a, const float* c, float* y, int B, int D),
              (a, c, y, B, D))
// da[b, j] (+)= dy[b] * c[b, j], dc[b, j] (+)= dy[b] * a[b, j] per `mode` (either pointer may be null).
DG_DECLARE_OP(rowwise_dot_backward,
              (Context & ctx, const float* dy, const float* a, const float* c, float* da, float* dc, int B, int D,
               Grad mode),
              (dy, a, c, da, dc, B, D, mode))

}  // namespace dg
