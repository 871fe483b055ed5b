// GEMM against a naive triple loop, for every transpose combination, small (one BLAS call) and large enough to be
// split into row or column blocks over the worker pool, with alpha and beta.
#include <array>

#include "kernels/gemm.h"
#include "tests/test_util.h"

namespace dg {
namespace {

std::vector<float> naive(Transpose ta, Transpose tb, int M, int N, int K, const std::vector<float>& A,
                         const std::vector<float>& B) {
  std::vector<float> C(size_t(M) * N, 0.0f);
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double s = 0;
      for (int k = 0; k < K; ++k) {
        const float a = ta == Transpose::No ? A[size_t(i) * K + k] : A[size_t(k) * M + i];
        const float b = tb == Transpose::No ? B[size_t(k) * N + j] : B[size_t(j) * K + k];
        s += double(a) * b;
      }
      C[size_t(i) * N + j] = float(s);
    }
  return C;
}

TEST(Gemm, MatchesNaiveLoopForAllTransposes) {
  Context ctx(Device::CPU);
  const int M = 7, N = 5, K = 9;
  const auto A = test::random_vec(M * K, 1), B = test::random_vec(K * N, 2);
  for (Transpose ta : {Transpose::No, Transpose::Yes})
    for (Transpose tb : {Transpose::No, Transpose::Yes}) {
      std::vector<float> C(M * N, 1.0f);
      gemm(ctx, ta, tb, M, N, K, 1.0f, A.data(), B.data(), 0.0f, C.data());
      EXPECT_LT(test::rel_error(C, naive(ta, tb, M, N, K, A, B)), 1e-5);
    }
}

// Sizes the CPU GEMM splits: more rows than columns (row blocks), more columns (column blocks), neither a multiple
// of the block size; C starts non-zero so beta is exercised.
TEST(Gemm, SplitBlocksMatchNaiveLoopForAllTransposes) {
  Context ctx(Device::CPU);
  for (const auto& [M, N, K] : {std::array<int, 3>{301, 45, 37}, std::array<int, 3>{29, 517, 41}}) {
    const auto A = test::random_vec(M * K, 3), B = test::random_vec(K * N, 4), C0 = test::random_vec(M * N, 5);
    for (Transpose ta : {Transpose::No, Transpose::Yes})
      for (Transpose tb : {Transpose::No, Transpose::Yes}) {
        std::vector<float> C = C0;
        gemm(ctx, ta, tb, M, N, K, 0.5f, A.data(), B.data(), 2.0f, C.data());
        std::vector<float> want = naive(ta, tb, M, N, K, A, B);
        for (size_t i = 0; i < want.size(); ++i) want[i] = 0.5f * want[i] + 2.0f * C0[i];
        EXPECT_LT(test::rel_error(C, want), 1e-5) << M << "x" << N << "x" << K;
      }
  }
}

}  // namespace
}  // namespace dg
