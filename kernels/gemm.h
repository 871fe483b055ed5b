// Row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C.
// CPU: OpenBLAS cblas_sgemm. CUDA: cuBLAS (operands swapped, since cuBLAS is column-major).
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

enum class Transpose { No, Yes };

// op(A) is M x K, op(B) is K x N, C is M x N, all row-major and densely packed
// (A stored M x K, or K x M when transposed; likewise B).
DG_DECLARE_OP(gemm,
              (Context & ctx, Transpose ta, Transpose tb, int M, int N, int K, float alpha, const float* A,
               const float* B, float beta, float* C),
              (ta, tb, M, N, K, alpha, A, B, beta, C))

}  // namespace dg
