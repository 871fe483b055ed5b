// Batch normalisation over NCHW tensors viewed as [B, C, HW] (vectors [B, C] are HW = 1): per-channel
// statistics over (B, H, W), training (batch statistics) and inference (running statistics) passes.
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

// Training forward. x, y: [B, C, HW]; gamma, beta: [C].
// Writes the batch mean and inv_std = 1 / sqrt(var + eps) (biased variance) per channel into mean, inv_std [C]
// for the backward pass, and y = gamma * (x - mean) * inv_std + beta.
// running_mean, running_var [C] (may both be null to skip the update): running = (1 - momentum) * running +
// momentum * batch statistic, with the unbiased variance (n / (n - 1) * var, n = B * HW; the biased one when
// n == 1, where the unbiased one is undefined; the layer refuses n == 1 in training as PyTorch does).
DG_DECLARE_OP(batchnorm_forward_train,
              (Context & ctx, const float* x, const float* gamma, const float* beta, float* y, float* mean,
               float* inv_std, float* running_mean, float* running_var, int B, int C, int HW, float eps,
               float momentum),
              (x, gamma, beta, y, mean, inv_std, running_mean, running_var, B, C, HW, eps, momentum))

// Inference forward: y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta. x and y may alias.
DG_DECLARE_OP(batchnorm_forward_infer,
              (Context & ctx, const float* x, const float* gamma, const float* beta, const float* running_mean,
               const float* running_var, float* y, int B, int C, int HW, float eps),
              (x, gamma, beta, running_mean, running_var, y, B, C, HW, eps))

// Training backward through the batch statistics (mean, inv_std as saved by the training forward).
// With xhat = (x - mean) * inv_std and n = B * HW:
//   dbeta (+)= sum dy, dgamma (+)= sum dy * xhat (parameter gradients, `mode`),
//   dx = gamma * inv_std / n * (n * dy - sum dy - xhat * sum dy * xhat) (overwritten; skipped when dx is null).
DG_DECLARE_OP(batchnorm_backward_train,
              (Context & ctx, const float* x, const float* dy, const float* gamma, const float* mean,
               const float* inv_std, float* dx, float* dgamma, float* dbeta, int B, int C, int HW, Grad mode),
              (x, dy, gamma, mean, inv_std, dx, dgamma, dbeta, B, C, HW, mode))

// Inference backward (the statistics are constants): with inv_std = 1 / sqrt(running_var + eps) and
// xhat = (x - running_mean) * inv_std: dx = dy * gamma * inv_std (overwritten; skipped when dx is null),
// dbeta (+)= sum dy, dgamma (+)= sum dy * xhat.
DG_DECLARE_OP(batchnorm_backward_infer,
              (Context & ctx, const float* x, const float* dy, const float* gamma, const float* running_mean,
               const float* running_var, float* dx, float* dgamma, float* dbeta, int B, int C, int HW, float eps,
               Grad mode),
              (x, dy, gamma, running_mean, running_var, dx, dgamma, dbeta, B, C, HW, eps, mode))

}  // namespace dg
