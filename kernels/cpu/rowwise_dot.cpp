// CPU reference for rowwise_dot: each row summed in double, the backward through the shared body.
#include "kernels/rowwise_dot.h"
#include "kernels/rowwise_dot_body.h"

namespace dg::cpu {

void rowwise_dot_forward(Context&, const float* a, const float* c, float* y, int B, int D) {
  for (int b = 0; b < B; ++b) {
    const float* ar = a + int64_t(b) * D;
    const float* cr = c + int64_t(b) * D;
    double s = 0;
    for (int j = 0; j < D; ++j) s += double(ar[j]) * cr[j];
    y[b] = float(s);
  }
}

void rowwise_dot_backward(Context&, const float* dy, const float* a, const float* c, float* da, float* dc, int B,
                          int D, Grad mode) {
  const RowwiseDotBackwardBody body{dy, a, c, da, dc, D, mode == Grad::Accumulate};
  for (int64_t i = 0, n = int64_t(B) * D; i < n; ++i) body(i);
}

}  // namespace dg::cpu
