// CUDA launchers for the losses. Sums are two-pass and fixed-order (per-block partials into a pool temporary,
// then one block adds the partials), so a loss repeats bit for bit without float atomics.
#include <algorithm>
#include <cfloat>

#include "kernels/block_reduce.cuh"
#include "kernels/cuda_launch.cuh"
#include "kernels/loss.h"
#include "kernels/loss_body.h"

namespace dg::cuda {
namespace {

using cuda_detail::kThreads;
// Cap on first-pass blocks: enough to fill the GPU, few enough that one block adds the partials quickly.
constexpr int kMaxPartials = 1024;
constexpr int kWarpsPerBlock = kThreads / 32;

template <typename Term>
__global__ void loss_partials_kernel(int64_t n, Term term, float* partials) {
  __shared__ float scratch[kThreads];
  float s = 0.0f;
  for (int64_t i = int64_t(blockIdx.x) * kThreads + threadIdx.x; i < n; i += int64_t(gridDim.x) * kThreads)
    s += term(i);
  const float total = cuda_detail::block_sum<kThreads>(s, scratch);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

void zero_scalar(Context& ctx, float* p) {
  if (p) DG_CUDA_CHECK(cudaMemsetAsync(p, 0, sizeof(float), stream_of(ctx)));
}

// loss = scale * sum_i term(i); the term writes the gradients as a side effect.
template <typename Term>
void reduce_terms(Context& ctx, const char* name, int64_t n, const Term& term, float scale, float* loss) {
  if (n <= 0) return zero_scalar(ctx, loss);
  const int blocks = std::min(cuda_detail::blocks_for(n), kMaxPartials);
  // Returned to the pool when this function ends; safe because later users of the block queue on this stream.
  Block tmp = ctx.pool().allocate(size_t(blocks) * sizeof(float));
  float* partials = static_cast<float*>(tmp.get());
  loss_partials_kernel<<<blocks, kThreads, 0, stream_of(ctx)>>>(n, term, partials);
  DG_LAUNCH_CHECK(ctx, name);
  cuda_detail::sum_partials_kernel<kThreads><<<1, kThreads, 0, stream_of(ctx)>>>(partials, blocks, scale, loss);
  DG_LAUNCH_CHECK(ctx, "loss_sum_partials");
}

// One warp per row: max (first index on ties) and log-sum-exp by warp butterflies, then the gradient.
// Writes the row's unscaled loss and 1/0 for argmax == label; a label outside [0, C) gives a NaN loss,
// since a kernel cannot throw (the CPU reference rejects it).
__global__ void softmax_xent_rows_kernel(const float* logits, const int32_t* labels, float* dlogits, int B, int C,
                                         float scale, float* row_loss, float* row_correct) {
  const int lane = threadIdx.x & 31;
  for (int row = blockIdx.x * kWarpsPerBlock + (threadIdx.x >> 5); row < B; row += gridDim.x * kWarpsPerBlock) {
    const float* x = logits + int64_t(row) * C;
    float best = -FLT_MAX;
    int arg = C;  // sentinel, loses every tie against a real index
    for (int c = lane; c < C; c += 32)
      if (x[c] > best || arg == C) { best = x[c]; arg = c; }
    for (int off = 16; off > 0; off >>= 1) {
      const float ob = __shfl_xor_sync(0xffffffffu, best, off);
      const int oa = __shfl_xor_sync(0xffffffffu, arg, off);
      if (oa != C && (arg == C || ob > best || (ob == best && oa < arg))) { best = ob; arg = oa; }
    }
    float s = 0.0f;
    for (int c = lane; c < C; c += 32) s += expf(x[c] - best);
    s = cuda_detail::warp_sum(s);
    const int label = labels[row];
    const bool valid = label >= 0 && label < C;
    if (dlogits) {
      float* g = dlogits + int64_t(row) * C;
      for (int c = lane; c < C; c += 32) g[c] = scale * (expf(x[c] - best) / s - (c == label ? 1.0f : 0.0f));
    }
    if (lane == 0) {
      row_loss[row] = valid ? (best - x[label]) + logf(s) : __int_as_float(0x7fc00000);  // small terms last
      row_correct[row] = valid && arg == label ? 1.0f : 0.0f;
    }
  }
}

}  // namespace

void mse_loss(Context& ctx, const float* pred, const float* target, float* loss, float* dpred, int64_t n,
              float scale) {
  reduce_terms(ctx, "mse_loss", n, MseTerm{pred, target, dpred, scale}, scale, loss);
}

void bce_logits_loss(Context& ctx, const float* logits, const float* target, float* loss, float* dlogits, int64_t n,
                     float scale) {
  reduce_terms(ctx, "bce_logits_loss", n, BceLogitsTerm{logits, target, dlogits, scale}, scale, loss);
}

void hinge_loss(Context& ctx, const float* logits, float* loss, float* dlogits, int64_t n, float sign, float scale) {
  reduce_terms(ctx, "hinge_loss", n, HingeTerm{logits, dlogits, sign, scale}, scale, loss);
}

void softmax_xent_loss(Context& ctx, const float* logits, const int32_t* labels, float* loss, float* dlogits,
                       float* correct, int B, int C, float scale) {
  if (B <= 0) {
    zero_scalar(ctx, loss);
    zero_scalar(ctx, correct);
    return;
  }
  DG_REQUIRE(C > 0, "softmax_xent_loss: needs at least one class, got C = ", C);
  Block tmp = ctx.pool().allocate(2 * size_t(B) * sizeof(float));
  float* row_loss = static_cast<float*>(tmp.get());
  float* row_correct = row_loss + B;
  const int blocks = std::min((B + kWarpsPerBlock - 1) / kWarpsPerBlock, 65535);
  softmax_xent_rows_kernel<<<blocks, kThreads, 0, stream_of(ctx)>>>(logits, labels, dlogits, B, C, scale, row_loss,
                                                                    row_correct);
  DG_LAUNCH_CHECK(ctx, "softmax_xent_rows");
  cuda_detail::sum_partials_kernel<kThreads><<<1, kThreads, 0, stream_of(ctx)>>>(row_loss, B, scale, loss);
  DG_LAUNCH_CHECK(ctx, "softmax_xent_sum_loss");
  if (correct) {
    cuda_detail::sum_partials_kernel<kThreads><<<1, kThreads, 0, stream_of(ctx)>>>(row_correct, B, 1.0f, correct);
    DG_LAUNCH_CHECK(ctx, "softmax_xent_sum_correct");
  }
}

void gaussian_kl_loss(Context& ctx, const float* mu, const float* logvar, float* loss, float* dmu, float* dlogvar,
                      int64_t n, float scale, Grad mode) {
  reduce_terms(ctx, "gaussian_kl_loss", n, GaussianKlTerm{mu, logvar, dmu, dlogvar, scale, mode == Grad::Accumulate},
               scale, loss);
}

}  // namespace dg::cuda
