// Activations: forward values and backward against central finite differences, per activation.
#include "kernels/activation.h"
#include "tests/test_util.h"

namespace dg {
namespace {

const Activation kAll[] = {Activation::ReLU, Activation::LeakyReLU, Activation::SiLU, Activation::Sigmoid,
                           Activation::Tanh};

TEST(Activation, ForwardKnownValues) {
  Context ctx(Device::CPU);
  const std::vector<float> x = {-2.0f, 0.5f};
  std::vector<float> y(2);
  activation_forward(ctx, Activation::ReLU, 0.0f, x.data(), y.data(), 2);
  EXPECT_FLOAT_EQ(y[0], 0.0f);
  EXPECT_FLOAT_EQ(y[1], 0.5f);
  activation_forward(ctx, Activation::LeakyReLU, 0.2f, x.data(), y.data(), 2);
  EXPECT_FLOAT_EQ(y[0], -0.4f);
  activation_forward(ctx, Activation::Sigmoid, 0.0f, x.data(), y.data(), 2);
  EXPECT_NEAR(y[0], 1.0 / (1.0 + std::exp(2.0)), 1e-7);
  activation_forward(ctx, Activation::SiLU, 0.0f, x.data(), y.data(), 2);
  EXPECT_NEAR(y[1], 0.5 / (1.0 + std::exp(-0.5)), 1e-7);
  activation_forward(ctx, Activation::Tanh, 0.0f, x.data(), y.data(), 2);
  EXPECT_NEAR(y[0], std::tanh(-2.0), 1e-7);
}

// Tolerance: eps 1e-3 in float gives about 1e-3 absolute error on these smooth functions; ReLU's kink is
// avoided by keeping |x| > 0.05.
TEST(Activation, BackwardMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  const int n = 200;
  std::vector<float> x = test::random_vec(n, 1, -3.0f, 3.0f);
  for (auto& v : x)
    if (std::fabs(v) < 0.05f) v = 0.1f;
  const std::vector<float> r = test::random_vec(n, 2);
  for (Activation act : kAll) {
    const float alpha = 0.2f;
    std::vector<float> y(n), dx(n);
    activation_forward(ctx, act, alpha, x.data(), y.data(), n);
    activation_backward(ctx, act, alpha, x.data(), y.data(), r.data(), dx.data(), n);
    auto loss = [&](const std::vector<float>& xp) {
      std::vector<float> yp(n);
      activation_forward(ctx, act, alpha, xp.data(), yp.data(), n);
      return test::dot(yp, r);
    };
    test::expect_grad_close(loss, x, dx, 1e-3, 2e-3, 1e-2, "activation " + std::to_string(int(act)));
  }
}

// SiLU runs through a 16-lane vector path where the CPU has AVX-512 (a masked vector for the tail): its values and
// gradients must match the double-precision definition to a few float ulps, from deep saturation on both sides
// through zero, on a length that leaves a tail.
TEST(Activation, SiLUMatchesDoublePrecisionDefinition) {
  Context ctx(Device::CPU);
  const int n = 1000 + 7;
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) x[i] = -90.0f + 180.0f * float(i) / float(n - 1);
  x[3] = 0.0f;
  x[n - 1] = -1e-3f;
  const std::vector<float> dy = test::random_vec(n, 3);
  std::vector<float> y(n), dx(n);
  activation_forward(ctx, Activation::SiLU, 0.0f, x.data(), y.data(), n);
  activation_backward(ctx, Activation::SiLU, 0.0f, x.data(), y.data(), dy.data(), dx.data(), n);
  for (int i = 0; i < n; ++i) {
    const double s = 1.0 / (1.0 + std::exp(-double(x[i])));
    const double want_y = x[i] * s, want_dx = dy[i] * (s + x[i] * s * (1.0 - s));
    EXPECT_NEAR(y[i], want_y, 1e-6 * std::fabs(want_y) + 1e-37) << "x = " << x[i];
    EXPECT_NEAR(dx[i], want_dx, 2e-6 * std::fabs(dy[i]) * (1.0 + std::fabs(x[i]) * s) + 1e-37) << "x = " << x[i];
  }
}

}  // namespace
}  // namespace dg
