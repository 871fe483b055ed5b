// CUDA launcher for stochastic binarization.
#include "kernels/binarize.h"
#include "kernels/binarize_body.h"
#include "kernels/cuda_launch.cuh"

namespace dg::cuda {

void binarize(Context& ctx, const float* x, float* out, int64_t n, uint64_t seed, uint64_t index_base, uint32_t step) {
  cuda_detail::for_each_index(ctx, "binarize", n, BinarizeBody{x, out, seed, index_base, step});
}

}  // namespace dg::cuda
