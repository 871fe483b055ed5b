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

}  // namespace
}  // namespace dg
