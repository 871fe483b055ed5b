// One single-threaded OpenBLAS call, row-major, with explicit leading dimensions: what kernels/cpu/gemm.cpp runs
// per block and what the convolutions run per image inside their own worker-pool pieces.
#pragma once
#include "kernels/gemm.h"

namespace dg::cpu {

// C [M, N] (rows ldc apart) = alpha * op(A) * op(B) + beta * C on the calling thread.
void sgemm_one_call(Transpose ta, Transpose tb, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc);

}  // namespace dg::cpu
