// CUDA launchers for spectral normalisation: matrix-vector products through dg::cuda::gemm (cuBLAS), the
// vector normalisations and sigma in single-block fixed-order sums, and sum(dW_sn * W_sn) in two fixed-order
// passes, so results repeat bit for bit without atomics.
#include <algorithm>

#include "kernels/block_reduce.cuh"
#include "kernels/cuda_launch.cuh"
#include "kernels/gemm.h"
#include "kernels/spectral_norm.h"
#include "kernels/spectral_norm_body.h"

namespace dg::cuda {
namespace {

using cuda_detail::kThreads;
// Cap on first-pass blocks of the backward sum: enough to fill the GPU, few enough for one block to add.
constexpr int kMaxPartials = 1024;

// u and v have one entry per row or column of a weight (at most a few thousand floats): one block is plenty
// for their norms and for sigma's dot product.
__global__ void normalize_kernel(float* a, int n) {
  __shared__ float scratch[kThreads];
  float ss = 0.0f;
  for (int i = threadIdx.x; i < n; i += kThreads) ss += a[i] * a[i];
  const float d = spectral_norm_denominator(sqrtf(cuda_detail::block_sum<kThreads>(ss, scratch)));
  for (int i = threadIdx.x; i < n; i += kThreads) a[i] /= d;
}

__global__ void dot_kernel(const float* a, const float* b, int n, float* out) {
  __shared__ float scratch[kThreads];
  float s = 0.0f;
  for (int i = threadIdx.x; i < n; i += kThreads) s += a[i] * b[i];
  const float total = cuda_detail::block_sum<kThreads>(s, scratch);
  if (threadIdx.x == 0) *out = total;
}

__global__ void product_partials_kernel(const float* a, const float* b, int64_t n, float* partials) {
  __shared__ float scratch[kThreads];
  float s = 0.0f;
  for (int64_t i = int64_t(blockIdx.x) * kThreads + threadIdx.x; i < n; i += int64_t(gridDim.x) * kThreads)
    s += a[i] * b[i];
  const float total = cuda_detail::block_sum<kThreads>(s, scratch);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

void normalize(Context& ctx, float* a, int n) {
  normalize_kernel<<<1, kThreads, 0, stream_of(ctx)>>>(a, n);
  DG_LAUNCH_CHECK(ctx, "spectral_norm_normalize");
}

}  // namespace

void spectral_norm_forward(Context& ctx, const float* W, float* u, float* v, float* W_sn, float* sigma, int rows,
                           int cols, int n_iter) {
  if (rows <= 0 || cols <= 0) return;
  for (int it = 0; it < n_iter; ++it) {
    cuda::gemm(ctx, Transpose::Yes, Transpose::No, cols, 1, rows, 1.0f, W, u, 0.0f, v);
    normalize(ctx, v, cols);
    cuda::gemm(ctx, Transpose::No, Transpose::No, rows, 1, cols, 1.0f, W, v, 0.0f, u);
    normalize(ctx, u, rows);
  }
  // Returned to the pool when this function ends; safe because later users of the block queue on this stream.
  Block tmp = ctx.pool().allocate(size_t(rows) * sizeof(float));
  float* wv = static_cast<float*>(tmp.get());
  cuda::gemm(ctx, Transpose::No, Transpose::No, rows, 1, cols, 1.0f, W, v, 0.0f, wv);
  dot_kernel<<<1, kThreads, 0, stream_of(ctx)>>>(u, wv, rows, sigma);
  DG_LAUNCH_CHECK(ctx, "spectral_norm_sigma");
  cuda_detail::for_each_index(ctx, "spectral_norm_scale", int64_t(rows) * cols, SpectralScaleBody{W, sigma, W_sn});
}

void spectral_norm_backward(Context& ctx, const float* dW_sn, const float* W_sn, const float* u, const float* v,
                            const float* sigma, float* dW, int rows, int cols, Grad mode) {
  const int64_t n = int64_t(rows) * cols;
  if (n <= 0) return;
  // The partial count depends only on n, so the summation order (and the bits) depend only on the shape.
  const int blocks = std::min(cuda_detail::blocks_for(n), kMaxPartials);
  Block tmp = ctx.pool().allocate(size_t(blocks + 1) * sizeof(float));
  float* partials = static_cast<float*>(tmp.get());
  float* s = partials + blocks;
  product_partials_kernel<<<blocks, kThreads, 0, stream_of(ctx)>>>(dW_sn, W_sn, n, partials);
  DG_LAUNCH_CHECK(ctx, "spectral_norm_backward_partials");
  cuda_detail::sum_partials_kernel<kThreads><<<1, kThreads, 0, stream_of(ctx)>>>(partials, blocks, 1.0f, s);
  DG_LAUNCH_CHECK(ctx, "spectral_norm_backward_sum");
  cuda_detail::for_each_index(ctx, "spectral_norm_backward", n,
                              SpectralBackwardBody{dW_sn, u, v, sigma, s, dW, cols, mode == Grad::Accumulate});
}

}  // namespace dg::cuda
