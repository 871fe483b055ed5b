// What the CPU kernels with an AVX-512 path share: the run-time check they dispatch on (the build targets plain
// x86-64, so each such kernel is compiled with target("avx512f") and has a portable fallback), and the 16-lane
// expf of glibc's vector math library (libmvec, linked through libm), which every lane of a vector path calls, so
// a result never depends on where the worker pool splits a range.
#pragma once
#include <immintrin.h>

extern "C" __m512 _ZGVeN16v_expf(__m512 x);

namespace dg::cpu {

inline bool cpu_has_avx512f() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}

}  // namespace dg::cpu
