// bce_logits_rows on CUDA against the CPU reference (rows longer than one block's stride, shared target rows),
// and repeatability.
#include "kernels/bce_rows.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

TEST(BceRowsGpu, MatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int B = 40, P = 784, repeat = 8;
  const auto logits = test::random_vec(size_t(B) * P, 1, -8.0f, 8.0f);
  const auto target = test::random_vec(size_t(B / repeat) * P, 2, 0.0f, 1.0f);
  std::vector<float> rows(B);
  bce_logits_rows(cpu, logits.data(), target.data(), rows.data(), B, P, repeat);
  Tensor gl = test::upload(gpu, logits), gt = test::upload(gpu, target);
  Tensor g1 = Tensor::empty(gpu, {B}), g2 = Tensor::empty(gpu, {B});
  bce_logits_rows(gpu, gl.f32(), gt.f32(), g1.f32(), B, P, repeat);
  bce_logits_rows(gpu, gl.f32(), gt.f32(), g2.f32(), B, P, repeat);
  EXPECT_LT(test::rel_error(test::download(gpu, g1), rows), 1e-5);
  EXPECT_EQ(test::download(gpu, g1), test::download(gpu, g2));
}

}  // namespace
}  // namespace dg
