// CUDA GEMM through cuBLAS. Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T,
// so the operands are passed swapped and nothing is transposed in memory.
#include <algorithm>

#include "kernels/gemm.h"
#include "runtime/cuda_check.h"

namespace dg::cuda {

void gemm(Context& ctx, Transpose ta, Transpose tb, int M, int N, int K, float alpha, const float* A, const float* B,
          float beta, float* C) {
  if (M == 0 || N == 0) return;
  // BLAS requires leading dimensions >= 1 even when K == 0.
  const int lda = std::max(1, ta == Transpose::No ? K : M);
  const int ldb = std::max(1, tb == Transpose::No ? N : K);
  DG_CUBLAS_CHECK(cublasSgemm(cublas_of(ctx), tb == Transpose::No ? CUBLAS_OP_N : CUBLAS_OP_T,
                              ta == Transpose::No ? CUBLAS_OP_N : CUBLAS_OP_T, N, M, K, &alpha, B, ldb, A, lda, &beta,
                              C, N));
  if (ctx.sync_debug()) DG_CUDA_CHECK(cudaStreamSynchronize(stream_of(ctx)));
}

}  // namespace dg::cuda
