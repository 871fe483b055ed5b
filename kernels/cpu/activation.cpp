// CPU reference for the activations: the shared per-index bodies over the whole range (split over the CPU threads),
// instantiated once per activation so that the per-element switch folds away and the loops vectorise. SiLU, the
// U-Net's activation, has an AVX-512 path with its own exponential where the CPU has it.
#include "kernels/activation.h"
#include "kernels/activation_body.h"
#include "kernels/cpu/avx512.h"
#include "runtime/parallel.h"

namespace dg::cpu {
namespace {

// SiLU on AVX-512: y = x * avx512::sigmoid(x), the tail of the range through a masked vector, so every element is
// computed the same way whatever the pool's split.
__attribute__((target("avx512f"))) void silu_forward_avx512(const float* x, float* y, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; i += 16) {
    const __mmask16 m = tail_mask(e - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(v, avx512::sigmoid(v)));
  }
}

// dx = dy * (s + x * s * (1 - s)).
__attribute__((target("avx512f"))) void silu_backward_avx512(const float* x, const float* dy, float* dx, int64_t b,
                                                             int64_t e) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = b; i < e; i += 16) {
    const __mmask16 m = tail_mask(e - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i), g = _mm512_maskz_loadu_ps(m, dy + i);
    const __m512 s = avx512::sigmoid(v);
    const __m512 d = _mm512_fmadd_ps(_mm512_mul_ps(v, s), _mm512_sub_ps(one, s), s);
    _mm512_mask_storeu_ps(dx + i, m, _mm512_mul_ps(g, d));
  }
}

template <Activation A>
void forward_loop(float alpha, const float* x, float* y, int64_t n) {
  if (A == Activation::SiLU && cpu_has_avx512f()) {
    parallel_for(n, kElementwiseGrain, [=](int64_t b, int64_t e) { silu_forward_avx512(x, y, b, e); });
    return;
  }
  parallel_for(n, kElementwiseGrain, [=](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = activation_value(A, x[i], alpha);
  });
}

template <Activation A>
void backward_loop(float alpha, const float* x, const float* y, const float* dy, float* dx, int64_t n) {
  if (A == Activation::SiLU && cpu_has_avx512f()) {
    parallel_for(n, kElementwiseGrain, [=](int64_t b, int64_t e) { silu_backward_avx512(x, dy, dx, b, e); });
    return;
  }
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
