// CPU reference for the activations: the shared per-index bodies over the whole range (split over the CPU threads),
// instantiated once per activation so that the per-element switch folds away and the loops vectorise. SiLU, the
// U-Net's activation, has an AVX-512 path with its own exponential where the CPU has it.
#include "kernels/activation.h"
#include "kernels/activation_body.h"
#include "kernels/cpu/avx512.h"
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

// e^a for 16 lanes of a <= 0: a = n ln2 + r with |r| <= ln2 / 2 (ln2 in two parts, so r is exact to float
// precision), e^r by its Taylor polynomial of degree 7 (truncation below 1e-8 relative), times 2^n by scalef, which
// underflows gradually to 0: no lane needs a slow path (glibc's vector expf takes one for a < -87, which saturated
// activations reach).
__attribute__((target("avx512f"))) __m512 exp_nonpositive16(__m512 a) {
  a = _mm512_max_ps(a, _mm512_set1_ps(-104.0f));  // e^-104 is below the smallest float
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(a, _mm512_set1_ps(1.44269504f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), a);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
  for (float c : {1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f, 1.0f, 1.0f})
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
  return _mm512_scalef_ps(p, n);
}

// SiLU on AVX-512: s = sigmoid(x) from one exp(-|x|), the same expression as sigmoidf_stable; the tail of the
// range goes through a masked vector, so every element is computed the same way whatever the pool's split.
__attribute__((target("avx512f"))) __m512 sigmoid16(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 e = exp_nonpositive16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(x)));
  const __mmask16 nonneg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ);
  return _mm512_div_ps(_mm512_mask_blend_ps(nonneg, e, one), _mm512_add_ps(one, e));
}

__attribute__((target("avx512f"))) void silu_forward_avx512(const float* x, float* y, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; i += 16) {
    const __mmask16 m = e - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (e - i)) - 1);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(v, sigmoid16(v)));
  }
}

// dx = dy * (s + x * s * (1 - s)).
__attribute__((target("avx512f"))) void silu_backward_avx512(const float* x, const float* dy, float* dx, int64_t b,
                                                             int64_t e) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = b; i < e; i += 16) {
    const __mmask16 m = e - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (e - i)) - 1);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i), g = _mm512_maskz_loadu_ps(m, dy + i);
    const __m512 s = sigmoid16(v);
    const __m512 d = _mm512_fmadd_ps(_mm512_mul_ps(v, s), _mm512_sub_ps(one, s), s);
    _mm512_mask_storeu_ps(dx + i, m, _mm512_mul_ps(g, d));
  }
}

template <>
void forward_loop<Activation::SiLU>(float alpha, const float* x, float* y, int64_t n) {
  if (!cpu_has_avx512f()) {
    parallel_for(n, kElementwiseGrain, [=](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) y[i] = activation_value(Activation::SiLU, x[i], alpha);
    });
    return;
  }
  parallel_for(n, kElementwiseGrain, [=](int64_t b, int64_t e) { silu_forward_avx512(x, y, b, e); });
}

template <>
void backward_loop<Activation::SiLU>(float alpha, const float* x, const float* y, const float* dy, float* dx,
                                     int64_t n) {
  if (!cpu_has_avx512f()) {
    parallel_for(n, kElementwiseGrain, [=](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) dx[i] = activation_grad(Activation::SiLU, x[i], 0.0f, dy[i], alpha);
    });
    return;
  }
  parallel_for(n, kElementwiseGrain, [=](int64_t b, int64_t e) { silu_backward_avx512(x, dy, dx, b, e); });
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
