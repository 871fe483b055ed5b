// Binarization on CUDA draws the same Philox numbers as the CPU reference: outputs equal bit for bit.
#include "kernels/binarize.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

TEST(BinarizeGpu, MatchesCpuReferenceExactly) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int n = 50001;
  const std::vector<float> x = test::random_vec(n, 5, 0.0f, 1.0f);
  std::vector<float> y(n);
  binarize(cpu, x.data(), y.data(), n, 11, 1000, 3);
  Tensor gx = test::upload(gpu, x), gy = Tensor::empty(gpu, {n});
  binarize(gpu, gx.f32(), gy.f32(), n, 11, 1000, 3);
  EXPECT_EQ(test::download(gpu, gy), y);
}

}  // namespace
}  // namespace dg
