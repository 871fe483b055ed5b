// Per-index body of the Adam step and the host-side bias corrections, shared by the CUDA launcher and the CPU
// reference so both apply the very same float update.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/elementwise_math.h"

namespace dg {

// 1 - beta^step, in double on the host: pow once per step instead of per element, and no float underflow
// drift for large step counts.
inline float adam_bias_correction(float beta, int64_t step) {
  return float(1.0 - std::pow(double(beta), double(step)));
}

struct AdamBody {
  float* params; const float* grads; float* m; float* v; AdamConfig cfg; float bias1; float bias2;
  DG_HD void operator()(int64_t i) const { adam_update(&params[i], grads[i], &m[i], &v[i], cfg, bias1, bias2); }
};

}  // namespace dg
