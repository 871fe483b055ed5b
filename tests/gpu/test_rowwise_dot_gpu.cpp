// rowwise_dot on CUDA against the CPU reference (a row longer than one block's stride), and repeatability.
#include "kernels/rowwise_dot.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

TEST(RowwiseDotGpu, MatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int B = 67, D = 6272;
  const auto a = test::random_vec(size_t(B) * D, 1), c = test::random_vec(size_t(B) * D, 2);
  const auto dy = test::random_vec(size_t(B), 3);
  std::vector<float> y(B), da(a.size()), dc(c.size());
  rowwise_dot_forward(cpu, a.data(), c.data(), y.data(), B, D);
  rowwise_dot_backward(cpu, dy.data(), a.data(), c.data(), da.data(), dc.data(), B, D, Grad::Overwrite);
  Tensor ga = test::upload(gpu, a), gc = test::upload(gpu, c), gdy = test::upload(gpu, dy);
  Tensor gy = Tensor::empty(gpu, {B}), gy2 = Tensor::empty(gpu, {B});
  Tensor gda = Tensor::empty(gpu, {B, D}), gdc = Tensor::empty(gpu, {B, D});
  rowwise_dot_forward(gpu, ga.f32(), gc.f32(), gy.f32(), B, D);
  rowwise_dot_forward(gpu, ga.f32(), gc.f32(), gy2.f32(), B, D);
  rowwise_dot_backward(gpu, gdy.f32(), ga.f32(), gc.f32(), gda.f32(), gdc.f32(), B, D, Grad::Overwrite);
  EXPECT_LT(test::rel_error(test::download(gpu, gy), y), 1e-4);
  EXPECT_EQ(test::download(gpu, gy), test::download(gpu, gy2));  // fixed-order sums
  EXPECT_LT(test::rel_error(test::download(gpu, gda), da), 1e-6);
  EXPECT_LT(test::rel_error(test::download(gpu, gdc), dc), 1e-6);
}

}  // namespace
}  // namespace dg
