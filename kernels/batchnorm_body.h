// Per-element and per-channel batch-norm math shared by the CPU reference and the CUDA kernels, so both
// backends normalise, update running statistics and form gradients with the same float expressions.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/hd.h"

namespace dg {

DG_HD float bn_inv_std(float var, float eps) { return 1.0f / sqrtf(var + eps); }

// (x - mean) * inv_std first, then the affine map: keeps the cancellation in x - mean, not in a folded shift.
DG_HD float bn_affine(float x, float mean, float inv_std, float gamma, float beta) {
  return gamma * ((x - mean) * inv_std) + beta;
}

DG_HD float bn_running(float running, float batch_stat, float momentum) {
  return (1.0f - momentum) * running + momentum * batch_stat;
}

// Unbiased variance from the biased one; n == 1 has none, so the biased value (0) is kept there.
DG_HD float bn_unbiased(float biased_var, int64_t n) {
  return n > 1 ? biased_var * (float(n) / float(n - 1)) : biased_var;
}

// Training dx in the mean form (dy - mean dy - xhat * mean(dy * xhat)): the per-channel means are small
// numbers of the same size as dy, so float loses less than in n * dy - sum dy.
DG_HD float bn_train_dx(float dy, float xhat, float gamma_inv_std, float mean_dy, float mean_dy_xhat) {
  return gamma_inv_std * (dy - mean_dy - xhat * mean_dy_xhat);
}

// y[b, c, i] for the inference pass, by flat index into [B, C, HW].
struct BatchNormInferBody {
  const float* x; const float* gamma; const float* beta; const float* mean; const float* var; float* y;
  int C; int HW; float eps;
  DG_HD void operator()(int64_t i) const {
    const int c = int((i / HW) % C);
    y[i] = bn_affine(x[i], mean[c], bn_inv_std(var[c], eps), gamma[c], beta[c]);
  }
};

}  // namespace dg
