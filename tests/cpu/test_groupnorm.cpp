// Group normalisation: forward against a double-precision reference, per-sample independence, all three gradients
// against central finite differences, accumulate mode, and the GroupNorm layer's parameters.
#include <cmath>

#include "kernels/groupnorm.h"
#include "models/unet.h"
#include "tests/test_util.h"

namespace dg {
namespace {

std::vector<double> gn_ref(const std::vector<float>& x, const std::vector<float>& gamma, const std::vector<float>& beta,
                           int B, int C, int HW, int G, double eps) {
  std::vector<double> y(x.size());
  const int cg = C / G;
  const double n = double(cg) * HW;
  for (int b = 0; b < B; ++b)
    for (int g = 0; g < G; ++g) {
      const size_t base = size_t((b * C + g * cg) * HW);
      double s = 0, sq = 0;
      for (size_t k = 0; k < size_t(n); ++k) s += x[base + k];
      const double mu = s / n;
      for (size_t k = 0; k < size_t(n); ++k) sq += (x[base + k] - mu) * (x[base + k] - mu);
      const double is = 1.0 / std::sqrt(sq / n + eps);
      for (size_t k = 0; k < size_t(n); ++k) {
        const size_t c = size_t(g * cg) + k / size_t(HW);
        y[base + k] = gamma[c] * (x[base + k] - mu) * is + beta[c];
      }
    }
  return y;
}

TEST(GroupNorm, ForwardMatchesDoubleReference) {
  Context ctx(Device::CPU);
  const int B = 3, C = 6, HW = 5, G = 3;
  const auto x = test::random_vec(size_t(B) * C * HW, 1, -2.0f, 3.0f);
  const auto gamma = test::random_vec(size_t(C), 2, 0.5f, 1.5f), beta = test::random_vec(size_t(C), 3);
  std::vector<float> y(x.size()), mean(size_t(B) * G), inv_std(size_t(B) * G);
  groupnorm_forward(ctx, x.data(), gamma.data(), beta.data(), y.data(), mean.data(), inv_std.data(), B, C, HW, G, 1e-5f);
  const auto ref = gn_ref(x, gamma, beta, B, C, HW, G, 1e-5);
  for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-5) << i;
  // Sample 1 alone gives the same outputs: no statistics cross the batch.
  std::vector<float> y1(size_t(C) * HW), m1(static_cast<size_t>(G)), s1(static_cast<size_t>(G));
  groupnorm_forward(ctx, x.data() + C * HW, gamma.data(), beta.data(), y1.data(), m1.data(), s1.data(), 1, C, HW, G,
                    1e-5f);
  for (size_t i = 0; i < y1.size(); ++i) EXPECT_EQ(y1[i], y[size_t(C * HW) + i]) << i;
}

// Tolerance: the loss r . y is smooth; float rounding of y (|y| < ~5, rounding ~1e-6) over 2 eps = 2e-3 gives
// about 1e-3 absolute noise in a difference quotient: atol 3e-3, rtol 1e-2.
TEST(GroupNorm, BackwardMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  const int B = 2, C = 4, HW = 6, G = 2;
  const auto x = test::random_vec(size_t(B) * C * HW, 4, -2.0f, 2.0f);
  const auto gamma = test::random_vec(size_t(C), 5, 0.5f, 1.5f), beta = test::random_vec(size_t(C), 6);
  const auto r = test::random_vec(x.size(), 7);
  std::vector<float> mean(size_t(B) * G), inv_std(size_t(B) * G), y(x.size());
  auto forward = [&](const std::vector<float>& xx, const std::vector<float>& gg, const std::vector<float>& bb) {
    std::vector<float> yy(xx.size()), m(size_t(B) * G), s(size_t(B) * G);
    groupnorm_forward(ctx, xx.data(), gg.data(), bb.data(), yy.data(), m.data(), s.data(), B, C, HW, G, 1e-5f);
    return test::dot(yy, r);
  };
  groupnorm_forward(ctx, x.data(), gamma.data(), beta.data(), y.data(), mean.data(), inv_std.data(), B, C, HW, G, 1e-5f);
  std::vector<float> dx(x.size()), dgamma(static_cast<size_t>(C)), dbeta(static_cast<size_t>(C));
  groupnorm_backward(ctx, x.data(), r.data(), gamma.data(), mean.data(), inv_std.data(), dx.data(), dgamma.data(),
                     dbeta.data(), B, C, HW, G, Grad::Overwrite);
  test::expect_grad_close([&](const std::vector<float>& p) { return forward(p, gamma, beta); }, x, dx, 1e-3, 3e-3, 1e-2,
                          "dx");
  test::expect_grad_close([&](const std::vector<float>& p) { return forward(x, p, beta); }, gamma, dgamma, 1e-3, 3e-3,
                          1e-2, "dgamma");
  test::expect_grad_close([&](const std::vector<float>& p) { return forward(x, gamma, p); }, beta, dbeta, 1e-3, 3e-3,
                          1e-2, "dbeta");
  // Accumulate adds the parameter gradients onto what is there; null pointers skip them.
  std::vector<float> acc(size_t(C), 1.0f);
  groupnorm_backward(ctx, x.data(), r.data(), gamma.data(), mean.data(), inv_std.data(), nullptr, acc.data(), nullptr, B,
                     C, HW, G, Grad::Accumulate);
  for (int c = 0; c < C; ++c) EXPECT_FLOAT_EQ(acc[size_t(c)], 1.0f + dgamma[size_t(c)]);
}

TEST(GroupNorm, LayerNormalisesEachGroupAndPicksGroupCounts) {
  EXPECT_EQ(GroupNorm::groups_for(256), 32);
  EXPECT_EQ(GroupNorm::groups_for(64), 16);
  EXPECT_EQ(GroupNorm::groups_for(16), 4);
  EXPECT_EQ(GroupNorm::groups_for(12), 2);
  EXPECT_EQ(GroupNorm::groups_for(6), 1);
  Context ctx(Device::CPU);
  ParamStore ps;
  GroupNorm gn(ps, "gn", 8, 4);
  ps.finalize(ctx, 1);
  const auto xh = test::random_vec(size_t(2) * 8 * 9, 8, 1.0f, 5.0f);
  const Tensor y = gn.forward(ctx, Tensor::from_host(ctx, {2, 8, 3, 3}, xh.data()), StepInfo{});
  const std::vector<float> yh = y.to_host(ctx);
  for (int bg = 0; bg < 8; ++bg) {  // gamma 1, beta 0: every group has mean 0 and variance 1
    double s = 0, sq = 0;
    for (int k = 0; k < 18; ++k) s += yh[size_t(bg * 18 + k)];
    for (int k = 0; k < 18; ++k) sq += yh[size_t(bg * 18 + k)] * yh[size_t(bg * 18 + k)];
    EXPECT_NEAR(s / 18, 0.0, 1e-5);
    EXPECT_NEAR(sq / 18, 1.0, 1e-3);
  }
  EXPECT_THROW(GroupNorm(ps, "bad", 6, 4), Error);
}

}  // namespace
}  // namespace dg
