// CPU reference for sqdist_topk: references in the outer loop (the dots block is reference-major, so each pass
// reads one contiguous row), every query's list updated in turn.
#include "kernels/sqdist_topk.h"
#include "kernels/sqdist_topk_body.h"

namespace dg::cpu {

void sqdist_topk(Context&, const float* dots, const float* qnorm, const float* rnorm, int M, int N, int k,
                 int64_t offset, float* best, int32_t* best_idx) {
  DG_REQUIRE(k >= 1 && k <= kSqdistTopkMaxK, "sqdist_topk: k must be in 1..", kSqdistTopkMaxK, ", got ", k);
  for (int j = 0; j < N; ++j) {
    const float* row = dots + int64_t(j) * M;
    const float r = rnorm[j];
    const int32_t idx = int32_t(offset + j);
    for (int i = 0; i < M; ++i) {
      const float v = sqdist_value(qnorm[i], r, row[i]);
      float* b = best + int64_t(i) * k;
      if (v < b[k - 1]) topk_insert(b, best_idx + int64_t(i) * k, k, v, idx);
    }
  }
}

}  // namespace dg::cpu
