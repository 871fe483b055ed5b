// CPU reference for nearest-neighbour upsampling: the shared per-index bodies over the whole range.
#include "kernels/upsample.h"
#include "kernels/upsample_body.h"

namespace dg::cpu {

void upsample_nearest_forward(Context&, const float* x, float* y, int BC, int H, int W, int f) {
  DG_REQUIRE(f >= 1, "upsample_nearest: factor must be >= 1, got ", f);
  const UpsampleNearestForwardBody body{x, y, H, W, f};
  const int64_t n = int64_t(BC) * H * f * W * f;
  for (int64_t i = 0; i < n; ++i) body(i);
}

void upsample_nearest_backward(Context&, const float* dy, float* dx, int BC, int H, int W, int f) {
  DG_REQUIRE(f >= 1, "upsample_nearest: factor must be >= 1, got ", f);
  const UpsampleNearestBackwardBody body{dy, dx, H, W, f};
  const int64_t n = int64_t(BC) * H * W;
  for (int64_t i = 0; i < n; ++i) body(i);
}

}  // namespace dg::cpu
