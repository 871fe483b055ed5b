// Losses: known values, each gradient against central finite differences of the loss value, null gradient
// pointers, the softmax `correct` count (ties go to the first max) and KL's accumulate mode.
#include <cmath>

#include "kernels/loss.h"
#include "tests/test_util.h"

namespace dg {
namespace {

// Tolerance for all loss gradient checks: eps 1e-3 on smooth losses gives truncation ~1e-6; the loss is a float
// of magnitude <= ~20, so its rounding (~2e-6) over 2e-3 contributes ~1e-3: atol 2e-3, rtol 1e-2.
constexpr double kEps = 1e-3, kAtol = 2e-3, kRtol = 1e-2;

TEST(MseLoss, KnownValueAndGradient) {
  Context ctx(Device::CPU);
  const std::vector<float> pred = {1.0f, 2.0f, -1.0f}, target = {0.0f, 0.0f, 1.0f};
  float loss = -1;
  std::vector<float> d(3);
  mse_loss(ctx, pred.data(), target.data(), &loss, d.data(), 3, 0.5f);
  EXPECT_FLOAT_EQ(loss, 0.5f * (1 + 4 + 4));
  EXPECT_EQ(d, (std::vector<float>{1.0f, 2.0f, -2.0f}));
  mse_loss(ctx, pred.data(), target.data(), &loss, nullptr, 3, 1.0f);
  EXPECT_FLOAT_EQ(loss, 9.0f);
}

TEST(MseLoss, GradientMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  const int n = 60;
  const std::vector<float> pred = test::random_vec(n, 1), target = test::random_vec(n, 2);
  float loss;
  std::vector<float> d(n);
  mse_loss(ctx, pred.data(), target.data(), &loss, d.data(), n, 0.3f);
  auto f = [&](const std::vector<float>& p) {
    float l;
    mse_loss(ctx, p.data(), target.data(), &l, nullptr, n, 0.3f);
    return double(l);
  };
  test::expect_grad_close(f, pred, d, kEps, kAtol, kRtol, "mse");
}

TEST(BceLogitsLoss, KnownValuesStableForLargeLogits) {
  Context ctx(Device::CPU);
  const std::vector<float> x = {0.0f, 100.0f, -100.0f, 2.0f}, t = {1.0f, 1.0f, 1.0f, 0.25f};
  float loss;
  std::vector<float> d(4);
  bce_logits_loss(ctx, x.data(), t.data(), &loss, d.data(), 1, 1.0f);
  EXPECT_NEAR(loss, std::log(2.0), 1e-6);
  bce_logits_loss(ctx, x.data() + 1, t.data() + 1, &loss, d.data(), 1, 1.0f);
  EXPECT_NEAR(loss, 0.0, 1e-6);
  bce_logits_loss(ctx, x.data() + 2, t.data() + 2, &loss, d.data(), 1, 1.0f);
  EXPECT_NEAR(loss, 100.0, 1e-4);
  EXPECT_NEAR(d[0], -1.0, 1e-6);
  bce_logits_loss(ctx, x.data() + 3, t.data() + 3, &loss, d.data(), 1, 2.0f);
  const double s = 1.0 / (1.0 + std::exp(-2.0));
  EXPECT_NEAR(loss, 2.0 * -(0.25 * std::log(s) + 0.75 * std::log(1 - s)), 1e-5);
  EXPECT_NEAR(d[0], 2.0 * (s - 0.25), 1e-6);
}

TEST(BceLogitsLoss, GradientMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  const int n = 60;
  const std::vector<float> x = test::random_vec(n, 1, -4.0f, 4.0f), t = test::random_vec(n, 2, 0.0f, 1.0f);
  float loss;
  std::vector<float> d(n);
  bce_logits_loss(ctx, x.data(), t.data(), &loss, d.data(), n, 0.5f);
  auto f = [&](const std::vector<float>& xp) {
    float l;
    bce_logits_loss(ctx, xp.data(), t.data(), &l, nullptr, n, 0.5f);
    return double(l);
  };
  test::expect_grad_close(f, x, d, kEps, kAtol, kRtol, "bce");
}

TEST(SoftmaxXentLoss, KnownValuesAndCorrectCount) {
  Context ctx(Device::CPU);
  const int B = 4, C = 3;
  // Row 0: argmax 2 (label 2, correct). Row 1: all equal, first max is 0 (label 1, wrong).
  // Row 2: tie between 1 and 2, first max is 1 (label 1, correct). Row 3: argmax 0 (label 2, wrong).
  const std::vector<float> logits = {0, 1, 3, 5, 5, 5, -1, 2, 2, 4, 0, 1};
  const std::vector<int32_t> labels = {2, 1, 1, 2};
  float loss = -1, correct = -1;
  std::vector<float> d(B * C);
  softmax_xent_loss(ctx, logits.data(), labels.data(), &loss, d.data(), &correct, B, C, 1.0f);
  EXPECT_EQ(correct, 2.0f);
  double expect = 0;
  for (int b = 0; b < B; ++b) {
    double s = 0;
    for (int c = 0; c < C; ++c) s += std::exp(double(logits[b * C + c]));
    expect += std::log(s) - logits[b * C + labels[b]];
  }
  EXPECT_NEAR(loss, expect, 1e-5);
  // Row 1: uniform softmax, gradient 1/3 - onehot.
  EXPECT_NEAR(d[3], 1.0 / 3, 1e-6);
  EXPECT_NEAR(d[4], 1.0 / 3 - 1, 1e-6);
  // Null gradient and correct pointers are allowed.
  float loss2 = -1;
  softmax_xent_loss(ctx, logits.data(), labels.data(), &loss2, nullptr, nullptr, B, C, 0.25f);
  EXPECT_NEAR(loss2, 0.25 * expect, 1e-5);
}

TEST(SoftmaxXentLoss, LargeLogitsStayFinite) {
  Context ctx(Device::CPU);
  const std::vector<float> logits = {1000.0f, 0.0f};
  const std::vector<int32_t> labels = {1};
  float loss, correct;
  std::vector<float> d(2);
  softmax_xent_loss(ctx, logits.data(), labels.data(), &loss, d.data(), &correct, 1, 2, 1.0f);
  EXPECT_NEAR(loss, 1000.0f, 1e-3);
  EXPECT_EQ(correct, 0.0f);
  EXPECT_NEAR(d[0], 1.0, 1e-6);
  EXPECT_NEAR(d[1], -1.0, 1e-6);
}

TEST(SoftmaxXentLoss, GradientMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  const int B = 5, C = 10;
  const std::vector<float> x = test::random_vec(B * C, 1, -3.0f, 3.0f);
  const std::vector<int32_t> labels = {0, 9, 3, 3, 7};
  float loss;
  std::vector<float> d(B * C);
  softmax_xent_loss(ctx, x.data(), labels.data(), &loss, d.data(), nullptr, B, C, 0.2f);
  auto f = [&](const std::vector<float>& xp) {
    float l;
    softmax_xent_loss(ctx, xp.data(), labels.data(), &l, nullptr, nullptr, B, C, 0.2f);
    return double(l);
  };
  test::expect_grad_close(f, x, d, kEps, kAtol, kRtol, "softmax_xent");
}

TEST(SoftmaxXentLoss, RejectsLabelOutOfRange) {
  Context ctx(Device::CPU);
  const std::vector<float> logits = {0.0f, 1.0f};
  const std::vector<int32_t> labels = {2};
  float loss;
  EXPECT_THROW(softmax_xent_loss(ctx, logits.data(), labels.data(), &loss, nullptr, nullptr, 1, 2, 1.0f), Error);
}

TEST(GaussianKlLoss, KnownValues) {
  Context ctx(Device::CPU);
  const std::vector<float> mu = {0.0f, 1.0f}, logvar = {0.0f, 0.5f};
  float loss;
  gaussian_kl_loss(ctx, mu.data(), logvar.data(), &loss, nullptr, nullptr, 1, 1.0f, Grad::Overwrite);
  EXPECT_NEAR(loss, 0.0, 1e-7);  // N(0, 1) against itself
  gaussian_kl_loss(ctx, mu.data(), logvar.data(), &loss, nullptr, nullptr, 2, 2.0f, Grad::Overwrite);
  EXPECT_NEAR(loss, 2.0 * -0.5 * (1 + 0.5 - 1 - std::exp(0.5)), 1e-6);
}

TEST(GaussianKlLoss, GradientsMatchFiniteDifferences) {
  Context ctx(Device::CPU);
  const int n = 40;
  const std::vector<float> mu = test::random_vec(n, 1), logvar = test::random_vec(n, 2, -2.0f, 1.0f);
  float loss;
  std::vector<float> dmu(n), dlv(n);
  gaussian_kl_loss(ctx, mu.data(), logvar.data(), &loss, dmu.data(), dlv.data(), n, 0.7f, Grad::Overwrite);
  auto f = [&](const std::vector<float>& m, const std::vector<float>& lv) {
    float l;
    gaussian_kl_loss(ctx, m.data(), lv.data(), &l, nullptr, nullptr, n, 0.7f, Grad::Overwrite);
    return double(l);
  };
  test::expect_grad_close([&](const std::vector<float>& m) { return f(m, logvar); }, mu, dmu, kEps, kAtol, kRtol,
                          "kl dmu");
  test::expect_grad_close([&](const std::vector<float>& lv) { return f(mu, lv); }, logvar, dlv, kEps, kAtol, kRtol,
                          "kl dlogvar");
}

TEST(GaussianKlLoss, AccumulateAddsToExistingGradients) {
  Context ctx(Device::CPU);
  const int n = 16;
  const std::vector<float> mu = test::random_vec(n, 1), logvar = test::random_vec(n, 2);
  const std::vector<float> base_mu = test::random_vec(n, 3), base_lv = test::random_vec(n, 4);
  float loss;
  std::vector<float> dmu(n), dlv(n);
  gaussian_kl_loss(ctx, mu.data(), logvar.data(), &loss, dmu.data(), dlv.data(), n, 0.5f, Grad::Overwrite);
  std::vector<float> amu = base_mu, alv = base_lv;
  float loss2;
  gaussian_kl_loss(ctx, mu.data(), logvar.data(), &loss2, amu.data(), alv.data(), n, 0.5f, Grad::Accumulate);
  EXPECT_EQ(loss, loss2);
  for (int i = 0; i < n; ++i) {
    EXPECT_FLOAT_EQ(amu[i], base_mu[i] + dmu[i]) << i;
    EXPECT_FLOAT_EQ(alv[i], base_lv[i] + dlv[i]) << i;
  }
  // Only one of the two gradients requested: the other pointer may be null.
  std::vector<float> only(n, 1.0f);
  gaussian_kl_loss(ctx, mu.data(), logvar.data(), &loss2, nullptr, only.data(), n, 0.5f, Grad::Accumulate);
  for (int i = 0; i < n; ++i) EXPECT_FLOAT_EQ(only[i], 1.0f + dlv[i]) << i;
}

TEST(HingeLoss, KnownValuesAndGradient) {
  Context ctx(Device::CPU);
  const std::vector<float> x = {2.0f, 0.5f, -1.0f};
  float loss;
  std::vector<float> d(3);
  // Real images (sign +1): relu(1 - x) = 0, 0.5, 2.
  hinge_loss(ctx, x.data(), &loss, d.data(), 3, 1.0f, 0.5f);
  EXPECT_FLOAT_EQ(loss, 0.5f * 2.5f);
  EXPECT_EQ(d, (std::vector<float>{0.0f, -0.5f, -0.5f}));
  // Generated images (sign -1): relu(1 + x) = 3, 1.5, 0.
  hinge_loss(ctx, x.data(), &loss, d.data(), 3, -1.0f, 1.0f);
  EXPECT_FLOAT_EQ(loss, 4.5f);
  EXPECT_EQ(d, (std::vector<float>{1.0f, 1.0f, 0.0f}));
  hinge_loss(ctx, x.data(), &loss, nullptr, 3, -1.0f, 1.0f);
  EXPECT_FLOAT_EQ(loss, 4.5f);
}

// Piecewise linear: away from the kinks (inputs kept 0.05 from +-1, eps 1e-3) the differences are exact up to
// float rounding; the shared tolerance applies.
TEST(HingeLoss, GradientMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  const int n = 50;
  std::vector<float> x = test::random_vec(n, 5, -3.0f, 3.0f);
  for (float& v : x)
    if (std::fabs(std::fabs(v) - 1.0f) < 0.05f) v += 0.1f;
  for (float sign : {1.0f, -1.0f}) {
    float loss;
    std::vector<float> d(n);
    hinge_loss(ctx, x.data(), &loss, d.data(), n, sign, 0.25f);
    auto f = [&](const std::vector<float>& p) {
      float l;
      hinge_loss(ctx, p.data(), &l, nullptr, n, sign, 0.25f);
      return double(l);
    };
    test::expect_grad_close(f, x, d, kEps, kAtol, kRtol, sign > 0 ? "hinge real" : "hinge fake");
  }
}

}  // namespace
}  // namespace dg
