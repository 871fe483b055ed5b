// CPU reference for the per-channel bias: nested loops over [rows, C, inner] (no per-element index division,
// which dominates on big conv activations), backward as a plain per-channel sum in double.
#include <vector>

#include "kernels/bias.h"

namespace dg::cpu {

void bias_forward(Context&, float* y, const float* b, int rows, int C, int inner) {
  if (inner == 1) {  // [rows, C] (Linear): a contiguous row at a time, so the loop vectorises
    for (int r = 0; r < rows; ++r) {
      float* row = y + int64_t(r) * C;
      for (int c = 0; c < C; ++c) row[c] += b[c];
    }
    return;
  }
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < C; ++c) {
      float* row = y + (int64_t(r) * C + c) * inner;
      const float bc = b[c];
      for (int i = 0; i < inner; ++i) row[i] += bc;
    }
}

void bias_backward(Context&, const float* dy, float* db, int rows, int C, int inner, Grad mode) {
  std::vector<double> sum(size_t(C > 0 ? C : 0), 0.0);
  if (inner == 1) {  // [rows, C] (Linear): the same sums, row by row, in a loop that vectorises
    for (int r = 0; r < rows; ++r) {
      const float* row = dy + int64_t(r) * C;
      for (int c = 0; c < C; ++c) sum[size_t(c)] += row[c];
    }
  } else {
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < C; ++c) {
        const float* row = dy + (int64_t(r) * C + c) * inner;
        double s = 0;
        for (int i = 0; i < inner; ++i) s += row[i];
        sum[c] += s;
      }
  }
  for (int c = 0; c < C; ++c) db[c] = mode == Grad::Accumulate ? float(db[c] + sum[c]) : float(sum[c]);
}

}  // namespace dg::cpu
