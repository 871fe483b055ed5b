// Spectral normalisation by power iteration: W [rows, cols] (a conv weight [out, in, k, k] is rows = out,
// cols = in * k * k) divided by its largest singular value, estimated with persistent vectors u [rows], v [cols].
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"
#include "runtime/tensor.h"

namespace dg {

// n_iter times: v = normalize(W^T u), u = normalize(W v) (normalize(a) = a / max(|a|, 1e-12), as PyTorch);
// then sigma = u^T W v, W_sn = W / sigma. u and v are updated in place (they are state, saved in checkpoints);
// n_iter = 0 uses them as they are (evaluation). sigma is one float in device memory. W_sn must not alias W.
DG_DECLARE_OP(spectral_norm_forward,
              (Context & ctx, const float* W, float* u, float* v, float* W_sn, float* sigma, int rows, int cols,
               int n_iter),
              (W, u, v, W_sn, sigma, rows, cols, n_iter))

// Gradient with respect to W, u and v held constant (the standard approach):
// dW (+)= (dW_sn - sum(dW_sn * W_sn) * u v^T) / sigma, with u, v, sigma, W_sn from the forward pass.
DG_DECLARE_OP(spectral_norm_backward,
              (Context & ctx, const float* dW_sn, const float* W_sn, const float* u, const float* v, const float* sigma,
               float* dW, int rows, int cols, Grad mode),
              (dW_sn, W_sn, u, v, sigma, dW, rows, cols, mode))

// The power-iteration vectors of one normalised weight; model state, not parameters.
struct SpectralNormState {
  Tensor u;  // [rows]
  Tensor v;  // [cols]
};

// u, v drawn N(0, 1) from Philox(seed, kPurposeSpectralInit, index = j for u[j] and rows + j for v[j],
// step = weight_id) and normalised, on the host, so CPU and GPU start identical. weight_id separates the
// weights of one model (use the weight's parameter tensor index).
SpectralNormState spectral_norm_init(Context& ctx, int rows, int cols, uint64_t seed, uint32_t weight_id);

}  // namespace dg
