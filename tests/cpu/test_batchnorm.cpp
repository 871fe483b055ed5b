// Batch normalisation: forward statistics against a hand computation and a double-precision reference, the
// running-statistic update, both backward passes against central finite differences, and the layer.
#include <cmath>

#include "kernels/batchnorm.h"
#include "models/layers.h"
#include "tests/test_util.h"

namespace dg {
namespace {

// y of the training forward in double, straight from the definition (two-pass biased variance).
std::vector<double> bn_train_ref(const std::vector<float>& x, const std::vector<float>& gamma,
                                 const std::vector<float>& beta, int B, int C, int HW, double eps) {
  std::vector<double> y(x.size());
  const double n = double(B) * HW;
  for (int c = 0; c < C; ++c) {
    double s = 0, sq = 0;
    for (int b = 0; b < B; ++b)
      for (int i = 0; i < HW; ++i) s += x[size_t((b * C + c) * HW + i)];
    const double mu = s / n;
    for (int b = 0; b < B; ++b)
      for (int i = 0; i < HW; ++i) sq += std::pow(x[size_t((b * C + c) * HW + i)] - mu, 2);
    const double is = 1.0 / std::sqrt(sq / n + eps);
    for (int b = 0; b < B; ++b)
      for (int i = 0; i < HW; ++i) {
        const size_t k = size_t((b * C + c) * HW + i);
        y[k] = gamma[size_t(c)] * (x[k] - mu) * is + beta[size_t(c)];
      }
  }
  return y;
}

std::vector<double> bn_infer_ref(const std::vector<float>& x, const std::vector<float>& gamma,
                                 const std::vector<float>& beta, const std::vector<float>& rm,
                                 const std::vector<float>& rv, int C, int HW, double eps) {
  std::vector<double> y(x.size());
  for (size_t k = 0; k < x.size(); ++k) {
    const size_t c = (k / size_t(HW)) % size_t(C);
    y[k] = gamma[c] * (x[k] - double(rm[c])) / std::sqrt(rv[c] + eps) + beta[c];
  }
  return y;
}

double dot_d(const std::vector<double>& y, const std::vector<float>& r) {
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += y[i] * r[i];
  return s;
}

// x: [B = 2, C = 2, HW = 3]. Channel 0 holds 1..6 (mean 3.5, biased variance 17.5 / 6, unbiased 3.5); channel 1
// holds -1, 0, 1, 2, 2, 2 (mean 1, biased variance 8 / 6, unbiased 1.6).
TEST(BatchNorm, TrainForwardMatchesHandComputation) {
  Context ctx(Device::CPU);
  const int B = 2, C = 2, HW = 3;
  const std::vector<float> x = {1, 2, 3, -1, 0, 1, 4, 5, 6, 2, 2, 2};
  const std::vector<float> gamma = {2.0f, 0.5f}, beta = {1.0f, -1.0f};
  const float eps = 1e-5f, momentum = 0.1f;
  std::vector<float> y(x.size()), mean(C), inv_std(C), rm = {0.5f, -2.0f}, rv = {2.0f, 0.25f};
  batchnorm_forward_train(ctx, x.data(), gamma.data(), beta.data(), y.data(), mean.data(), inv_std.data(), rm.data(),
                          rv.data(), B, C, HW, eps, momentum);
  const double var[2] = {17.5 / 6.0, 8.0 / 6.0}, unbiased[2] = {3.5, 1.6}, mu[2] = {3.5, 1.0};
  for (int c = 0; c < C; ++c) {
    EXPECT_NEAR(mean[c], mu[c], 1e-6) << c;
    EXPECT_NEAR(inv_std[c], 1.0 / std::sqrt(var[c] + eps), 1e-6) << c;
    EXPECT_NEAR(rm[c], 0.9 * (c == 0 ? 0.5 : -2.0) + 0.1 * mu[c], 1e-6) << c;
    EXPECT_NEAR(rv[c], 0.9 * (c == 0 ? 2.0 : 0.25) + 0.1 * unbiased[c], 1e-6) << c;
  }
  for (int b = 0; b < B; ++b)
    for (int c = 0; c < C; ++c)
      for (int i = 0; i < HW; ++i) {
        const size_t k = size_t((b * C + c) * HW + i);
        EXPECT_NEAR(y[k], gamma[c] * (x[k] - mu[c]) / std::sqrt(var[c] + eps) + beta[c], 1e-5) << k;
      }
  // Null running statistics: the same outputs, nothing updated.
  std::vector<float> y2(x.size());
  batchnorm_forward_train(ctx, x.data(), gamma.data(), beta.data(), y2.data(), mean.data(), inv_std.data(), nullptr,
                          nullptr, B, C, HW, eps, momentum);
  EXPECT_EQ(y2, y);
}

TEST(BatchNorm, ForwardMatchesDoubleReference) {
  Context ctx(Device::CPU);
  struct S { int B, C, HW; };
  for (S s : {S{4, 3, 5}, S{16, 7, 1}, S{2, 2, 64}}) {
    const size_t n = size_t(s.B) * s.C * s.HW;
    std::vector<float> x = test::random_vec(n, 1, -2.0f, 6.0f);  // a mean well away from 0
    const auto gamma = test::random_vec(size_t(s.C), 2, 0.5f, 1.5f), beta = test::random_vec(size_t(s.C), 3);
    const auto rm = test::random_vec(size_t(s.C), 4), rv = test::random_vec(size_t(s.C), 5, 0.2f, 2.0f);
    std::vector<float> y(n), mean(size_t(s.C)), inv_std(size_t(s.C));
    batchnorm_forward_train(ctx, x.data(), gamma.data(), beta.data(), y.data(), mean.data(), inv_std.data(), nullptr,
                            nullptr, s.B, s.C, s.HW, 1e-5f, 0.1f);
    const auto yr = bn_train_ref(x, gamma, beta, s.B, s.C, s.HW, 1e-5);
    for (size_t k = 0; k < n; ++k) EXPECT_NEAR(y[k], yr[k], 2e-5 * (1 + std::fabs(yr[k]))) << k;
    batchnorm_forward_infer(ctx, x.data(), gamma.data(), beta.data(), rm.data(), rv.data(), y.data(), s.B, s.C, s.HW,
                            1e-5f);
    const auto yi = bn_infer_ref(x, gamma, beta, rm, rv, s.C, s.HW, 1e-5);
    for (size_t k = 0; k < n; ++k) EXPECT_NEAR(y[k], yi[k], 2e-5 * (1 + std::fabs(yi[k]))) << k;
  }
}

// Tolerance: the losses are computed in double, so the central differences (eps 1e-3) carry only the truncation
// error (eps^2 * third derivative, below 1e-5 here) and the float rounding of x +- eps (relative 1e-4 of the
// quotient); the analytic gradient is float (relative 1e-6). atol 1e-4 + rtol 1e-3 leaves a wide margin while a
// missing term of the batch-statistics gradient (of order 1) fails by far.
TEST(BatchNorm, TrainBackwardMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  struct S { int B, C, HW; };
  for (S s : {S{3, 2, 4}, S{5, 3, 1}, S{2, 1, 2}}) {
    const std::string what = std::to_string(s.B) + "x" + std::to_string(s.C) + "x" + std::to_string(s.HW);
    const size_t n = size_t(s.B) * s.C * s.HW;
    const auto x = test::random_vec(n, 11, -1.0f, 3.0f), r = test::random_vec(n, 12);
    const auto gamma = test::random_vec(size_t(s.C), 13, 0.5f, 1.5f), beta = test::random_vec(size_t(s.C), 14);
    const float eps = 1e-3f;  // with 2 values per channel a tiny eps would make the loss nearly flat in x
    std::vector<float> y(n), mean(size_t(s.C)), inv_std(size_t(s.C));
    batchnorm_forward_train(ctx, x.data(), gamma.data(), beta.data(), y.data(), mean.data(), inv_std.data(), nullptr,
                            nullptr, s.B, s.C, s.HW, eps, 0.1f);
    std::vector<float> dx(n, 7.0f), dgamma(size_t(s.C), 9.0f), dbeta(size_t(s.C), 9.0f);  // all overwritten
    batchnorm_backward_train(ctx, x.data(), r.data(), gamma.data(), mean.data(), inv_std.data(), dx.data(),
                             dgamma.data(), dbeta.data(), s.B, s.C, s.HW, Grad::Overwrite);
    test::expect_grad_close(
        [&](const std::vector<float>& xp) { return dot_d(bn_train_ref(xp, gamma, beta, s.B, s.C, s.HW, eps), r); },
        x, dx, 1e-3, 1e-4, 1e-3, "train dx " + what);
    test::expect_grad_close(
        [&](const std::vector<float>& gp) { return dot_d(bn_train_ref(x, gp, beta, s.B, s.C, s.HW, eps), r); }, gamma,
        dgamma, 1e-3, 1e-4, 1e-3, "train dgamma " + what);
    test::expect_grad_close(
        [&](const std::vector<float>& bp) { return dot_d(bn_train_ref(x, gamma, bp, s.B, s.C, s.HW, eps), r); }, beta,
        dbeta, 1e-3, 1e-4, 1e-3, "train dbeta " + what);

    // Parameter gradients accumulate; dx (always overwritten) may be skipped.
    std::vector<float> ag(size_t(s.C), 1.0f), ab(size_t(s.C), -1.0f);
    batchnorm_backward_train(ctx, x.data(), r.data(), gamma.data(), mean.data(), inv_std.data(), nullptr, ag.data(),
                             ab.data(), s.B, s.C, s.HW, Grad::Accumulate);
    for (int c = 0; c < s.C; ++c) {
      EXPECT_NEAR(ag[size_t(c)], 1.0f + dgamma[size_t(c)], 1e-5) << what;
      EXPECT_NEAR(ab[size_t(c)], -1.0f + dbeta[size_t(c)], 1e-5) << what;
    }
  }
}

// Tolerance: y is linear in x and beta and in gamma, so with double losses the differences are exact up to the
// rounding of the perturbed float (relative 1e-4); same bounds as the training pass.
TEST(BatchNorm, InferBackwardMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  const int B = 3, C = 4, HW = 3;
  const size_t n = size_t(B) * C * HW;
  const auto x = test::random_vec(n, 21, -1.0f, 2.0f), r = test::random_vec(n, 22);
  const auto gamma = test::random_vec(C, 23, 0.5f, 1.5f), beta = test::random_vec(C, 24);
  const auto rm = test::random_vec(C, 25), rv = test::random_vec(C, 26, 0.3f, 2.0f);
  const float eps = 1e-5f;
  std::vector<float> dx(n, 7.0f), dgamma(C, 9.0f), dbeta(C, 9.0f);
  batchnorm_backward_infer(ctx, x.data(), r.data(), gamma.data(), rm.data(), rv.data(), dx.data(), dgamma.data(),
                           dbeta.data(), B, C, HW, eps, Grad::Overwrite);
  auto loss = [&](const std::vector<float>& xp, const std::vector<float>& gp, const std::vector<float>& bp) {
    return dot_d(bn_infer_ref(xp, gp, bp, rm, rv, C, HW, eps), r);
  };
  test::expect_grad_close([&](const std::vector<float>& p) { return loss(p, gamma, beta); }, x, dx, 1e-3, 1e-4, 1e-3,
                          "infer dx");
  test::expect_grad_close([&](const std::vector<float>& p) { return loss(x, p, beta); }, gamma, dgamma, 1e-3, 1e-4,
                          1e-3, "infer dgamma");
  test::expect_grad_close([&](const std::vector<float>& p) { return loss(x, gamma, p); }, beta, dbeta, 1e-3, 1e-4,
                          1e-3, "infer dbeta");
  std::vector<float> ag(C, 2.0f), ab(C, 2.0f);
  batchnorm_backward_infer(ctx, x.data(), r.data(), gamma.data(), rm.data(), rv.data(), nullptr, ag.data(), ab.data(),
                           B, C, HW, eps, Grad::Accumulate);
  for (int c = 0; c < C; ++c) {
    EXPECT_NEAR(ag[size_t(c)], 2.0f + dgamma[size_t(c)], 1e-5);
    EXPECT_NEAR(ab[size_t(c)], 2.0f + dbeta[size_t(c)], 1e-5);
  }
}

TEST(BatchNorm, LayerUsesBatchOrRunningStatistics) {
  Context ctx(Device::CPU);
  ParamStore ps;
  BatchNorm2d bn(ctx, ps, "net/bn0", 3);
  ps.finalize(ctx, 1);
  ASSERT_EQ(ps.specs().size(), 2u);
  EXPECT_EQ(ps.specs()[0].name, "net/bn0.weight");
  EXPECT_EQ(ps.specs()[1].name, "net/bn0.bias");
  const auto st = bn.state();
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].first, "net/bn0.running_mean");
  EXPECT_EQ(st[1].first, "net/bn0.running_var");
  EXPECT_EQ(st[0].second->to_host(ctx), std::vector<float>(3, 0.0f));
  EXPECT_EQ(st[1].second->to_host(ctx), std::vector<float>(3, 1.0f));

  const int B = 4, H = 2, W = 2, n = B * 3 * H * W;
  const auto xh = test::random_vec(size_t(n), 31, 1.0f, 3.0f);
  Tensor x = Tensor::from_host(ctx, {B, 3, H, W}, xh.data());
  Tensor y = bn.forward(ctx, x, StepInfo{true, 0, 0});
  // gamma 1, beta 0: every channel of the output has mean 0 and (biased) variance 1 / (1 + eps / var).
  const auto yh = y.to_host(ctx);
  for (int c = 0; c < 3; ++c) {
    double s = 0, sq = 0;
    for (int b = 0; b < B; ++b)
      for (int i = 0; i < H * W; ++i) s += yh[size_t((b * 3 + c) * H * W + i)];
    for (int b = 0; b < B; ++b)
      for (int i = 0; i < H * W; ++i) sq += std::pow(yh[size_t((b * 3 + c) * H * W + i)], 2);
    EXPECT_NEAR(s / (B * H * W), 0.0, 1e-6);
    EXPECT_NEAR(sq / (B * H * W), 1.0, 1e-3);
  }
  const auto rm = bn.running_mean().to_host(ctx);
  for (float m : rm) EXPECT_GT(m, 0.1f);  // 0.1 * a batch mean near 2
  const Tensor dy = Tensor::from_host(ctx, {B, 3, H, W}, test::random_vec(size_t(n), 32).data());
  Tensor dx = bn.backward(ctx, dy, true);
  EXPECT_EQ(dx.shape(), x.shape());
  const auto g1 = ps.grads().to_host(ctx);
  bn.forward(ctx, x, StepInfo{true, 0, 0});
  bn.backward(ctx, dy, false);
  const auto g2 = ps.grads().to_host(ctx);
  for (size_t i = 0; i < g1.size(); ++i) EXPECT_NEAR(g2[i], 2 * g1[i], 1e-5) << "parameter gradients accumulate";

  // Inference: the running statistics, on vectors too.
  Tensor v = Tensor::from_host(ctx, {4, 3}, xh.data());
  const std::vector<float> rmv = {1.0f, 2.0f, 3.0f}, rvv = {4.0f, 1.0f, 0.25f};
  copy_to_device(ctx, bn.running_mean().raw(), rmv.data(), 12);
  copy_to_device(ctx, bn.running_var().raw(), rvv.data(), 12);
  const auto yv = bn.forward(ctx, v, StepInfo{}).to_host(ctx);
  for (int b = 0; b < 4; ++b)
    for (int c = 0; c < 3; ++c)
      EXPECT_NEAR(yv[size_t(b * 3 + c)], (xh[size_t(b * 3 + c)] - rmv[size_t(c)]) / std::sqrt(rvv[size_t(c)] + 1e-5f),
                  1e-5);
  EXPECT_EQ(bn.running_mean().to_host(ctx), rmv) << "inference leaves the running statistics alone";

  Tensor one = Tensor::from_host(ctx, {1, 3}, xh.data());
  EXPECT_THROW(bn.forward(ctx, one, StepInfo{true, 0, 0}), Error);
}

}  // namespace
}  // namespace dg
