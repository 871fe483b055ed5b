// Elementwise math shared by both backends: activations and their derivatives, the Adam update,
// the reparameterization step, numerically stable losses. Compiled for host and device, so CPU tests
// exercise the very code the GPU runs.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/hd.h"

namespace dg {

enum class Activation : int { Identity = 0, ReLU, LeakyReLU, SiLU, Sigmoid, Tanh };

// 1 / (1 + e^-x) without overflow: one exponential of -|x|, in (0, 1].
DG_HD float sigmoidf_stable(float x) {
  const float e = expf(-fabsf(x));
  return (x >= 0.0f ? 1.0f : e) / (1.0f + e);
}

// y = f(x); `alpha` is LeakyReLU's negative slope.
DG_HD float activation_value(Activation a, float x, float alpha) {
  switch (a) {
    case Activation::ReLU: return x > 0.0f ? x : 0.0f;
    case Activation::LeakyReLU: return x > 0.0f ? x : alpha * x;
    case Activation::SiLU: return x * sigmoidf_stable(x);
    case Activation::Sigmoid: return sigmoidf_stable(x);
    case Activation::Tanh: return tanhf(x);
    default: return x;
  }
}

// dL/dx given x, y = f(x) and dL/dy.
DG_HD float activation_grad(Activation a, float x, float y, float dy, float alpha) {
  switch (a) {
    case Activation::ReLU: return x > 0.0f ? dy : 0.0f;
    case Activation::LeakyReLU: return x > 0.0f ? dy : alpha * dy;
    case Activation::SiLU: {
      const float s = sigmoidf_stable(x);
      return dy * (s + x * s * (1.0f - s));
    }
    case Activation::Sigmoid: return dy * y * (1.0f - y);
    case Activation::Tanh: return dy * (1.0f - y * y);
    default: return dy;
  }
}

struct AdamConfig {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;  // decoupled (AdamW): p -= lr * wd * p
};

// One Adam step for one parameter; `step` counts from 1. Bias corrections are passed in precomputed
// (1 - beta^step), so the kernel does not evaluate pow per element.
DG_HD void adam_update(float* p, float g, float* m, float* v, const AdamConfig& c, float bias1, float bias2) {
  *m = c.beta1 * *m + (1.0f - c.beta1) * g;
  *v = c.beta2 * *v + (1.0f - c.beta2) * g * g;
  const float mhat = *m / bias1;
  const float vhat = *v / bias2;
  *p -= c.lr * (mhat / (sqrtf(vhat) + c.eps) + c.weight_decay * *p);
}

// z = mu + sigma * eps with sigma = exp(logvar / 2).
DG_HD float reparam_value(float mu, float logvar, float eps) { return mu + expf(0.5f * logvar) * eps; }
// d z / d logvar = 0.5 * sigma * eps
DG_HD float reparam_dlogvar(float logvar, float eps) { return 0.5f * expf(0.5f * logvar) * eps; }

// Per-element KL(N(mu, sigma^2) || N(0, 1)) = -0.5 * (1 + logvar - mu^2 - exp(logvar)).
DG_HD float gaussian_kl_value(float mu, float logvar) { return -0.5f * (1.0f + logvar - mu * mu - expf(logvar)); }

// Binary cross-entropy with logits, stable for any x: max(x,0) - x*t + log(1 + exp(-|x|)).
DG_HD float bce_logits_value(float x, float t) { return fmaxf(x, 0.0f) - x * t + log1pf(expf(-fabsf(x))); }
DG_HD float bce_logits_grad(float x, float t) { return sigmoidf_stable(x) - t; }
// Both at once from one exponential e = exp(-|x|): sigmoid(x) is 1/(1+e) for x >= 0 and e/(1+e) below.
DG_HD float bce_logits_value_grad(float x, float t, float* grad) {
  const float e = expf(-fabsf(x));
  const float inv = 1.0f / (1.0f + e);
  *grad = (x >= 0.0f ? inv : e * inv) - t;
  return (x > 0.0f ? x : 0.0f) - x * t + log1pf(e);
}

}  // namespace dg
