// What the CPU kernels with an AVX-512 path share: the run-time check they dispatch on (the build targets plain
// x86-64, so each such kernel is compiled with target("avx512f") and keeps a portable fallback), the mask for a
// vector's tail, and 16-lane exp, sigmoid and tanh written for these paths. The functions have no slow path for any
// input (glibc's vector expf falls back to scalar code below -87, which saturated activations reach) and are
// within a few float ulps of the libm functions.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace dg::cpu {

inline bool cpu_has_avx512f() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}

// Lanes [0, min(n, 16)) of a vector whose first element is `n` elements before the end.
inline __mmask16 tail_mask(int64_t n) { return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1u); }

namespace avx512 {

// The all-lanes mask. The zero-masked forms of max, roundscale and scalef below are the plain instructions; GCC 12's
// unmasked forms pass _mm512_undefined_ps() through and trip -Wmaybe-uninitialized in its own headers.
constexpr __mmask16 kAll = 0xFFFF;

// a = n ln2 + r with |r| <= ln2 / 2 (ln2 in two parts, so r is exact to float precision); a clamped at -104, where
// e^a is below the smallest float.
struct ExpParts {
  __m512 n, r;
};
__attribute__((target("avx512f"))) inline ExpParts exp_reduce(__m512 a) {
  a = _mm512_maskz_max_ps(kAll, a, _mm512_set1_ps(-104.0f));
  const __m512 n = _mm512_maskz_roundscale_ps(kAll, _mm512_mul_ps(a, _mm512_set1_ps(1.44269504f)),
                                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), a);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  return {n, r};
}

// q(r) with e^r - 1 = r * q(r) for |r| <= ln2 / 2: the Taylor polynomial of degree 7 (truncation below 1e-8
// relative) less its constant term, divided by r, so that r * q keeps full relative precision near 0.
__attribute__((target("avx512f"))) inline __m512 expm1_quotient(__m512 r) {
  __m512 q = _mm512_set1_ps(1.0f / 5040.0f);
  for (float c : {1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f, 1.0f})
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(c));
  return q;
}

// e^a for a <= 0: 2^n * (1 + r q(r)) by scalef, which underflows gradually to 0.
__attribute__((target("avx512f"))) inline __m512 exp_nonpositive(__m512 a) {
  const ExpParts e = exp_reduce(a);
  return _mm512_maskz_scalef_ps(kAll, _mm512_fmadd_ps(expm1_quotient(e.r), e.r, _mm512_set1_ps(1.0f)), e.n);
}

// e^a - 1 for a <= 0, accurate near 0 (where n = 0 it is r q(r) itself).
__attribute__((target("avx512f"))) inline __m512 expm1_nonpositive(__m512 a) {
  const ExpParts e = exp_reduce(a);
  const __m512 q = _mm512_mul_ps(expm1_quotient(e.r), e.r), one = _mm512_set1_ps(1.0f);
  const __m512 scaled = _mm512_sub_ps(_mm512_maskz_scalef_ps(kAll, _mm512_add_ps(one, q), e.n), one);
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(e.n, _mm512_setzero_ps(), _CMP_EQ_OQ), scaled, q);
}

// 1 / (1 + e^-x) from one e^-|x|, the expression of sigmoidf_stable (kernels/elementwise_math.h).
__attribute__((target("avx512f"))) inline __m512 sigmoid(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 e = exp_nonpositive(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(x)));
  const __mmask16 nonneg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ);
  return _mm512_div_ps(_mm512_mask_blend_ps(nonneg, e, one), _mm512_add_ps(one, e));
}

// tanh x = sign(x) * -m / (2 + m) with m = e^(-2|x|) - 1, so small |x| keeps its relative precision.
__attribute__((target("avx512f"))) inline __m512 tanh(__m512 x) {
  const __m512 ax = _mm512_abs_ps(x);
  const __m512 m = expm1_nonpositive(_mm512_mul_ps(_mm512_set1_ps(-2.0f), ax));
  const __m512 t = _mm512_div_ps(_mm512_sub_ps(_mm512_setzero_ps(), m), _mm512_add_ps(_mm512_set1_ps(2.0f), m));
  const __m512i sign = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(int(0x80000000u)));
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(t), sign));
}

}  // namespace avx512
}  // namespace dg::cpu
