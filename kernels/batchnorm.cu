// CUDA launchers for batch normalisation: one block per channel strides over that channel's B * HW elements
// and tree-sums in a fixed order (no atomics), so statistics and parameter gradients repeat bit for bit.
#include "kernels/batchnorm.h"
#include "kernels/batchnorm_body.h"
#include "kernels/block_reduce.cuh"
#include "kernels/cuda_launch.cuh"

namespace dg::cuda {
namespace {

constexpr int kChanThreads = 256;

// Offset of the k-th element (k in [0, B * HW)) of channel c in [B, C, HW].
__device__ __forceinline__ int64_t chan_offset(int64_t k, int C, int HW, int c) {
  const int64_t b = k / HW;
  return (b * C + c) * HW + (k - b * HW);
}

// Two passes over the channel (mean, then the centred sum of squares) rather than one pass of sum and sum of
// squares: the latter cancels catastrophically in float when |mean| >> std.
__global__ void bn_forward_train_kernel(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                                        float* inv_std, float* running_mean, float* running_var, int B, int C, int HW,
                                        float eps, float momentum) {
  __shared__ float scratch[kChanThreads];
  const int c = blockIdx.x;
  const int64_t n = int64_t(B) * HW;
  float s = 0.0f;
  for (int64_t k = threadIdx.x; k < n; k += kChanThreads) s += x[chan_offset(k, C, HW, c)];
  const float mu = cuda_detail::block_sum<kChanThreads>(s, scratch) / float(n);
  float sq = 0.0f;
  for (int64_t k = threadIdx.x; k < n; k += kChanThreads) {
    const float d = x[chan_offset(k, C, HW, c)] - mu;
    sq += d * d;
  }
  const float var = cuda_detail::block_sum<kChanThreads>(sq, scratch) / float(n);
  const float is = bn_inv_std(var, eps);
  const float g = gamma[c], bt = beta[c];
  for (int64_t k = threadIdx.x; k < n; k += kChanThreads) {
    const int64_t o = chan_offset(k, C, HW, c);
    y[o] = bn_affine(x[o], mu, is, g, bt);
  }
  if (threadIdx.x == 0) {
    mean[c] = mu;
    inv_std[c] = is;
    if (running_mean && running_var) {
      running_mean[c] = bn_running(running_mean[c], mu, momentum);
      running_var[c] = bn_running(running_var[c], bn_unbiased(var, n), momentum);
    }
  }
}

// Both backward passes: the sums of dy and dy * xhat give the parameter gradients; dx goes through the batch
// statistics in training (kTrain) and is a plain scaling in inference. In inference `stat_mean` is the running
// mean and `stat_b` the running variance; in training they are the saved mean and inv_std.
template <bool kTrain>
__global__ void bn_backward_kernel(const float* x, const float* dy, const float* gamma, const float* stat_mean,
                                   const float* stat_b, float* dx, float* dgamma, float* dbeta, int B, int C, int HW,
                                   float eps, bool accumulate) {
  __shared__ float scratch[kChanThreads];
  const int c = blockIdx.x;
  const int64_t n = int64_t(B) * HW;
  const float mu = stat_mean[c];
  const float is = kTrain ? stat_b[c] : bn_inv_std(stat_b[c], eps);
  float sdy = 0.0f, sdyx = 0.0f;
  for (int64_t k = threadIdx.x; k < n; k += kChanThreads) {
    const int64_t o = chan_offset(k, C, HW, c);
    sdy += dy[o];
    sdyx += dy[o] * ((x[o] - mu) * is);
  }
  sdy = cuda_detail::block_sum<kChanThreads>(sdy, scratch);
  sdyx = cuda_detail::block_sum<kChanThreads>(sdyx, scratch);
  if (dx) {
    const float gi = gamma[c] * is;
    const float mdy = sdy / float(n), mdyx = sdyx / float(n);
    for (int64_t k = threadIdx.x; k < n; k += kChanThreads) {
      const int64_t o = chan_offset(k, C, HW, c);
      dx[o] = kTrain ? bn_train_dx(dy[o], (x[o] - mu) * is, gi, mdy, mdyx) : dy[o] * gi;
    }
  }
  if (threadIdx.x == 0) {
    if (dgamma) dgamma[c] = (accumulate ? dgamma[c] : 0.0f) + sdyx;
    if (dbeta) dbeta[c] = (accumulate ? dbeta[c] : 0.0f) + sdy;
  }
}

}  // namespace

void batchnorm_forward_train(Context& ctx, const float* x, const float* gamma, const float* beta, float* y, float* mean,
                             float* inv_std, float* running_mean, float* running_var, int B, int C, int HW, float eps,
                             float momentum) {
  if (C <= 0 || int64_t(B) * HW <= 0) return;
  bn_forward_train_kernel<<<C, kChanThreads, 0, stream_of(ctx)>>>(x, gamma, beta, y, mean, inv_std, running_mean,
                                                                  running_var, B, C, HW, eps, momentum);
  DG_LAUNCH_CHECK(ctx, "batchnorm_forward_train");
}

void batchnorm_forward_infer(Context& ctx, const float* x, const float* gamma, const float* beta,
                             const float* running_mean, const float* running_var, float* y, int B, int C, int HW,
                             float eps) {
  if (C <= 0 || HW <= 0) return;
  cuda_detail::for_each_index(ctx, "batchnorm_forward_infer", int64_t(B) * C * HW,
                              BatchNormInferBody{x, gamma, beta, running_mean, running_var, y, C, HW, eps});
}

void batchnorm_backward_train(Context& ctx, const float* x, const float* dy, const float* gamma, const float* mean,
                              const float* inv_std, float* dx, float* dgamma, float* dbeta, int B, int C, int HW,
                              Grad mode) {
  if (C <= 0 || int64_t(B) * HW <= 0) return;
  bn_backward_kernel<true><<<C, kChanThreads, 0, stream_of(ctx)>>>(x, dy, gamma, mean, inv_std, dx, dgamma, dbeta, B,
                                                                   C, HW, 0.0f, mode == Grad::Accumulate);
  DG_LAUNCH_CHECK(ctx, "batchnorm_backward_train");
}

void batchnorm_backward_infer(Context& ctx, const float* x, const float* dy, const float* gamma,
                              const float* running_mean, const float* running_var, float* dx, float* dgamma,
                              float* dbeta, int B, int C, int HW, float eps, Grad mode) {
  if (C <= 0 || HW <= 0 || B < 0) return;
  bn_backward_kernel<false><<<C, kChanThreads, 0, stream_of(ctx)>>>(x, dy, gamma, running_mean, running_var, dx,
                                                                    dgamma, dbeta, B, C, HW, eps,
                                                                    mode == Grad::Accumulate);
  DG_LAUNCH_CHECK(ctx, "batchnorm_backward_infer");
}

}  // namespace dg::cuda
