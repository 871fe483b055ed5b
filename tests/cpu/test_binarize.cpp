// Stochastic binarization: the expected fraction of ones, exact 0 and 1 kept, fixed for a (seed, index, step).
#include "kernels/binarize.h"
#include "tests/test_util.h"

namespace dg {
namespace {

TEST(Binarize, OnesAppearWithThePixelProbability) {
  Context ctx(Device::CPU);
  const int n = 200000;
  std::vector<float> x(n, 0.3f), y(n);
  x[0] = 0.0f;
  x[1] = 1.0f;
  binarize(ctx, x.data(), y.data(), n, 7, 0, 0);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[1], 1.0f);
  double ones = 0;
  for (int i = 2; i < n; ++i) {
    ASSERT_TRUE(y[i] == 0.0f || y[i] == 1.0f);
    ones += y[i];
  }
  EXPECT_NEAR(ones / (n - 2), 0.3, 0.005);
  std::vector<float> again(n), shifted(n);
  binarize(ctx, x.data(), again.data(), n, 7, 0, 0);
  EXPECT_EQ(again, y);
  binarize(ctx, x.data(), shifted.data(), n, 7, 0, 1);
  EXPECT_NE(shifted, y);
}

}  // namespace
}  // namespace dg
