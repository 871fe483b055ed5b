// Dropout on CUDA against the CPU reference: the Philox mask is integer arithmetic, so results match exactly.
#include "kernels/dropout.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

TEST(DropoutGpu, MatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int n = 100003;
  const auto x = test::random_vec(n, 1), dy = test::random_vec(n, 2);
  for (float p : {0.0f, 0.1f, 0.5f}) {
    std::vector<float> y(n), dx(n);
    dropout_forward(cpu, x.data(), y.data(), n, p, 77, 5);
    dropout_backward(cpu, dy.data(), dx.data(), n, p, 77, 5);
    Tensor gx = test::upload(gpu, x), gdy = test::upload(gpu, dy);
    Tensor gy = Tensor::empty(gpu, {n}), gdx = Tensor::empty(gpu, {n});
    dropout_forward(gpu, gx.f32(), gy.f32(), n, p, 77, 5);
    dropout_backward(gpu, gdy.f32(), gdx.f32(), n, p, 77, 5);
    EXPECT_EQ(test::download(gpu, gy), y) << p;
    EXPECT_EQ(test::download(gpu, gdx), dx) << p;
  }
}

}  // namespace
}  // namespace dg
