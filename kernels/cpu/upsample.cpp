// CPU reference for nearest-neighbour upsampling, split over the worker pool (every index writes its own output):
// the forward pass copies rows, the backward pass runs the shared per-index body.
#include <algorithm>
#include <cstring>

#include "kernels/upsample.h"
#include "kernels/upsample_body.h"
#include "runtime/parallel.h"

namespace dg::cpu {

void upsample_nearest_forward(Context&, const float* x, float* y, int BC, int H, int W, int f) {
  DG_REQUIRE(f >= 1, "upsample_nearest: factor must be >= 1, got ", f);
  // Row by row: each input row, every value repeated f times, written to its f output rows (the same values as
  // UpsampleNearestForwardBody, without its per-element index arithmetic).
  const int Wf = W * f;
  parallel_for(int64_t(BC) * H, std::max<int64_t>(1, kElementwiseGrain / (int64_t(Wf) * f)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* src = x + r * W;
      float* out = y + r * f * Wf;
      for (int iw = 0; iw < W; ++iw)
        for (int k = 0; k < f; ++k) out[iw * f + k] = src[iw];
      for (int a = 1; a < f; ++a) std::memcpy(out + int64_t(a) * Wf, out, sizeof(float) * Wf);
    }
  });
}

void upsample_nearest_backward(Context&, const float* dy, float* dx, int BC, int H, int W, int f) {
  DG_REQUIRE(f >= 1, "upsample_nearest: factor must be >= 1, got ", f);
  const UpsampleNearestBackwardBody body{dy, dx, H, W, f};
  const int64_t n = int64_t(BC) * H * W;
  parallel_for(n, kElementwiseGrain / (int64_t(f) * f), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) body(i);
  });
}

}  // namespace dg::cpu
