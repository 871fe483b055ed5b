// Per-element loss terms shared by the CUDA launchers and the CPU reference: each returns the element's
// unscaled loss and writes its scaled gradient (when the gradient pointer is set). The backends differ only
// in how they add the returned values up.
#pragma once
#include <cstdint>

#include "kernels/elementwise_math.h"

namespace dg {

struct MseTerm {
  const float* pred; const float* target; float* dpred; float scale;
  DG_HD float operator()(int64_t i) const {
    const float d = pred[i] - target[i];
    if (dpred) dpred[i] = scale * 2.0f * d;
    return d * d;
  }
};

struct BceLogitsTerm {
  const float* logits; const float* target; float* dlogits; float scale;
  DG_HD float operator()(int64_t i) const {
    float g;
    const float v = bce_logits_value_grad(logits[i], target[i], &g);
    if (dlogits) dlogits[i] = scale * g;
    return v;
  }
};

// d/dmu = mu, d/dlogvar = (exp(logvar) - 1) / 2; parameter-side gradients, hence the accumulate option.
struct GaussianKlTerm {
  const float* mu; const float* logvar; float* dmu; float* dlogvar; float scale; bool accumulate;
  DG_HD float operator()(int64_t i) const {
    const float m = mu[i], lv = logvar[i];
    if (dmu) {
      const float g = scale * m;
      dmu[i] = accumulate ? dmu[i] + g : g;
    }
    if (dlogvar) {
      const float g = scale * 0.5f * (expf(lv) - 1.0f);
      dlogvar[i] = accumulate ? dlogvar[i] + g : g;
    }
    return gaussian_kl_value(m, lv);
  }
};

// relu(1 - sign * x); the subgradient at the kink is 0.
struct HingeTerm {
  const float* logits; float* dlogits; float sign; float scale;
  DG_HD float operator()(int64_t i) const {
    const float m = 1.0f - sign * logits[i];
    if (dlogits) dlogits[i] = m > 0.0f ? -scale * sign : 0.0f;
    return m > 0.0f ? m : 0.0f;
  }
};

}  // namespace dg
