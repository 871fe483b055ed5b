// Adam on CUDA against the CPU reference over several steps, with weight decay.
#include "kernels/adam.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

TEST(AdamGpu, MatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int n = 100003;
  AdamConfig cfg;
  cfg.lr = 1e-2f;
  cfg.weight_decay = 0.01f;
  std::vector<float> p = test::random_vec(n, 1), m(n, 0.0f), v(n, 0.0f);
  Tensor gp = test::upload(gpu, p), gm = Tensor::zeros(gpu, {n}), gv = Tensor::zeros(gpu, {n});
  for (int64_t step = 1; step <= 3; ++step) {
    const auto g = test::random_vec(n, uint32_t(10 + step), -2.0f, 2.0f);
    adam_step(cpu, p.data(), g.data(), m.data(), v.data(), n, cfg, step);
    Tensor gg = test::upload(gpu, g);
    adam_step(gpu, gp.f32(), gg.f32(), gm.f32(), gv.f32(), n, cfg, step);
  }
  // Same float operations on both sides; only contraction into FMA and sqrt rounding may differ.
  EXPECT_LT(test::rel_error(test::download(gpu, gp), p), 1e-5);
  EXPECT_LT(test::rel_error(test::download(gpu, gm), m), 1e-5);
  EXPECT_LT(test::rel_error(test::download(gpu, gv), v), 1e-5);
}

}  // namespace
}  // namespace dg
