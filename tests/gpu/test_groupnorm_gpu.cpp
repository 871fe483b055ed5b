// groupnorm on CUDA against the CPU reference (groups larger than one block's stride), and repeatability.
#include "kernels/groupnorm.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

TEST(GroupNormGpu, MatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int B = 5, C = 16, HW = 196, G = 4;
  const size_t n = size_t(B) * C * HW;
  const auto x = test::random_vec(n, 1, -2.0f, 3.0f), dy = test::random_vec(n, 2);
  const auto gamma = test::random_vec(size_t(C), 3, 0.5f, 1.5f), beta = test::random_vec(size_t(C), 4);
  std::vector<float> y(n), mean(size_t(B) * G), is(size_t(B) * G), dx(n), dg(size_t(C), 0.5f), db(size_t(C), 0.5f);
  groupnorm_forward(cpu, x.data(), gamma.data(), beta.data(), y.data(), mean.data(), is.data(), B, C, HW, G, 1e-5f);
  groupnorm_backward(cpu, x.data(), dy.data(), gamma.data(), mean.data(), is.data(), dx.data(), dg.data(), db.data(), B,
                     C, HW, G, Grad::Accumulate);
  Tensor gx = test::upload(gpu, x), gdy = test::upload(gpu, dy), ggam = test::upload(gpu, gamma),
         gbet = test::upload(gpu, beta);
  Tensor gy = Tensor::empty(gpu, {int64_t(n)}), gy2 = Tensor::empty(gpu, {int64_t(n)});
  Tensor gm = Tensor::empty(gpu, {B * G}), gs = Tensor::empty(gpu, {B * G}), gdx = Tensor::empty(gpu, {int64_t(n)});
  Tensor gdg = test::upload(gpu, std::vector<float>(size_t(C), 0.5f)), gdb = test::upload(gpu, std::vector<float>(size_t(C), 0.5f));
  groupnorm_forward(gpu, gx.f32(), ggam.f32(), gbet.f32(), gy.f32(), gm.f32(), gs.f32(), B, C, HW, G, 1e-5f);
  groupnorm_forward(gpu, gx.f32(), ggam.f32(), gbet.f32(), gy2.f32(), gm.f32(), gs.f32(), B, C, HW, G, 1e-5f);
  groupnorm_backward(gpu, gx.f32(), gdy.f32(), ggam.f32(), gm.f32(), gs.f32(), gdx.f32(), gdg.f32(), gdb.f32(), B, C,
                     HW, G, Grad::Accumulate);
  EXPECT_LT(test::rel_error(test::download(gpu, gy), y), 1e-5);
  EXPECT_EQ(test::download(gpu, gy), test::download(gpu, gy2));  // fixed-order sums
  EXPECT_LT(test::rel_error(test::download(gpu, gm), mean), 1e-5);
  EXPECT_LT(test::rel_error(test::download(gpu, gs), is), 1e-5);
  EXPECT_LT(test::rel_error(test::download(gpu, gdx), dx), 1e-4);
  EXPECT_LT(test::rel_error(test::download(gpu, gdg), dg), 1e-4);
  EXPECT_LT(test::rel_error(test::download(gpu, gdb), db), 1e-4);
}

}  // namespace
}  // namespace dg
