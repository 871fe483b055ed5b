// Inverted dropout: kept fraction and scaling, mask reproducible from (seed, step) and shared by backward,
// backward against finite differences, and p == 0 as a copy.
#include "kernels/dropout.h"
#include "tests/test_util.h"

namespace dg {
namespace {

TEST(Dropout, KeepsAboutOneMinusPAndScales) {
  Context ctx(Device::CPU);
  const int n = 100000;
  const float p = 0.3f;
  const std::vector<float> x(n, 2.0f);
  std::vector<float> y(n);
  dropout_forward(ctx, x.data(), y.data(), n, p, 42, 7);
  int kept = 0;
  for (float v : y) {
    if (v != 0.0f) {
      ++kept;
      EXPECT_FLOAT_EQ(v, 2.0f / (1.0f - p));
    }
  }
  // Binomial standard deviation of the kept fraction is sqrt(p (1 - p) / n) ~ 0.0015; allow ~7 of them.
  EXPECT_NEAR(double(kept) / n, 1.0 - p, 0.01);
}

TEST(Dropout, MaskDependsOnlyOnSeedAndStep) {
  Context ctx(Device::CPU);
  const int n = 4096;
  const std::vector<float> x(n, 1.0f);
  std::vector<float> a(n), b(n), c(n), d(n);
  dropout_forward(ctx, x.data(), a.data(), n, 0.5f, 9, 3);
  dropout_forward(ctx, x.data(), b.data(), n, 0.5f, 9, 3);
  dropout_forward(ctx, x.data(), c.data(), n, 0.5f, 9, 4);
  dropout_forward(ctx, x.data(), d.data(), n, 0.5f, 10, 3);
  EXPECT_EQ(a, b);
  int diff_step = 0, diff_seed = 0;
  for (int i = 0; i < n; ++i) {
    diff_step += (a[i] != 0.0f) != (c[i] != 0.0f);
    diff_seed += (a[i] != 0.0f) != (d[i] != 0.0f);
  }
  // Independent masks at p = 0.5 disagree on about half the elements.
  EXPECT_GT(diff_step, n / 4);
  EXPECT_GT(diff_seed, n / 4);
}

TEST(Dropout, BackwardUsesTheForwardMask) {
  Context ctx(Device::CPU);
  const int n = 1000;
  const float p = 0.4f;
  const std::vector<float> x = test::random_vec(n, 1, 0.5f, 1.5f), r = test::random_vec(n, 2);
  std::vector<float> y(n), dx(n);
  dropout_forward(ctx, x.data(), y.data(), n, p, 5, 11);
  dropout_backward(ctx, r.data(), dx.data(), n, p, 5, 11);
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(y[i] != 0.0f, dx[i] != 0.0f) << i;
    if (y[i] != 0.0f) EXPECT_FLOAT_EQ(dx[i], r[i] / (1.0f - p)) << i;
  }
  // Tolerance: L = dot(dropout(x), r) is linear in x for a fixed mask, so differences are exact up to float
  // rounding of y (~1e-7 relative) over eps 1e-2: 1e-4 is ample.
  auto loss = [&](const std::vector<float>& xp) {
    std::vector<float> yp(n);
    dropout_forward(ctx, xp.data(), yp.data(), n, p, 5, 11);
    return test::dot(yp, r);
  };
  test::expect_grad_close(loss, x, dx, 1e-2, 1e-4, 1e-3, "dropout", 200);
}

TEST(Dropout, ZeroProbabilityCopiesAndWorksInPlace) {
  Context ctx(Device::CPU);
  const int n = 257;
  const std::vector<float> x = test::random_vec(n, 3);
  std::vector<float> y(n), dx(n);
  dropout_forward(ctx, x.data(), y.data(), n, 0.0f, 1, 1);
  EXPECT_EQ(y, x);
  dropout_backward(ctx, x.data(), dx.data(), n, 0.0f, 1, 1);
  EXPECT_EQ(dx, x);
  std::vector<float> z = x, ref(n);
  dropout_forward(ctx, x.data(), ref.data(), n, 0.2f, 1, 1);
  dropout_forward(ctx, z.data(), z.data(), n, 0.2f, 1, 1);
  EXPECT_EQ(z, ref);
}

TEST(Dropout, RejectsProbabilityOutsideRange) {
  Context ctx(Device::CPU);
  std::vector<float> x(4, 1.0f), y(4);
  EXPECT_THROW(dropout_forward(ctx, x.data(), y.data(), 4, 1.0f, 1, 1), Error);
  EXPECT_THROW(dropout_forward(ctx, x.data(), y.data(), 4, -0.1f, 1, 1), Error);
}

}  // namespace
}  // namespace dg
