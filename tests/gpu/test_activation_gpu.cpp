// Activations on CUDA against the CPU reference.
#include "kernels/activation.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

TEST(ActivationGpu, MatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int n = 100003;
  const std::vector<float> x = test::random_vec(n, 3, -4.0f, 4.0f), dy = test::random_vec(n, 4);
  for (Activation act : {Activation::ReLU, Activation::LeakyReLU, Activation::SiLU, Activation::Sigmoid,
                         Activation::Tanh}) {
    std::vector<float> y(n), dx(n);
    activation_forward(cpu, act, 0.2f, x.data(), y.data(), n);
    activation_backward(cpu, act, 0.2f, x.data(), y.data(), dy.data(), dx.data(), n);
    Tensor gx = test::upload(gpu, x), gdy = test::upload(gpu, dy);
    Tensor gy = Tensor::empty(gpu, {n}), gdx = Tensor::empty(gpu, {n});
    activation_forward(gpu, act, 0.2f, gx.f32(), gy.f32(), n);
    activation_backward(gpu, act, 0.2f, gx.f32(), gy.f32(), gdy.f32(), gdx.f32(), n);
    EXPECT_LT(test::rel_error(test::download(gpu, gy), y), 1e-5) << int(act);
    EXPECT_LT(test::rel_error(test::download(gpu, gdx), dx), 1e-5) << int(act);
  }
}

}  // namespace
}  // namespace dg
