// Per-channel bias: forward layout ([rows, C, inner]) and backward against central finite differences of
// L = dot(y, r), for the Linear (inner = 1) and conv (inner > 1) shapes, overwrite and accumulate.
#include "kernels/bias.h"
#include "tests/test_util.h"

namespace dg {
namespace {

TEST(Bias, ForwardAddsPerChannel) {
  Context ctx(Device::CPU);
  const int rows = 2, C = 3, inner = 2;
  std::vector<float> y(rows * C * inner, 1.0f);
  const std::vector<float> b = {10.0f, 20.0f, 30.0f};
  bias_forward(ctx, y.data(), b.data(), rows, C, inner);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < C; ++c)
      for (int i = 0; i < inner; ++i) EXPECT_FLOAT_EQ(y[(r * C + c) * inner + i], 1.0f + b[c]);
}

// Tolerance: y is linear in b, so central differences are exact up to float rounding of y (|y| ~ 1, eps 1e-2:
// about 1e-5 per element, times rows * inner terms of |r| <= 1), well inside 1e-3.
TEST(Bias, BackwardMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  for (int inner : {1, 5}) {
    const int rows = 4, C = 6, n = rows * C * inner;
    const std::vector<float> x = test::random_vec(n, 1), r = test::random_vec(n, 2), b = test::random_vec(C, 3);
    std::vector<float> db(C, 123.0f);  // overwritten
    bias_backward(ctx, r.data(), db.data(), rows, C, inner, Grad::Overwrite);
    auto loss = [&](const std::vector<float>& bp) {
      std::vector<float> y = x;
      bias_forward(ctx, y.data(), bp.data(), rows, C, inner);
      return test::dot(y, r);
    };
    test::expect_grad_close(loss, b, db, 1e-2, 1e-3, 1e-3, "bias inner " + std::to_string(inner));

    std::vector<float> acc(C, 1.0f);
    bias_backward(ctx, r.data(), acc.data(), rows, C, inner, Grad::Accumulate);
    for (int c = 0; c < C; ++c) EXPECT_NEAR(acc[c], 1.0f + db[c], 1e-5) << c;
  }
}

}  // namespace
}  // namespace dg
