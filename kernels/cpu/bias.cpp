// CPU reference for the per-channel bias: nested loops over [rows, C, inner] (no per-element index division,
// which dominates on big conv activations), backward as a per-channel sum in double (in lane_sum.h's order).
// Rows (forward) and channels (backward) are split over the CPU threads; each channel's sum keeps its row order.
#include <algorithm>
#include <vector>

#include "kernels/bias.h"
#include "kernels/cpu/lane_sum.h"
#include "runtime/parallel.h"

namespace dg::cpu {

void bias_forward(Context&, float* y, const float* b, int rows, int C, int inner) {
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, int64_t(C) * inner));
  parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    if (inner == 1) {  // [rows, C] (Linear): a contiguous row at a time, so the loop vectorises
      for (int64_t r = r0; r < r1; ++r) {
        float* row = y + r * C;
        for (int c = 0; c < C; ++c) row[c] += b[c];
      }
      return;
    }
    for (int64_t r = r0; r < r1; ++r)
      for (int c = 0; c < C; ++c) {
        float* row = y + (r * C + c) * inner;
        const float bc = b[c];
        for (int i = 0; i < inner; ++i) row[i] += bc;
      }
  });
}

void bias_backward(Context&, const float* dy, float* db, int rows, int C, int inner, Grad mode) {
  std::vector<double> sum(size_t(C > 0 ? C : 0), 0.0);
  if (inner == 1) {  // [rows, C] (Linear): the same sums, row by row, in a loop that vectorises
    for (int r = 0; r < rows; ++r) {
      const float* row = dy + int64_t(r) * C;
      for (int c = 0; c < C; ++c) sum[size_t(c)] += row[c];
    }
  } else {
    const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, int64_t(rows) * inner));
    parallel_for(C, grain, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c)
        for (int r = 0; r < rows; ++r) {
          const float* row = dy + (int64_t(r) * C + c) * inner;
          sum[size_t(c)] += lane_sum(inner, [row](int64_t i) { return double(row[i]); });
        }
    });
  }
  for (int c = 0; c < C; ++c) db[c] = mode == Grad::Accumulate ? float(db[c] + sum[c]) : float(sum[c]);
}

}  // namespace dg::cpu
