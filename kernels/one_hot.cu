// CUDA launcher for the one-hot encoding: one thread per output element, the shared per-index body.
#include "kernels/cuda_launch.cuh"
#include "kernels/one_hot.h"
#include "kernels/one_hot_body.h"

namespace dg::cuda {

void one_hot(Context& ctx, const int32_t* labels, float* y, int B, int K) {
  cuda_detail::for_each_index(ctx, "one_hot", int64_t(B) * K, OneHotBody{labels, y, K});
}

}  // namespace dg::cuda
