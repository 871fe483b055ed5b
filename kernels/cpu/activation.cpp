// CPU reference for the activations: the shared per-index bodies run over the whole range.
#include "kernels/activation.h"
#include "kernels/activation_body.h"

namespace dg::cpu {

void activation_forward(Context&, Activation act, float alpha, const float* x, float* y, int64_t n) {
  const ActivationForwardBody body{act, alpha, x, y};
  for (int64_t i = 0; i < n; ++i) body(i);
}

void activation_backward(Context&, Activation act, float alpha, const float* x, const float* y, const float* dy,
                         float* dx, int64_t n) {
  const ActivationBackwardBody body{act, alpha, x, y, dy, dx};
  for (int64_t i = 0; i < n; ++i) body(i);
}

}  // namespace dg::cpu
