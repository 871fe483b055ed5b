// CPU GEMM: row-major OpenBLAS cblas_sgemm, split into blocks of rows or columns that the worker pool
// (runtime/parallel.h) runs, each block one single-threaded sgemm. OpenBLAS's own threads stay off: they spin in
// sched_yield between GEMMs while the pool runs the elementwise kernels, and on 2 cores that took over a quarter of
// a DDPM training step. The blocks depend only on the matrix sizes, never on the thread count, so every element of C
// comes out of the same sgemm call whatever the thread count and the results are bit-identical.
#include <cblas.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/sgemm.h"
#include "kernels/gemm.h"
#include "runtime/parallel.h"

namespace dg::cpu {
namespace {

// Below this many multiply-adds a GEMM runs as one call: waking a thread costs more than the work.
constexpr int64_t kMinSplitWork = int64_t(1) << 17;
// The split aims at this many blocks of at least kMinBlock rows or columns (a multiple of the 16-float vector):
// enough for the 2-4 cores the CPU path runs on; every block repacks the other operand, so more blocks cost (16
// blocks made the 784-400-20 VAE 7% slower at batch 128 on 2 cores than 4 blocks).
constexpr int kTargetBlocks = 4;
constexpr int kMinBlock = 32;

int block_size(int dim) {
  const int per_block = (dim + kTargetBlocks - 1) / kTargetBlocks;
  return std::max(kMinBlock, (per_block + 15) / 16 * 16);
}

}  // namespace

void sgemm_one_call(Transpose ta, Transpose tb, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc) {
  // OpenBLAS runs every call on its caller's thread from the first GEMM on.
  static const bool single_threaded = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)single_threaded;
  cblas_sgemm(CblasRowMajor, ta == Transpose::No ? CblasNoTrans : CblasTrans,
              tb == Transpose::No ? CblasNoTrans : CblasTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm(Context&, Transpose ta, Transpose tb, int M, int N, int K, float alpha, const float* A, const float* B,
          float beta, float* C) {
  if (M == 0 || N == 0) return;
  // BLAS requires leading dimensions >= 1 even when K == 0.
  const int lda = std::max(1, ta == Transpose::No ? K : M);
  const int ldb = std::max(1, tb == Transpose::No ? N : K);
  const bool split_rows = M > N;
  const int dim = split_rows ? M : N, block = block_size(dim), blocks = (dim + block - 1) / block;
  if (int64_t(M) * N * std::max(K, 1) < kMinSplitWork || blocks < 2) {
    sgemm_one_call(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, N);
    return;
  }
  parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int lo = int(b) * block, n = std::min(block, dim - lo);
      if (split_rows) {
        // Rows lo.. of C and of op(A): A's rows when A is stored M x K, its columns when stored K x M.
        const float* a = ta == Transpose::No ? A + int64_t(lo) * lda : A + lo;
        sgemm_one_call(ta, tb, n, N, K, alpha, a, lda, B, ldb, beta, C + int64_t(lo) * N, N);
      } else {
        // Columns lo.. of C and of op(B): B's columns when B is stored K x N, its rows when stored N x K.
        const float* b_ptr = tb == Transpose::No ? B + lo : B + int64_t(lo) * ldb;
        sgemm_one_call(ta, tb, M, n, K, alpha, A, lda, b_ptr, ldb, beta, C + lo, N);
      }
    }
  });
}

}  // namespace dg::cpu
