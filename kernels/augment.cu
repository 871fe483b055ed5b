// CUDA launcher for random_shift.
#include "kernels/augment.h"
#include "kernels/augment_body.h"
#include "kernels/cuda_launch.cuh"

namespace dg::cuda {

void random_shift(Context& ctx, const float* x, float* y, int B, int H, int W, int max_shift, uint64_t seed,
                  uint64_t index_base, uint32_t step) {
  DG_REQUIRE(max_shift >= 0, "random_shift: max_shift must be >= 0, got ", max_shift);
  cuda_detail::for_each_index(ctx, "random_shift", int64_t(B) * H * W,
                              RandomShiftBody{x, y, H, W, max_shift, seed, index_base, step});
}

}  // namespace dg::cuda
