// CUDA launcher for bce_logits_rows: one block per row, each thread striding over the row, then a fixed-order tree
// sum (deterministic, no atomics).
#include "kernels/bce_rows.h"
#include "kernels/block_reduce.cuh"
#include "kernels/cuda_launch.cuh"
#include "kernels/elementwise_math.h"

namespace dg::cuda {
namespace {

using cuda_detail::kThreads;

__global__ void bce_logits_rows_kernel(const float* logits, const float* target, float* out, int P, int repeat) {
  __shared__ float scratch[kThreads];
  const float* x = logits + int64_t(blockIdx.x) * P;
  const float* t = target + int64_t(blockIdx.x / repeat) * P;
  float s = 0.0f;
  for (int p = threadIdx.x; p < P; p += kThreads) s += bce_logits_value(x[p], t[p]);
  const float total = cuda_detail::block_sum<kThreads>(s, scratch);
  if (threadIdx.x == 0) out[blockIdx.x] = total;
}

}  // namespace

void bce_logits_rows(Context& ctx, const float* logits, const float* target, float* out, int B, int P, int repeat) {
  DG_REQUIRE(repeat >= 1, "bce_logits_rows: repeat must be at least 1, got ", repeat);
  if (B <= 0) return;
  bce_logits_rows_kernel<<<B, kThreads, 0, stream_of(ctx)>>>(logits, target, out, P, repeat);
  DG_LAUNCH_CHECK(ctx, "bce_logits_rows");
}

}  // namespace dg::cuda
