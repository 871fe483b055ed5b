// CPU reference for the activations: the shared per-index bodies over the whole range (split over the CPU threads),
// instantiated once per activation so that the per-element switch folds away and the loops vectorise.
#include "kernels/activation.h"
#include "kernels/activation_body.h"
#include "runtime/parallel.h"

namespace dg::cpu {
namespace {

template <Activation A>
void forward_loop(float alpha, const float* x, float* y, int64_t n) {
  parallel_for(n, kElementwiseGrain, [=](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = activation_value(A, x[i], alpha);
  });
}

template <Activation A>
void backward_loop(float alpha, const float* x, const float* y, const float* dy, float* dx, int64_t n) {
  parallel_for(n, kElementwiseGrain, [=](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dx[i] = activation_grad(A, x[i], y ? y[i] : 0.0f, dy[i], alpha);
  });
}

}  // namespace

void activation_forward(Context&, Activation act, float alpha, const float* x, float* y, int64_t n) {
  switch (act) {
    case Activation::ReLU: return forward_loop<Activation::ReLU>(alpha, x, y, n);
    case Activation::LeakyReLU: return forward_loop<Activation::LeakyReLU>(alpha, x, y, n);
    case Activation::SiLU: return forward_loop<Activation::SiLU>(alpha, x, y, n);
    case Activation::Sigmoid: return forward_loop<Activation::Sigmoid>(alpha, x, y, n);
    case Activation::Tanh: return forward_loop<Activation::Tanh>(alpha, x, y, n);
    default: return forward_loop<Activation::Identity>(alpha, x, y, n);
  }
}

void activation_backward(Context&, Activation act, float alpha, const float* x, const float* y, const float* dy,
                         float* dx, int64_t n) {
  switch (act) {
    case Activation::ReLU: return backward_loop<Activation::ReLU>(alpha, x, y, dy, dx, n);
    case Activation::LeakyReLU: return backward_loop<Activation::LeakyReLU>(alpha, x, y, dy, dx, n);
    case Activation::SiLU: return backward_loop<Activation::SiLU>(alpha, x, y, dy, dx, n);
    case Activation::Sigmoid: return backward_loop<Activation::Sigmoid>(alpha, x, y, dy, dx, n);
    case Activation::Tanh: return backward_loop<Activation::Tanh>(alpha, x, y, dy, dx, n);
    default: return backward_loop<Activation::Identity>(alpha, x, y, dy, dx, n);
  }
}

}  // namespace dg::cpu
