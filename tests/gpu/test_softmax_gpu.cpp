// Row softmax on CUDA against the CPU reference (the attention's 49-wide rows), forward and backward.
#include "kernels/softmax.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

TEST(SoftmaxGpu, MatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int64_t R = 3 * 49;
  const int D = 49;
  const auto x = test::random_vec(size_t(R) * D, 1, -5.0f, 5.0f), dy = test::random_vec(size_t(R) * D, 2);
  std::vector<float> y(x.size()), dx(x.size());
  softmax_rows_forward(cpu, x.data(), y.data(), R, D, 0.25f);
  softmax_rows_backward(cpu, y.data(), dy.data(), dx.data(), R, D, 0.25f);
  Tensor gx = test::upload(gpu, x), gdy = test::upload(gpu, dy);
  Tensor gy = Tensor::empty(gpu, {int64_t(x.size())}), gdx = Tensor::empty(gpu, {int64_t(x.size())});
  softmax_rows_forward(gpu, gx.f32(), gy.f32(), R, D, 0.25f);
  softmax_rows_backward(gpu, gy.f32(), gdy.f32(), gdx.f32(), R, D, 0.25f);
  EXPECT_LT(test::rel_error(test::download(gpu, gy), y), 1e-5);
  EXPECT_LT(test::rel_error(test::download(gpu, gdx), dx), 1e-5);
}

}  // namespace
}  // namespace dg
