// The run-time check that the CPU kernels with an AVX-512 path dispatch on: the build targets plain x86-64, so each
// such kernel is compiled with target("avx512f") and keeps a portable fallback.
#pragma once
#include <immintrin.h>

namespace dg::cpu {

inline bool cpu_has_avx512f() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}

}  // namespace dg::cpu
