// cuBLAS GEMM against the OpenBLAS reference for every transpose combination, with beta accumulation.
#include "kernels/gemm.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

TEST(GemmGpu, MatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int M = 67, N = 45, K = 129;
  const auto A = test::random_vec(M * K, 1), B = test::random_vec(K * N, 2), C0 = test::random_vec(M * N, 3);
  for (Transpose ta : {Transpose::No, Transpose::Yes})
    for (Transpose tb : {Transpose::No, Transpose::Yes}) {
      std::vector<float> C = C0;
      gemm(cpu, ta, tb, M, N, K, 0.5f, A.data(), B.data(), 1.0f, C.data());
      Tensor gA = test::upload(gpu, A), gB = test::upload(gpu, B), gC = test::upload(gpu, C0);
      gemm(gpu, ta, tb, M, N, K, 0.5f, gA.f32(), gB.f32(), 1.0f, gC.f32());
      EXPECT_LT(test::rel_error(test::download(gpu, gC), C), 1e-5);
    }
}

}  // namespace
}  // namespace dg
