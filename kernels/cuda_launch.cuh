// Launch helpers shared by the CUDA launchers: grid sizing and the grid-stride elementwise kernel that runs a
// __host__ __device__ functor per index (the CPU reference runs the same functor over the whole range).
#pragma once
#include <cstdint>

#include "runtime/cuda_check.h"

namespace dg::cuda_detail {

constexpr int kThreads = 256;

inline int blocks_for(int64_t n, int threads = kThreads) {
  int64_t b = (n + threads - 1) / threads;
  if (b > 65535LL * 8) b = 65535LL * 8;  // grid-stride loops cover the rest
  return int(b < 1 ? 1 : b);
}

template <typename F>
__global__ void for_each_index_kernel(int64_t n, F f) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) f(i);
}

// Runs f(i) for i in [0, n) on the context's stream and checks the launch.
template <typename F>
void for_each_index(const Context& ctx, const char* name, int64_t n, F f) {
  if (n <= 0) return;
  for_each_index_kernel<<<blocks_for(n), kThreads, 0, stream_of(ctx)>>>(n, f);
  DG_LAUNCH_CHECK(ctx, name);
}

}  // namespace dg::cuda_detail
