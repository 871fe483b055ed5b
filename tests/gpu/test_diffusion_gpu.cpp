// Diffusion ops on CUDA against the CPU reference: timestep embedding, forward noising (the same Philox draws), the
// fused sampling step with and without guidance, and the device-side step index.
#include "kernels/diffusion.h"
#include "models/diffusion_schedule.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

TEST(DiffusionGpu, OpsMatchCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int B = 37, D = 64, P = 784;
  std::vector<int32_t> t(static_cast<size_t>(B));
  for (int b = 0; b < B; ++b) t[size_t(b)] = (b * 97) % 1000;
  std::vector<float> emb(size_t(B) * D);
  timestep_embedding(cpu, t.data(), emb.data(), B, D);
  Tensor gt = test::upload_raw(gpu, t, DType::I32), gemb = Tensor::empty(gpu, {B, D});
  timestep_embedding(gpu, gt.as<int32_t>(), gemb.f32(), B, D);
  EXPECT_LT(test::rel_error(test::download(gpu, gemb), emb), 1e-4);

  const auto x = test::random_vec(size_t(B) * P, 1, 0.0f, 1.0f);
  const auto a = test::random_vec(size_t(B), 2, 0.0f, 1.0f), s = test::random_vec(size_t(B), 3, 0.0f, 1.0f);
  std::vector<float> eps(x.size()), xt(x.size());
  diffusion_noise(cpu, x.data(), a.data(), s.data(), eps.data(), xt.data(), B, P, 77, 5, 0);
  Tensor gx = test::upload(gpu, x), ga = test::upload(gpu, a), gs = test::upload(gpu, s);
  Tensor geps = Tensor::empty(gpu, {int64_t(x.size())}), gxt = Tensor::empty(gpu, {int64_t(x.size())});
  diffusion_noise(gpu, gx.f32(), ga.f32(), gs.f32(), geps.f32(), gxt.f32(), B, P, 77, 5, 0);
  EXPECT_LT(test::rel_error(test::download(gpu, geps), eps), 1e-5);
  EXPECT_LT(test::rel_error(test::download(gpu, gxt), xt), 1e-5);

  const SamplerPlan plan = ddim_plan(make_schedule("cosine", 1000), 50, 0.7);
  Tensor gcoef = test::upload(gpu, plan.coef), gts = test::upload_raw(gpu, plan.timesteps, DType::I32);
  for (bool guided : {false, true}) {
    const int N = 9;
    const auto x0 = test::random_vec(size_t(N) * P, 4, -1.5f, 1.5f), e = test::random_vec(size_t(2 * N) * P, 5);
    std::vector<float> xc = x0;
    const int32_t k = 20;
    diffusion_step(cpu, xc.data(), e.data(), N, P, guided, 1.8f, plan.coef.data(), plan.timesteps.data(), &k, 3, 100);
    Tensor gxs = test::upload(gpu, x0), ge = test::upload(gpu, e);
    Tensor gk = test::upload_raw(gpu, std::vector<int32_t>{k}, DType::I32);
    diffusion_step(gpu, gxs.f32(), ge.f32(), N, P, guided, 1.8f, gcoef.f32(), gts.as<int32_t>(), gk.as<int32_t>(), 3, 100);
    EXPECT_LT(test::rel_error(test::download(gpu, gxs), xc), 1e-5) << "guided " << guided;
    Tensor tt = Tensor::empty(gpu, {5}, DType::I32);
    diffusion_set_timesteps(gpu, gts.as<int32_t>(), gk.as<int32_t>(), tt.as<int32_t>(), 5);
    diffusion_advance_step(gpu, gk.as<int32_t>());
    std::vector<int32_t> th(5), kh(1);
    copy_to_host(gpu, th.data(), tt.raw(), 5 * sizeof(int32_t));
    copy_to_host(gpu, kh.data(), gk.raw(), sizeof(int32_t));
    EXPECT_EQ(th, std::vector<int32_t>(5, plan.timesteps[size_t(k)]));
    EXPECT_EQ(kh[0], k + 1);
  }
}

}  // namespace
}  // namespace dg
