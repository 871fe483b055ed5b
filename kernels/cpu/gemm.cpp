// CPU GEMM: row-major OpenBLAS cblas_sgemm.
#include <cblas.h>

#include <algorithm>

#include "kernels/gemm.h"

namespace dg::cpu {

void gemm(Context&, Transpose ta, Transpose tb, int M, int N, int K, float alpha, const float* A, const float* B,
          float beta, float* C) {
  if (M == 0 || N == 0) return;
  // BLAS requires leading dimensions >= 1 even when K == 0.
  const int lda = std::max(1, ta == Transpose::No ? K : M);
  const int ldb = std::max(1, tb == Transpose::No ? N : K);
  cblas_sgemm(CblasRowMajor, ta == Transpose::No ? CblasNoTrans : CblasTrans,
              tb == Transpose::No ? CblasNoTrans : CblasTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, N);
}

}  // namespace dg::cpu
