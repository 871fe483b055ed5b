// CUDA launchers for group normalisation: one block per (sample, group) for the statistics and the input gradient,
// one block per channel for the parameter gradients; every sum is a fixed-order block tree (no atomics), so
// results repeat bit for bit.
#include "kernels/block_reduce.cuh"
#include "kernels/cuda_launch.cuh"
#include "kernels/groupnorm.h"
#include "kernels/groupnorm_body.h"

namespace dg::cuda {
namespace {

constexpr int kGnThreads = 256;

__global__ void gn_forward_kernel(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                                  float* inv_std, int C, int HW, int G, float eps) {
  __shared__ float scratch[kGnThreads];
  const int bg = blockIdx.x, g = bg % G, cg = C / G;
  const int64_t n = int64_t(cg) * HW;
  const int64_t base = (int64_t(bg / G) * C + int64_t(g) * cg) * HW;
  float s = 0.0f;
  for (int64_t k = threadIdx.x; k < n; k += kGnThreads) s += x[base + k];
  const float mu = cuda_detail::block_sum<kGnThreads>(s, scratch) / float(n);
  float sq = 0.0f;
  for (int64_t k = threadIdx.x; k < n; k += kGnThreads) {
    const float d = x[base + k] - mu;
    sq += d * d;
  }
  const float is = gn_inv_std(cuda_detail::block_sum<kGnThreads>(sq, scratch) / float(n), eps);
  for (int64_t k = threadIdx.x; k < n; k += kGnThreads) {
    const int c = g * cg + int(k / HW);
    y[base + k] = gn_affine(x[base + k], mu, is, gamma[c], beta[c]);
  }
  if (threadIdx.x == 0) {
    mean[bg] = mu;
    inv_std[bg] = is;
  }
}

__global__ void gn_dx_kernel(const float* x, const float* dy, const float* gamma, const float* mean,
                             const float* inv_std, float* dx, int C, int HW, int G) {
  __shared__ float scratch[kGnThreads];
  const int bg = blockIdx.x, g = bg % G, cg = C / G;
  const int64_t n = int64_t(cg) * HW;
  const int64_t base = (int64_t(bg / G) * C + int64_t(g) * cg) * HW;
  const float m = mean[bg], is = inv_std[bg];
  float sg = 0.0f, sgx = 0.0f;
  for (int64_t k = threadIdx.x; k < n; k += kGnThreads) {
    const float gv = gamma[g * cg + int(k / HW)] * dy[base + k];
    sg += gv;
    sgx += gv * ((x[base + k] - m) * is);
  }
  const float mg = cuda_detail::block_sum<kGnThreads>(sg, scratch) / float(n);
  const float mgx = cuda_detail::block_sum<kGnThreads>(sgx, scratch) / float(n);
  for (int64_t k = threadIdx.x; k < n; k += kGnThreads)
    dx[base + k] = gn_dx(gamma[g * cg + int(k / HW)] * dy[base + k], (x[base + k] - m) * is, is, mg, mgx);
}

__global__ void gn_param_grad_kernel(const float* x, const float* dy, const float* mean, const float* inv_std,
                                     float* dgamma, float* dbeta, int B, int C, int HW, int G, bool accumulate) {
  __shared__ float scratch[kGnThreads];
  const int c = blockIdx.x, g = c / (C / G);
  const int64_t n = int64_t(B) * HW;
  float sdy = 0.0f, sdyx = 0.0f;
  for (int64_t k = threadIdx.x; k < n; k += kGnThreads) {
    const int b = int(k / HW);
    const int64_t o = (int64_t(b) * C + c) * HW + (k - int64_t(b) * HW);
    sdy += dy[o];
    sdyx += dy[o] * ((x[o] - mean[b * G + g]) * inv_std[b * G + g]);
  }
  sdy = cuda_detail::block_sum<kGnThreads>(sdy, scratch);
  sdyx = cuda_detail::block_sum<kGnThreads>(sdyx, scratch);
  if (threadIdx.x == 0) {
    if (dgamma) dgamma[c] = accumulate ? dgamma[c] + sdyx : sdyx;
    if (dbeta) dbeta[c] = accumulate ? dbeta[c] + sdy : sdy;
  }
}

}  // namespace

void groupnorm_forward(Context& ctx, const float* x, const float* gamma, const float* beta, float* y, float* mean,
                       float* inv_std, int B, int C, int HW, int G, float eps) {
  if (B <= 0) return;
  gn_forward_kernel<<<B * G, kGnThreads, 0, stream_of(ctx)>>>(x, gamma, beta, y, mean, inv_std, C, HW, G, eps);
  DG_LAUNCH_CHECK(ctx, "groupnorm_forward");
}

void groupnorm_backward(Context& ctx, const float* x, const float* dy, const float* gamma, const float* mean,
                        const float* inv_std, float* dx, float* dgamma, float* dbeta, int B, int C, int HW, int G,
                        Grad mode) {
  if (B <= 0) return;
  if (dgamma || dbeta) {
    gn_param_grad_kernel<<<C, kGnThreads, 0, stream_of(ctx)>>>(x, dy, mean, inv_std, dgamma, dbeta, B, C, HW, G,
                                                               mode == Grad::Accumulate);
    DG_LAUNCH_CHECK(ctx, "groupnorm_backward/params");
  }
  if (dx) {
    gn_dx_kernel<<<B * G, kGnThreads, 0, stream_of(ctx)>>>(x, dy, gamma, mean, inv_std, dx, C, HW, G);
    DG_LAUNCH_CHECK(ctx, "groupnorm_backward/dx");
  }
}

}  // namespace dg::cuda
