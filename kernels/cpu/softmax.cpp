// CPU reference for the row softmax: the shared per-row bodies of softmax_body.h over every row.
#include "kernels/softmax.h"
#include "kernels/softmax_body.h"

namespace dg::cpu {

void softmax_rows_forward(Context&, const float* x, float* y, int64_t R, int D, float scale) {
  const SoftmaxRowsForwardBody body{x, y, D, scale};
  for (int64_t r = 0; r < R; ++r) body(r);
}

void softmax_rows_backward(Context&, const float* y, const float* dy, float* dx, int64_t R, int D, float scale) {
  const SoftmaxRowsBackwardBody body{y, dy, dx, D, scale};
  for (int64_t r = 0; r < R; ++r) body(r);
}

}  // namespace dg::cpu
