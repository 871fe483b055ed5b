// rowwise_dot: known values, both input gradients against central finite differences, accumulate mode.
#include "kernels/rowwise_dot.h"
#include "tests/test_util.h"

namespace dg {
namespace {

TEST(RowwiseDot, KnownValues) {
  Context ctx(Device::CPU);
  const std::vector<float> a = {1, 2, 3, -1, 0, 2}, c = {4, 5, 6, 1, 7, 0.5f};
  std::vector<float> y(2);
  rowwise_dot_forward(ctx, a.data(), c.data(), y.data(), 2, 3);
  EXPECT_EQ(y, (std::vector<float>{32.0f, 0.0f}));
}

// Tolerance: the loss r . y is bilinear in (a, c), so central differences are exact up to float rounding of the
// row sums (|y| < ~10, rounding ~1e-6 over 2 eps = 2e-3): atol 1e-3, rtol 1e-3.
TEST(RowwiseDot, BackwardMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  const int B = 5, D = 7;
  const auto a = test::random_vec(size_t(B) * D, 1), c = test::random_vec(size_t(B) * D, 2);
  const auto r = test::random_vec(size_t(B), 3);
  std::vector<float> da(a.size()), dc(c.size());
  rowwise_dot_backward(ctx, r.data(), a.data(), c.data(), da.data(), dc.data(), B, D, Grad::Overwrite);
  auto loss_a = [&](const std::vector<float>& p) {
    std::vector<float> y(B);
    rowwise_dot_forward(ctx, p.data(), c.data(), y.data(), B, D);
    return test::dot(y, r);
  };
  auto loss_c = [&](const std::vector<float>& p) {
    std::vector<float> y(B);
    rowwise_dot_forward(ctx, a.data(), p.data(), y.data(), B, D);
    return test::dot(y, r);
  };
  test::expect_grad_close(loss_a, a, da, 1e-3, 1e-3, 1e-3, "da");
  test::expect_grad_close(loss_c, c, dc, 1e-3, 1e-3, 1e-3, "dc");

  // Accumulate adds onto what is there; a null pointer skips that gradient.
  std::vector<float> acc(a.size(), 1.0f);
  rowwise_dot_backward(ctx, r.data(), a.data(), c.data(), acc.data(), nullptr, B, D, Grad::Accumulate);
  for (size_t i = 0; i < acc.size(); ++i) EXPECT_FLOAT_EQ(acc[i], 1.0f + da[i]);
}

}  // namespace
}  // namespace dg
