// CUDA launchers for rowwise_dot: one block per row, each thread striding over the row, then a fixed-order tree sum
// (deterministic, no atomics); the backward is the shared per-element body.
#include "kernels/block_reduce.cuh"
#include "kernels/cuda_launch.cuh"
#include "kernels/rowwise_dot.h"
#include "kernels/rowwise_dot_body.h"

namespace dg::cuda {
namespace {

using cuda_detail::kThreads;

__global__ void rowwise_dot_kernel(const float* a, const float* c, float* y, int D) {
  __shared__ float scratch[kThreads];
  const int64_t base = int64_t(blockIdx.x) * D;
  float s = 0.0f;
  for (int j = threadIdx.x; j < D; j += kThreads) s += a[base + j] * c[base + j];
  const float total = cuda_detail::block_sum<kThreads>(s, scratch);
  if (threadIdx.x == 0) y[blockIdx.x] = total;
}

}  // namespace

void rowwise_dot_forward(Context& ctx, const float* a, const float* c, float* y, int B, int D) {
  if (B <= 0) return;
  rowwise_dot_kernel<<<B, kThreads, 0, stream_of(ctx)>>>(a, c, y, D);
  DG_LAUNCH_CHECK(ctx, "rowwise_dot_forward");
}

void rowwise_dot_backward(Context& ctx, const float* dy, const float* a, const float* c, float* da, float* dc, int B,
                          int D, Grad mode) {
  cuda_detail::for_each_index(ctx, "rowwise_dot_backward", int64_t(B) * D,
                              RowwiseDotBackwardBody{dy, a, c, da, dc, D, mode == Grad::Accumulate});
}

}  // namespace dg::cuda
