// Fixed-order block and warp sums for the deterministic reductions (bias gradient, losses): the same inputs
// in the same launch shape always add up in the same order, so results repeat bit for bit without atomics.
#pragma once
#include <cstdint>

namespace dg::cuda_detail {

// Butterfly sum over a full warp: every lane ends with the same total (float addition is commutative, so
// lanes l and l^k compute identical pair sums at each level).
__device__ __forceinline__ float warp_sum(float v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

// Tree sum of one value per thread over the block; blockDim.x must be a power of two no larger than
// kMaxThreads. `scratch` holds blockDim.x floats. Every thread gets the total; all threads must call it.
// The leading barrier lets one kernel call it repeatedly with the same scratch.
template <int kMaxThreads>
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  __syncthreads();
  scratch[threadIdx.x] = v;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half >>= 1) {
    if (int(threadIdx.x) < half) scratch[threadIdx.x] += scratch[threadIdx.x + half];
    __syncthreads();
  }
  return scratch[0];
}

// Sums `count` partials in a fixed order with one block: each thread strides over the partials, then the
// block tree-sums the per-thread values. Writes scale * total to *out.
template <int kThreads>
__global__ void sum_partials_kernel(const float* partials, int64_t count, float scale, float* out) {
  __shared__ float scratch[kThreads];
  float s = 0.0f;
  for (int64_t k = threadIdx.x; k < count; k += kThreads) s += partials[k];
  const float total = block_sum<kThreads>(s, scratch);
  if (threadIdx.x == 0) *out = scale * total;
}

}  // namespace dg::cuda_detail
