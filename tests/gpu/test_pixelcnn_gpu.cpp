// The PixelCNN prior's ops on CUDA against their CPU references (tap gathering, the gated activation with
// conditioning, code sampling), and the whole prior's forward and backward on both devices.
#include "kernels/pixelcnn.h"
#include "models/pixelcnn.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

TEST(PixelCnnGpu, OpsMatchCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int B = 33, H = 7, W = 7, C = 32, P = H * W;
  const TapList taps = PixelCnnPrior::vertical_taps(5, false);
  const auto x = test::random_vec(size_t(B) * P * C, 1);
  std::vector<float> cols(size_t(B) * P * taps.count * C), dx(x.size());
  tap_gather_forward(cpu, taps, x.data(), cols.data(), B, H, W, C);
  tap_gather_backward(cpu, taps, cols.data(), dx.data(), B, H, W, C);
  Tensor gx = test::upload(gpu, x), gcols = Tensor::empty(gpu, {int64_t(cols.size())}), gdx = Tensor::empty(gpu, {int64_t(x.size())});
  tap_gather_forward(gpu, taps, gx.f32(), gcols.f32(), B, H, W, C);
  tap_gather_backward(gpu, taps, gcols.f32(), gdx.f32(), B, H, W, C);
  EXPECT_EQ(test::download(gpu, gcols), cols);
  EXPECT_EQ(test::download(gpu, gdx), dx);  // the same taps in the same order
  const auto pre = test::random_vec(size_t(B) * P * 2 * C, 2, -3.0f, 3.0f), cond = test::random_vec(size_t(B) * 2 * C, 3);
  const auto dy = test::random_vec(size_t(B) * P * C, 4);
  std::vector<float> y(dy.size()), dpre(pre.size()), dcond(cond.size());
  gated_forward(cpu, pre.data(), cond.data(), y.data(), B, P, C);
  gated_backward(cpu, pre.data(), cond.data(), dy.data(), dpre.data(), dcond.data(), B, P, C);
  Tensor gpre = test::upload(gpu, pre), gcond = test::upload(gpu, cond), gdy = test::upload(gpu, dy);
  Tensor gy = Tensor::empty(gpu, {int64_t(y.size())}), gdpre = Tensor::empty(gpu, {int64_t(pre.size())});
  Tensor gdcond = Tensor::empty(gpu, {int64_t(cond.size())});
  gated_forward(gpu, gpre.f32(), gcond.f32(), gy.f32(), B, P, C);
  gated_backward(gpu, gpre.f32(), gcond.f32(), gdy.f32(), gdpre.f32(), gdcond.f32(), B, P, C);
  EXPECT_LT(test::rel_error(test::download(gpu, gy), y), 1e-5);
  EXPECT_LT(test::rel_error(test::download(gpu, gdpre), dpre), 1e-5);
  EXPECT_LT(test::rel_error(test::download(gpu, gdcond), dcond), 1e-5);
  // Sampling: the same draws (a probability within rounding of a CDF step could differ; allow one in B).
  const int K = 128;
  const auto logits = test::random_vec(size_t(B) * K, 5, -2.0f, 2.0f);
  std::vector<int32_t> codes(size_t(B) * P, 0);
  sample_codes(cpu, logits.data(), codes.data(), B, P, K, 17, 0.7f, 123, 1000);
  Tensor gl = test::upload(gpu, logits), gc = Tensor::zeros(gpu, {B * P}, DType::I32);
  sample_codes(gpu, gl.f32(), gc.as<int32_t>(), B, P, K, 17, 0.7f, 123, 1000);
  std::vector<int32_t> hc(codes.size());
  copy_to_host(gpu, hc.data(), gc.raw(), hc.size() * sizeof(int32_t));
  int differ = 0;
  for (size_t i = 0; i < hc.size(); ++i) differ += hc[i] != codes[i];
  EXPECT_LE(differ, 1);
}

TEST(PixelCnnGpu, PriorForwardBackwardMatchesCpu) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  PixelCnnSpec spec;
  spec.codes = 64;
  spec.conditional = true;
  ParamStore pc, pg;
  PixelCnnPrior prior_c(pc, "p/", spec), prior_g(pg, "p/", spec);
  pc.finalize(cpu, 3);
  pg.finalize(gpu, 3);
  const int B = 16, P = 49;
  std::vector<int32_t> codes(size_t(B) * P), labels(B);
  for (size_t i = 0; i < codes.size(); ++i) codes[i] = int32_t((i * 37) % 64);
  for (int b = 0; b < B; ++b) labels[size_t(b)] = b % 10;
  auto ints = [](Context& ctx, const std::vector<int32_t>& v) {
    Tensor t = Tensor::empty(ctx, {int64_t(v.size())}, DType::I32);
    copy_to_device(ctx, t.raw(), v.data(), v.size() * sizeof(int32_t));
    return t;
  };
  const auto dl = test::random_vec(size_t(B) * P * spec.codes, 9);
  pc.zero_grad(cpu);
  pg.zero_grad(gpu);
  const std::vector<float> lc = prior_c.forward(cpu, ints(cpu, codes), ints(cpu, labels)).to_host(cpu);
  const std::vector<float> lg = prior_g.forward(gpu, ints(gpu, codes), ints(gpu, labels)).to_host(gpu);
  EXPECT_LT(test::rel_error(lg, lc), 1e-4);
  prior_c.backward(cpu, Tensor::from_host(cpu, {B * P, spec.codes}, dl.data()));
  prior_g.backward(gpu, Tensor::from_host(gpu, {B * P, spec.codes}, dl.data()));
  EXPECT_LT(test::rel_error(pg.grads().to_host(gpu), pc.grads().to_host(cpu)), 1e-3);
}

}  // namespace
}  // namespace dg
