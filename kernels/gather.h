// Data-side ops: gather a batch of uint8 images by index into floats in [0, 1], gather labels,
// and small elementwise helpers used by the layers (scale, axpy, fill).
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

// out[b, p] = images[idx[b], p] / 255 for p < P.
DG_DECLARE_OP(gather_images, (Context & ctx, const uint8_t* images, const int32_t* idx, float* out, int B, int P),
              (images, idx, out, B, P))
// out[b] = labels[idx[b]]
DG_DECLARE_OP(gather_labels, (Context & ctx, const uint8_t* labels, const int32_t* idx, int32_t* out, int B),
              (labels, idx, out, B))
// y[i] = alpha * x[i] + beta * y[i]; with beta == 0, y's old contents are not read (BLAS convention).
DG_DECLARE_OP(axpby, (Context & ctx, float alpha, const float* x, float beta, float* y, int64_t n), (alpha, x, beta, y, n))
// y[i] = value
DG_DECLARE_OP(fill, (Context & ctx, float* y, float value, int64_t n), (y, value, n))

}  // namespace dg
