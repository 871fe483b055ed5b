// CPU reference for random_shift.
#include "kernels/augment.h"
#include "kernels/augment_body.h"

namespace dg::cpu {

void random_shift(Context&, const float* x, float* y, int B, int H, int W, int max_shift, uint64_t seed,
                  uint64_t index_base, uint32_t step) {
  DG_REQUIRE(max_shift >= 0, "random_shift: max_shift must be >= 0, got ", max_shift);
  const RandomShiftBody body{x, y, H, W, max_shift, seed, index_base, step};
  const int64_t n = int64_t(B) * H * W;
  for (int64_t i = 0; i < n; ++i) body(i);
}

}  // namespace dg::cpu
