// CUDA launchers for the per-channel bias. The backward is a fixed-order reduction (no atomics), so the
// same inputs always give the same bits.
#include "kernels/bias.h"
#include "kernels/block_reduce.cuh"
#include "kernels/cuda_launch.cuh"

namespace dg::cuda {
namespace {

constexpr int kColTile = 32;   // channels per block in the inner == 1 kernel (one warp wide: coalesced rows)
constexpr int kRowLanes = 8;   // row strides per block in the inner == 1 kernel
constexpr int kChanThreads = 256;

// y[r, c, i] += b[c] with i the flat index into [rows, C, inner].
struct BiasForwardBody {
  float* y; const float* b; int C; int inner;
  __device__ void operator()(int64_t i) const { y[i] += b[(i / inner) % C]; }
};

// inner == 1 (Linear): dy is [rows, C]. Consecutive threads read consecutive channels of a row, so the loads
// coalesce; the kRowLanes partial sums per channel are then added in a fixed tree order.
__global__ void bias_backward_cols_kernel(const float* dy, float* db, int rows, int C, bool accumulate) {
  __shared__ float part[kRowLanes][kColTile + 1];
  const int c = blockIdx.x * kColTile + threadIdx.x;
  float s = 0.0f;
  if (c < C)
    for (int r = threadIdx.y; r < rows; r += kRowLanes) s += dy[int64_t(r) * C + c];
  part[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  for (int half = kRowLanes / 2; half > 0; half >>= 1) {
    if (int(threadIdx.y) < half) part[threadIdx.y][threadIdx.x] += part[threadIdx.y + half][threadIdx.x];
    __syncthreads();
  }
  if (threadIdx.y == 0 && c < C) db[c] = (accumulate ? db[c] : 0.0f) + part[0][threadIdx.x];
}

// inner > 1 (conv): one block per channel strides over that channel's rows * inner elements, whose runs of
// `inner` are contiguous, then tree-sums the per-thread values.
__global__ void bias_backward_chan_kernel(const float* dy, float* db, int rows, int C, int inner, bool accumulate) {
  __shared__ float scratch[kChanThreads];
  const int c = blockIdx.x;
  const int64_t m = int64_t(rows) * inner;
  float s = 0.0f;
  for (int64_t k = threadIdx.x; k < m; k += kChanThreads) {
    const int64_t r = k / inner, j = k - r * inner;
    s += dy[(r * C + c) * inner + j];
  }
  const float total = cuda_detail::block_sum<kChanThreads>(s, scratch);
  if (threadIdx.x == 0) db[c] = (accumulate ? db[c] : 0.0f) + total;
}

}  // namespace

void bias_forward(Context& ctx, float* y, const float* b, int rows, int C, int inner) {
  if (C <= 0 || inner <= 0) return;
  cuda_detail::for_each_index(ctx, "bias_forward", int64_t(rows) * C * inner, BiasForwardBody{y, b, C, inner});
}

void bias_backward(Context& ctx, const float* dy, float* db, int rows, int C, int inner, Grad mode) {
  if (C <= 0) return;
  const bool acc = mode == Grad::Accumulate;
  if (inner == 1) {
    const dim3 block(kColTile, kRowLanes);
    bias_backward_cols_kernel<<<(C + kColTile - 1) / kColTile, block, 0, stream_of(ctx)>>>(dy, db, rows, C, acc);
    DG_LAUNCH_CHECK(ctx, "bias_backward_cols");
  } else {
    bias_backward_chan_kernel<<<C, kChanThreads, 0, stream_of(ctx)>>>(dy, db, rows, C, inner < 0 ? 0 : inner, acc);
    DG_LAUNCH_CHECK(ctx, "bias_backward_chan");
  }
}

}  // namespace dg::cuda
