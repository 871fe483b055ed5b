// CUDA launchers for the activations (grid-stride over the shared per-index bodies).
#include "kernels/activation.h"
#include "kernels/activation_body.h"
#include "kernels/cuda_launch.cuh"

namespace dg::cuda {

void activation_forward(Context& ctx, Activation act, float alpha, const float* x, float* y, int64_t n) {
  cuda_detail::for_each_index(ctx, "activation_forward", n, ActivationForwardBody{act, alpha, x, y});
}

void activation_backward(Context& ctx, Activation act, float alpha, const float* x, const float* y, const float* dy,
                         float* dx, int64_t n) {
  cuda_detail::for_each_index(ctx, "activation_backward", n, ActivationBackwardBody{act, alpha, x, y, dy, dx});
}

}  // namespace dg::cuda
