// Losses on CUDA against the CPU reference: values (float partial sums against double), gradients, null
// gradient pointers, the softmax correct count, KL accumulate, and bitwise repeatability of the reductions.
#include "kernels/loss.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

float scalar(Context& gpu, const Tensor& t) { return test::download(gpu, t)[0]; }

// Float sums of ~1e5 positive terms in a tree: relative error well under 1e-5 against the double sum.
constexpr double kLossTol = 1e-5, kGradTol = 1e-5;

TEST(LossGpu, MseAndBceMatchCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int n = 100003;
  const float scale = 1.0f / 128;
  const auto x = test::random_vec(n, 1, -5.0f, 5.0f), t = test::random_vec(n, 2, 0.0f, 1.0f);
  Tensor gx = test::upload(gpu, x), gt = test::upload(gpu, t);
  Tensor gl = Tensor::empty(gpu, {1}), gl2 = Tensor::empty(gpu, {1}), gd = Tensor::empty(gpu, {n});
  for (int which = 0; which < 2; ++which) {
    float loss;
    std::vector<float> d(n);
    auto op = [&](Context& ctx, const float* a, const float* b, float* l, float* g) {
      if (which == 0) mse_loss(ctx, a, b, l, g, n, scale);
      else bce_logits_loss(ctx, a, b, l, g, n, scale);
    };
    op(cpu, x.data(), t.data(), &loss, d.data());
    op(gpu, gx.f32(), gt.f32(), gl.f32(), gd.f32());
    EXPECT_LT(test::rel_error({scalar(gpu, gl)}, {loss}), kLossTol) << which;
    EXPECT_LT(test::rel_error(test::download(gpu, gd), d), kGradTol) << which;
    op(gpu, gx.f32(), gt.f32(), gl2.f32(), nullptr);
    EXPECT_EQ(scalar(gpu, gl2), scalar(gpu, gl)) << which;  // fixed-order sum: same bits every time
  }
  // An empty input sums to zero.
  mse_loss(gpu, gx.f32(), gt.f32(), gl.f32(), nullptr, 0, 1.0f);
  EXPECT_EQ(scalar(gpu, gl), 0.0f);
}

TEST(LossGpu, SoftmaxXentMatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  for (int C : {10, 37}) {
    const int B = 1000;
    auto x = test::random_vec(size_t(B) * C, 3, -6.0f, 6.0f);
    std::vector<int32_t> labels(B);
    for (int b = 0; b < B; ++b) labels[b] = (b * 31 + 7) % C;
    for (int b = 0; b < B; b += 5) x[size_t(b) * C + labels[b]] = 10.0f;  // some rows are right
    for (int b = 1; b < B; b += 50) x[size_t(b) * C] = x[size_t(b) * C + 1] = 20.0f;  // ties: first max wins
    float loss, correct;
    std::vector<float> d(x.size());
    softmax_xent_loss(cpu, x.data(), labels.data(), &loss, d.data(), &correct, B, C, 0.01f);
    Tensor gx = test::upload(gpu, x), glab = test::upload_raw(gpu, labels, DType::I32);
    Tensor gl = Tensor::empty(gpu, {1}), gc = Tensor::empty(gpu, {1}), gd = Tensor::empty(gpu, {int64_t(x.size())});
    softmax_xent_loss(gpu, gx.f32(), glab.as<int32_t>(), gl.f32(), gd.f32(), gc.f32(), B, C, 0.01f);
    EXPECT_LT(test::rel_error({scalar(gpu, gl)}, {loss}), kLossTol) << C;
    EXPECT_EQ(scalar(gpu, gc), correct) << C;
    EXPECT_GT(correct, 0.0f);
    EXPECT_LT(test::rel_error(test::download(gpu, gd), d), kGradTol) << C;
    Tensor gl2 = Tensor::empty(gpu, {1});
    softmax_xent_loss(gpu, gx.f32(), glab.as<int32_t>(), gl2.f32(), nullptr, nullptr, B, C, 0.01f);
    EXPECT_EQ(scalar(gpu, gl2), scalar(gpu, gl)) << C;
  }
}

TEST(LossGpu, GaussianKlMatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int n = 128 * 20;
  const auto mu = test::random_vec(n, 1, -2.0f, 2.0f), lv = test::random_vec(n, 2, -4.0f, 2.0f);
  const auto base_mu = test::random_vec(n, 3), base_lv = test::random_vec(n, 4);
  for (Grad mode : {Grad::Overwrite, Grad::Accumulate}) {
    float loss;
    std::vector<float> dmu = base_mu, dlv = base_lv;
    gaussian_kl_loss(cpu, mu.data(), lv.data(), &loss, dmu.data(), dlv.data(), n, 0.5f, mode);
    Tensor gmu = test::upload(gpu, mu), glv = test::upload(gpu, lv), gl = Tensor::empty(gpu, {1});
    Tensor gdmu = test::upload(gpu, base_mu), gdlv = test::upload(gpu, base_lv);
    gaussian_kl_loss(gpu, gmu.f32(), glv.f32(), gl.f32(), gdmu.f32(), gdlv.f32(), n, 0.5f, mode);
    EXPECT_LT(test::rel_error({scalar(gpu, gl)}, {loss}), kLossTol);
    EXPECT_LT(test::rel_error(test::download(gpu, gdmu), dmu), kGradTol);
    EXPECT_LT(test::rel_error(test::download(gpu, gdlv), dlv), kGradTol);
  }
}

TEST(LossGpu, HingeMatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int n = 100003;
  const auto x = test::random_vec(n, 7, -3.0f, 3.0f);
  Tensor gx = test::upload(gpu, x), gl = Tensor::empty(gpu, {1}), gl2 = Tensor::empty(gpu, {1});
  Tensor gd = Tensor::empty(gpu, {n});
  for (float sign : {1.0f, -1.0f}) {
    float loss;
    std::vector<float> d(n);
    hinge_loss(cpu, x.data(), &loss, d.data(), n, sign, 1.0f / 64);
    hinge_loss(gpu, gx.f32(), gl.f32(), gd.f32(), n, sign, 1.0f / 64);
    EXPECT_LT(test::rel_error({scalar(gpu, gl)}, {loss}), kLossTol) << sign;
    EXPECT_LT(test::rel_error(test::download(gpu, gd), d), kGradTol) << sign;
    hinge_loss(gpu, gx.f32(), gl2.f32(), nullptr, n, sign, 1.0f / 64);
    EXPECT_EQ(scalar(gpu, gl2), scalar(gpu, gl)) << sign;
  }
}

}  // namespace
}  // namespace dg
