// Nearest-neighbour upsampling on CUDA against the CPU reference.
#include "kernels/upsample.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

// Both sides sum each f x f block in the same order (shared body), so results agree to rounding at most.
constexpr double kTol = 1e-6;

TEST(UpsampleGpu, MatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int BC = 96, H = 7, W = 9, f = 2;
  const size_t n_in = size_t(BC) * H * W, n_out = n_in * f * f;
  const auto x = test::random_vec(n_in, 1), dy = test::random_vec(n_out, 2);
  std::vector<float> y(n_out), dx(n_in);
  upsample_nearest_forward(cpu, x.data(), y.data(), BC, H, W, f);
  upsample_nearest_backward(cpu, dy.data(), dx.data(), BC, H, W, f);
  Tensor gx = test::upload(gpu, x), gdy = test::upload(gpu, dy);
  Tensor gy = Tensor::empty(gpu, {int64_t(n_out)}), gdx = Tensor::empty(gpu, {int64_t(n_in)});
  upsample_nearest_forward(gpu, gx.f32(), gy.f32(), BC, H, W, f);
  upsample_nearest_backward(gpu, gdy.f32(), gdx.f32(), BC, H, W, f);
  EXPECT_EQ(test::download(gpu, gy), y);
  EXPECT_LT(test::rel_error(test::download(gpu, gdx), dx), kTol);
}

}  // namespace
}  // namespace dg
