// CUDA launchers for nearest-neighbour upsampling: the shared per-index bodies, one thread per written element.
#include "kernels/cuda_launch.cuh"
#include "kernels/upsample.h"
#include "kernels/upsample_body.h"

namespace dg::cuda {

void upsample_nearest_forward(Context& ctx, const float* x, float* y, int BC, int H, int W, int f) {
  DG_REQUIRE(f >= 1, "upsample_nearest: factor must be >= 1, got ", f);
  cuda_detail::for_each_index(ctx, "upsample_nearest_forward", int64_t(BC) * H * f * W * f,
                              UpsampleNearestForwardBody{x, y, H, W, f});
}

void upsample_nearest_backward(Context& ctx, const float* dy, float* dx, int BC, int H, int W, int f) {
  DG_REQUIRE(f >= 1, "upsample_nearest: factor must be >= 1, got ", f);
  cuda_detail::for_each_index(ctx, "upsample_nearest_backward", int64_t(BC) * H * W,
                              UpsampleNearestBackwardBody{dy, dx, H, W, f});
}

}  // namespace dg::cuda
