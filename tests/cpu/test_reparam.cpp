// Reparameterization: Philox noise statistics and reproducibility, z = mu + exp(logvar / 2) eps, and the
// backward against finite differences with eps held fixed (the noise depends only on the index).
#include <cmath>

#include "kernels/reparam.h"
#include "tests/test_util.h"

namespace dg {
namespace {

TEST(Reparam, NoiseIsRoughlyStandardNormal) {
  Context ctx(Device::CPU);
  const int n = 100000;
  const std::vector<float> mu(n, 0.0f), logvar(n, 0.0f);
  std::vector<float> eps(n), z(n);
  reparam_forward(ctx, mu.data(), logvar.data(), eps.data(), z.data(), n, 1234, 0, 1);
  double s = 0, s2 = 0, s4 = 0;
  int within1 = 0;
  for (float e : eps) {
    s += e;
    s2 += double(e) * e;
    s4 += double(e) * e * e * e;
    within1 += std::fabs(e) < 1.0f;
  }
  const double mean = s / n, var = s2 / n - mean * mean;
  // Standard errors over 1e5 draws: mean 0.003, variance 0.0045, fourth moment ~0.03, P(|e|<1) 0.0015.
  EXPECT_NEAR(mean, 0.0, 0.02);
  EXPECT_NEAR(var, 1.0, 0.03);
  EXPECT_NEAR(s4 / n, 3.0, 0.2);
  EXPECT_NEAR(double(within1) / n, 0.6827, 0.01);
  EXPECT_EQ(z, eps);  // mu = 0, sigma = 1
}

TEST(Reparam, NoiseDependsOnIndexSeedAndStep) {
  Context ctx(Device::CPU);
  const int n = 64;
  const std::vector<float> mu = test::random_vec(n, 1), logvar = test::random_vec(n, 2);
  std::vector<float> e0(n), e1(n), e2(n), z(n);
  reparam_forward(ctx, mu.data(), logvar.data(), e0.data(), z.data(), n, 7, 0, 3);
  for (int i = 0; i < n; ++i)
    EXPECT_NEAR(z[i], mu[i] + std::exp(0.5 * logvar[i]) * e0[i], 1e-6 * (1 + std::fabs(z[i]))) << i;
  // index_base shifts the window: elements 10.. of the first call are elements 0.. of this one.
  reparam_forward(ctx, mu.data(), logvar.data(), e1.data(), z.data(), n - 10, 7, 10, 3);
  for (int i = 0; i + 10 < n; ++i) EXPECT_EQ(e1[i], e0[i + 10]) << i;
  reparam_forward(ctx, mu.data(), logvar.data(), e2.data(), z.data(), n, 7, 0, 4);
  int same = 0;
  for (int i = 0; i < n; ++i) same += e2[i] == e0[i];
  EXPECT_LT(same, 2);
}

// Tolerance: eps 1e-3 on smooth exp(logvar / 2) with |logvar| <= 1; float rounding of z (~1e-7 * |z|, summed
// over 100 terms) over 2e-3 gives ~1e-4, and the truncation error is ~eps^2 = 1e-6: atol 1e-3.
TEST(Reparam, BackwardMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  const int n = 100;
  const std::vector<float> mu = test::random_vec(n, 1), logvar = test::random_vec(n, 2), r = test::random_vec(n, 3);
  std::vector<float> eps(n), z(n), dmu(n), dlogvar(n);
  reparam_forward(ctx, mu.data(), logvar.data(), eps.data(), z.data(), n, 99, 500, 2);
  reparam_backward(ctx, logvar.data(), eps.data(), r.data(), dmu.data(), dlogvar.data(), n);
  auto run = [&](const std::vector<float>& m, const std::vector<float>& lv) {
    std::vector<float> e(n), zp(n);
    reparam_forward(ctx, m.data(), lv.data(), e.data(), zp.data(), n, 99, 500, 2);
    EXPECT_EQ(e, eps);  // the noise is held fixed under perturbation
    return test::dot(zp, r);
  };
  test::expect_grad_close([&](const std::vector<float>& m) { return run(m, logvar); }, mu, dmu, 1e-3, 1e-3, 1e-2,
                          "reparam dmu");
  test::expect_grad_close([&](const std::vector<float>& lv) { return run(mu, lv); }, logvar, dlogvar, 1e-3, 1e-3,
                          1e-2, "reparam dlogvar");
}

}  // namespace
}  // namespace dg
