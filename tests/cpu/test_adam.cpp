// Adam: one step against a hand-written double-precision update (with and without decoupled weight decay),
// from zero and from non-zero moment estimates.
#include <cmath>

#include "kernels/adam.h"
#include "tests/test_util.h"

namespace dg {
namespace {

struct Ref {
  std::vector<double> p, m, v;
};

Ref reference_step(const std::vector<float>& p, const std::vector<float>& g, const std::vector<float>& m,
                   const std::vector<float>& v, const AdamConfig& c, int64_t step) {
  Ref r{{p.begin(), p.end()}, {m.begin(), m.end()}, {v.begin(), v.end()}};
  const double b1 = c.beta1, b2 = c.beta2;
  for (size_t i = 0; i < p.size(); ++i) {
    r.m[i] = b1 * r.m[i] + (1 - b1) * g[i];
    r.v[i] = b2 * r.v[i] + (1 - b2) * double(g[i]) * g[i];
    const double mhat = r.m[i] / (1 - std::pow(b1, double(step)));
    const double vhat = r.v[i] / (1 - std::pow(b2, double(step)));
    r.p[i] -= double(c.lr) * (mhat / (std::sqrt(vhat) + c.eps) + double(c.weight_decay) * p[i]);
  }
  return r;
}

// Tolerance: the kernel runs in float; a few float roundings on values of order 1 stay below 1e-6 relative.
void expect_step_matches(const AdamConfig& cfg, int64_t step, bool zero_moments) {
  Context ctx(Device::CPU);
  const int n = 300;
  std::vector<float> p = test::random_vec(n, 1), g = test::random_vec(n, 2, -2.0f, 2.0f);
  std::vector<float> m(n, 0.0f), v(n, 0.0f);
  if (!zero_moments) {
    m = test::random_vec(n, 3, -0.5f, 0.5f);
    v = test::random_vec(n, 4, 0.01f, 1.0f);
  }
  const Ref ref = reference_step(p, g, m, v, cfg, step);
  adam_step(ctx, p.data(), g.data(), m.data(), v.data(), n, cfg, step);
  for (int i = 0; i < n; ++i) {
    EXPECT_NEAR(m[i], ref.m[i], 1e-6 * (1 + std::fabs(ref.m[i]))) << i;
    EXPECT_NEAR(v[i], ref.v[i], 1e-6 * (1 + std::fabs(ref.v[i]))) << i;
    EXPECT_NEAR(p[i], ref.p[i], 1e-6 * (1 + std::fabs(ref.p[i]))) << i;
  }
}

TEST(Adam, FirstStepMatchesDoubleReference) {
  AdamConfig cfg;
  cfg.lr = 1e-2f;
  expect_step_matches(cfg, 1, true);
}

TEST(Adam, LaterStepMatchesDoubleReference) {
  AdamConfig cfg;
  cfg.lr = 3e-3f;
  cfg.beta1 = 0.8f;
  cfg.beta2 = 0.99f;
  expect_step_matches(cfg, 17, false);
}

TEST(Adam, WeightDecayMatchesDoubleReference) {
  AdamConfig cfg;
  cfg.lr = 1e-2f;
  cfg.weight_decay = 0.1f;
  expect_step_matches(cfg, 1, true);
  expect_step_matches(cfg, 5, false);
}

// On step 1 from zero moments, mhat / sqrt(vhat) = sign(g): each parameter moves by lr (eps aside).
TEST(Adam, FirstStepMovesByLearningRate) {
  Context ctx(Device::CPU);
  AdamConfig cfg;
  cfg.lr = 0.5f;
  std::vector<float> p = {1.0f, 1.0f}, g = {3.0f, -0.25f}, m(2, 0.0f), v(2, 0.0f);
  adam_step(ctx, p.data(), g.data(), m.data(), v.data(), 2, cfg, 1);
  EXPECT_NEAR(p[0], 0.5f, 1e-6);
  EXPECT_NEAR(p[1], 1.5f, 1e-6);
}

}  // namespace
}  // namespace dg
