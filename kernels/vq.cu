// CUDA launchers of the vector-quantization ops (kernels/vq.h): the shared bodies, one thread per vector, element
// or code. The EMA update sums the K updated counts in one thread in increasing k (K is at most a few thousand),
// so it matches the CPU reference bit for bit and needs no atomics.
#include "kernels/cuda_launch.cuh"
#include "kernels/vq.h"
#include "kernels/vq_body.h"

namespace dg::cuda {
namespace {

__global__ void ema_total_kernel(const float* ema_count, int K, float* total) {
  if (threadIdx.x != 0 || blockIdx.x != 0) return;
  float s = 0.0f;
  for (int k = 0; k < K; ++k) s += ema_count[k];
  *total = s;
}

__global__ void ema_code_kernel(const float* sums, const float* ema_count, float* ema_sum, float* codebook, int K, int D,
                                float decay, float eps, const float* total) {
  const float t = *total;
  const int64_t n = int64_t(K) * D;
  const VqEmaCodeBody body{sums, ema_count, ema_sum, codebook, K, D, decay, eps, t};
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) body(i);
}

}  // namespace

void vq_nearest(Context& ctx, const float* dots, const float* code_norms, int32_t* idx, float* min_dist, int N, int K) {
  cuda_detail::for_each_index(ctx, "vq_nearest", N, VqNearestBody{dots, code_norms, idx, min_dist, K});
}

void vq_straight_through_backward(Context& ctx, const float* dzq, const float* ze, const float* zq, float* dze,
                                  int64_t n, float commit_scale) {
  cuda_detail::for_each_index(ctx, "vq_straight_through_backward", n,
                              VqStraightThroughBackwardBody{dzq, ze, zq, dze, commit_scale});
}

void vq_code_sums(Context& ctx, const int32_t* idx, const float* ze, float* counts, float* sums, int N, int D, int K) {
  cuda_detail::for_each_index(ctx, "vq_code_sums", int64_t(K) * (D + 1), VqCodeSumsBody{idx, ze, counts, sums, N, D});
}

void vq_ema_update(Context& ctx, const float* counts, const float* sums, float* ema_count, float* ema_sum,
                   float* codebook, int K, int D, float decay, float eps) {
  cuda_detail::for_each_index(ctx, "vq_ema_update/count", K, VqEmaCountBody{counts, ema_count, decay});
  // Returned to the pool when this function ends; safe because later users of the block queue on this stream.
  Block tmp = ctx.pool().allocate(sizeof(float));
  float* total = static_cast<float*>(tmp.get());
  ema_total_kernel<<<1, 1, 0, stream_of(ctx)>>>(ema_count, K, total);
  DG_LAUNCH_CHECK(ctx, "vq_ema_update/total");
  const int64_t n = int64_t(K) * D;
  ema_code_kernel<<<cuda_detail::blocks_for(n), cuda_detail::kThreads, 0, stream_of(ctx)>>>(
      sums, ema_count, ema_sum, codebook, K, D, decay, eps, total);
  DG_LAUNCH_CHECK(ctx, "vq_ema_update/codes");
}

void vq_dead_code_restart(Context& ctx, const float* counts, float* idle, const float* ze, float* codebook,
                          float* ema_count, float* ema_sum, float* restarted, int N, int D, int K, int dead_after,
                          uint64_t seed, uint32_t step) {
  if (N <= 0) return;
  cuda_detail::for_each_index(
      ctx, "vq_dead_code_restart", K,
      VqDeadCodeRestartBody{counts, idle, ze, codebook, ema_count, ema_sum, restarted, N, D, dead_after, seed, step});
}

}  // namespace dg::cuda
