// Reparameterization on CUDA against the CPU reference: same Philox draws, so eps differs only by the
// device's logf / sinf / cosf rounding.
#include "kernels/reparam.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

TEST(ReparamGpu, MatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int n = 100003;
  const auto mu = test::random_vec(n, 1), logvar = test::random_vec(n, 2, -3.0f, 1.0f), dz = test::random_vec(n, 3);
  std::vector<float> eps(n), z(n), dmu(n), dlv(n);
  reparam_forward(cpu, mu.data(), logvar.data(), eps.data(), z.data(), n, 2024, 4096, 9);
  reparam_backward(cpu, logvar.data(), eps.data(), dz.data(), dmu.data(), dlv.data(), n);
  Tensor gmu = test::upload(gpu, mu), glv = test::upload(gpu, logvar), gdz = test::upload(gpu, dz);
  Tensor geps = Tensor::empty(gpu, {n}), gz = Tensor::empty(gpu, {n});
  Tensor gdmu = Tensor::empty(gpu, {n}), gdlv = Tensor::empty(gpu, {n});
  reparam_forward(gpu, gmu.f32(), glv.f32(), geps.f32(), gz.f32(), n, 2024, 4096, 9);
  reparam_backward(gpu, glv.f32(), geps.f32(), gdz.f32(), gdmu.f32(), gdlv.f32(), n);
  EXPECT_LT(test::rel_error(test::download(gpu, geps), eps), 1e-5);
  EXPECT_LT(test::rel_error(test::download(gpu, gz), z), 1e-5);
  EXPECT_EQ(test::download(gpu, gdmu), dz);
  EXPECT_LT(test::rel_error(test::download(gpu, gdlv), dlv), 1e-5);
}

}  // namespace
}  // namespace dg
