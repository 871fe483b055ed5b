// Losses, each computing the summed loss and its gradient in one pass (the gradient of `scale * sum`):
// MSE, binary cross-entropy with logits, softmax cross-entropy, Gaussian KL against N(0, I), the GAN hinge loss.
// `loss` is one float in device memory (overwritten); reductions are deterministic (no float atomics).
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

// loss = scale * sum (pred - target)^2; dpred = scale * 2 (pred - target) (overwritten; may be null).
DG_DECLARE_OP(mse_loss, (Context & ctx, const float* pred, const float* target, float* loss, float* dpred, int64_t n, float scale),
              (pred, target, loss, dpred, n, scale))
// loss = scale * sum bce_logits_value(x, t); dx = scale * (sigmoid(x) - t) (overwritten; may be null).
DG_DECLARE_OP(bce_logits_loss,
              (Context & ctx, const float* logits, const float* target, float* loss, float* dlogits, int64_t n, float scale),
              (logits, target, loss, dlogits, n, scale))
// logits [B, C], labels [B] in 0..C-1. loss = scale * sum_b -log softmax(logits_b)[label_b];
// dlogits = scale * (softmax - onehot) (overwritten; may be null); correct (may be null) = number of rows
// whose argmax (first maximum on ties) equals the label, as a float. A label outside [0, C) throws on the
// CPU and gives a NaN loss on the GPU (a kernel cannot throw).
DG_DECLARE_OP(softmax_xent_loss,
              (Context & ctx, const float* logits, const int32_t* labels, float* loss, float* dlogits, float* correct,
               int B, int C, float scale),
              (logits, labels, loss, dlogits, correct, B, C, scale))
// loss = scale * sum gaussian_kl_value(mu, logvar); dmu, dlogvar get scale * d/d(.) added or written per `mode`
// (either may be null).
DG_DECLARE_OP(gaussian_kl_loss,
              (Context & ctx, const float* mu, const float* logvar, float* loss, float* dmu, float* dlogvar, int64_t n,
               float scale, Grad mode),
              (mu, logvar, loss, dmu, dlogvar, n, scale, mode))

// GAN hinge loss on discriminator logits: loss = scale * sum relu(1 - sign * x) with sign = +1 for real images and
// -1 for generated ones; dx = -scale * sign where 1 - sign * x > 0, else 0 (overwritten; may be null).
DG_DECLARE_OP(hinge_loss, (Context & ctx, const float* logits, float* loss, float* dlogits, int64_t n, float sign, float scale),
              (logits, loss, dlogits, n, sign, scale))

}  // namespace dg
