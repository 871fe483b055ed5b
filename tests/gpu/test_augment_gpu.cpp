// random_shift on CUDA draws the same offsets as the CPU reference: outputs equal bit for bit.
#include "kernels/augment.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

TEST(RandomShiftGpu, MatchesCpuReferenceExactly) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int B = 300, H = 28, W = 28;
  const std::vector<float> x = test::random_vec(size_t(B) * H * W, 2, 0.0f, 1.0f);
  std::vector<float> y(x.size());
  random_shift(cpu, x.data(), y.data(), B, H, W, 2, 9, 100, 7);
  Tensor gx = test::upload(gpu, x), gy = Tensor::empty(gpu, {int64_t(x.size())});
  random_shift(gpu, gx.f32(), gy.f32(), B, H, W, 2, 9, 100, 7);
  EXPECT_EQ(test::download(gpu, gy), y);
}

}  // namespace
}  // namespace dg
