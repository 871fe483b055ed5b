// Per-index bodies of the activation kernels, shared by the CUDA launcher and the CPU reference.
#pragma once
#include <cstdint>

#include "kernels/elementwise_math.h"

namespace dg {

struct ActivationForwardBody {
  Activation act; float alpha; const float* x; float* y;
  DG_HD void operator()(int64_t i) const { y[i] = activation_value(act, x[i], alpha); }
};

struct ActivationBackwardBody {
  Activation act; float alpha; const float* x; const float* y; const float* dy; float* dx;
  DG_HD void operator()(int64_t i) const { dx[i] = activation_grad(act, x[i], y ? y[i] : 0.0f, dy[i], alpha); }
};

}  // namespace dg
