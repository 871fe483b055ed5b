// CPU reference for the one-hot encoding: validates the labels, then runs the shared per-index body.
#include "kernels/one_hot.h"
#include "kernels/one_hot_body.h"

namespace dg::cpu {

void one_hot(Context&, const int32_t* labels, float* y, int B, int K) {
  for (int b = 0; b < B; ++b)
    DG_REQUIRE(labels[b] >= 0 && labels[b] < K, "one_hot: label ", labels[b], " at position ", b, " is outside [0, ", K,
               ")");
  const OneHotBody body{labels, y, K};
  const int64_t n = int64_t(B) * K;
  for (int64_t i = 0; i < n; ++i) body(i);
}

}  // namespace dg::cpu
