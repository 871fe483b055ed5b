// Row softmax: known values, large inputs stay finite, the backward against central finite differences.
#include <cmath>

#include "kernels/softmax.h"
#include "tests/test_util.h"

namespace dg {
namespace {

TEST(Softmax, KnownValuesAndLargeInputs) {
  Context ctx(Device::CPU);
  const std::vector<float> x = {0.0f, std::log(3.0f), 1000.0f, 1000.0f};
  std::vector<float> y(4);
  softmax_rows_forward(ctx, x.data(), y.data(), 2, 2, 1.0f);
  EXPECT_NEAR(y[0], 0.25f, 1e-6);
  EXPECT_NEAR(y[1], 0.75f, 1e-6);
  EXPECT_FLOAT_EQ(y[2], 0.5f);  // max-subtracted: no overflow
  EXPECT_FLOAT_EQ(y[3], 0.5f);
  std::vector<float> z = {0.0f, 2.0f * std::log(3.0f)};
  softmax_rows_forward(ctx, z.data(), z.data(), 1, 2, 0.5f);  // in place, scaled
  EXPECT_NEAR(z[0], 0.25f, 1e-6);
  EXPECT_NEAR(z[1], 0.75f, 1e-6);
}

// Tolerance: the loss r . y is smooth with |y| <= 1; float rounding over 2 eps = 2e-3 gives about 1e-4 absolute
// noise in a difference quotient: atol 5e-4, rtol 1e-2.
TEST(Softmax, BackwardMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  const int R = 3, D = 7;
  const float scale = 0.7f;
  const auto x = test::random_vec(size_t(R) * D, 1, -2.0f, 2.0f), r = test::random_vec(size_t(R) * D, 2);
  std::vector<float> y(x.size()), dx(x.size());
  softmax_rows_forward(ctx, x.data(), y.data(), R, D, scale);
  softmax_rows_backward(ctx, y.data(), r.data(), dx.data(), R, D, scale);
  auto loss = [&](const std::vector<float>& p) {
    std::vector<float> yy(p.size());
    softmax_rows_forward(ctx, p.data(), yy.data(), R, D, scale);
    return test::dot(yy, r);
  };
  test::expect_grad_close(loss, x, dx, 1e-3, 5e-4, 1e-2, "dx");
}

}  // namespace
}  // namespace dg
