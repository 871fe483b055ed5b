// Elementwise activations (ReLU, LeakyReLU, SiLU, Sigmoid, Tanh), forward and backward.
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"
#include "kernels/elementwise_math.h"

namespace dg {

// y[i] = f(x[i]); x and y may alias.
DG_DECLARE_OP(activation_forward, (Context & ctx, Activation act, float alpha, const float* x, float* y, int64_t n),
              (act, alpha, x, y, n))
// dx[i] = f'(x[i]) * dy[i] (overwrites dx); y is the forward output (Sigmoid and Tanh use it).
DG_DECLARE_OP(activation_backward,
              (Context & ctx, Activation act, float alpha, const float* x, const float* y, const float* dy, float* dx,
               int64_t n),
              (act, alpha, x, y, dy, dx, n))

}  // namespace dg
