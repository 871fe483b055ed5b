// CUDA launcher for sqdist_topk: one thread per query keeps its list in registers and walks the references in
// ascending order; at each reference the threads of a warp read neighbouring queries, so the loads coalesce.
#include "kernels/cuda_launch.cuh"
#include "kernels/sqdist_topk.h"
#include "kernels/sqdist_topk_body.h"

namespace dg::cuda {
namespace {

__global__ void sqdist_topk_kernel(const float* dots, const float* qnorm, const float* rnorm, int M, int N, int k,
                                   int64_t offset, float* best, int32_t* best_idx) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= M) return;
  float b[kSqdistTopkMaxK];
  int32_t bi[kSqdistTopkMaxK];
  for (int p = 0; p < k; ++p) {
    b[p] = best[int64_t(i) * k + p];
    bi[p] = best_idx[int64_t(i) * k + p];
  }
  const float q = qnorm[i];
  for (int j = 0; j < N; ++j) {
    const float v = sqdist_value(q, rnorm[j], dots[int64_t(j) * M + i]);
    if (v < b[k - 1]) topk_insert(b, bi, k, v, int32_t(offset + j));
  }
  for (int p = 0; p < k; ++p) {
    best[int64_t(i) * k + p] = b[p];
    best_idx[int64_t(i) * k + p] = bi[p];
  }
}

}  // namespace

void sqdist_topk(Context& ctx, const float* dots, const float* qnorm, const float* rnorm, int M, int N, int k,
                 int64_t offset, float* best, int32_t* best_idx) {
  DG_REQUIRE(k >= 1 && k <= kSqdistTopkMaxK, "sqdist_topk: k must be in 1..", kSqdistTopkMaxK, ", got ", k);
  if (M <= 0 || N <= 0) return;
  const int threads = 128;
  sqdist_topk_kernel<<<(M + threads - 1) / threads, threads, 0, stream_of(ctx)>>>(dots, qnorm, rnorm, M, N, k, offset,
                                                                                 best, best_idx);
  DG_LAUNCH_CHECK(ctx, "sqdist_topk");
}

}  // namespace dg::cuda
