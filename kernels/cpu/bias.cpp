// CPU reference for the per-channel bias: forward through the shared body, backward as a plain
// per-channel sum in double.
#include <vector>

#include "kernels/bias.h"
#include "kernels/bias_body.h"

namespace dg::cpu {

void bias_forward(Context&, float* y, const float* b, int rows, int C, int inner) {
  if (C <= 0 || inner <= 0) return;
  const BiasForwardBody body{y, b, C, inner};
  const int64_t n = int64_t(rows) * C * inner;
  for (int64_t i = 0; i < n; ++i) body(i);
}

void bias_backward(Context&, const float* dy, float* db, int rows, int C, int inner, Grad mode) {
  std::vector<double> sum(size_t(C > 0 ? C : 0), 0.0);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < C; ++c) {
      const float* row = dy + (int64_t(r) * C + c) * inner;
      double s = 0;
      for (int i = 0; i < inner; ++i) s += row[i];
      sum[c] += s;
    }
  for (int c = 0; c < C; ++c) db[c] = mode == Grad::Accumulate ? float(db[c] + sum[c]) : float(sum[c]);
}

}  // namespace dg::cpu
