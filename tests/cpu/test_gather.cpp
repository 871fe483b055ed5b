// Data-side ops: image gather with /255 conversion and indexing, label gather, axpby (with its gradient
// against finite differences and beta = 0 ignoring old contents) and fill.
#include <cmath>
#include <limits>

#include "kernels/gather.h"
#include "tests/test_util.h"

namespace dg {
namespace {

TEST(Gather, ImagesByIndexScaledToUnit) {
  Context ctx(Device::CPU);
  const int N = 3, P = 4;
  std::vector<uint8_t> images(N * P);
  for (int i = 0; i < N * P; ++i) images[i] = uint8_t(i * 20);
  images[5] = 255;
  const std::vector<int32_t> idx = {2, 0, 1, 2};
  std::vector<float> out(idx.size() * P, -1.0f);
  gather_images(ctx, images.data(), idx.data(), out.data(), int(idx.size()), P);
  for (size_t b = 0; b < idx.size(); ++b)
    for (int p = 0; p < P; ++p)
      EXPECT_FLOAT_EQ(out[b * P + p], images[idx[b] * P + p] / 255.0f) << b << "," << p;
  EXPECT_FLOAT_EQ(out[2 * P + 1], 1.0f);  // images[1, 1] = 255
  EXPECT_FLOAT_EQ(out[1 * P + 0], 0.0f);  // images[0, 0] = 0
}

TEST(Gather, LabelsByIndex) {
  Context ctx(Device::CPU);
  const std::vector<uint8_t> labels = {7, 3, 9, 0};
  const std::vector<int32_t> idx = {3, 2, 2, 0};
  std::vector<int32_t> out(4, -1);
  gather_labels(ctx, labels.data(), idx.data(), out.data(), 4);
  EXPECT_EQ(out, (std::vector<int32_t>{0, 9, 9, 7}));
}

TEST(Gather, RejectsNegativeIndex) {
  Context ctx(Device::CPU);
  const std::vector<uint8_t> labels = {1, 2};
  const std::vector<int32_t> idx = {0, -1};
  std::vector<int32_t> out(2);
  EXPECT_THROW(gather_labels(ctx, labels.data(), idx.data(), out.data(), 2), Error);
}

TEST(Axpby, KnownValuesAndBetaZero) {
  Context ctx(Device::CPU);
  const std::vector<float> x = {1.0f, -2.0f, 4.0f};
  std::vector<float> y = {10.0f, 20.0f, 30.0f};
  axpby(ctx, 0.5f, x.data(), 2.0f, y.data(), 3);
  EXPECT_EQ(y, (std::vector<float>{20.5f, 39.0f, 62.0f}));
  std::vector<float> junk(3, std::numeric_limits<float>::quiet_NaN());
  axpby(ctx, 3.0f, x.data(), 0.0f, junk.data(), 3);
  EXPECT_EQ(junk, (std::vector<float>{3.0f, -6.0f, 12.0f}));
}

// Tolerance: the output is linear in x and y, so differences are exact up to float rounding (~1e-7 relative)
// over eps 1e-2.
TEST(Axpby, GradientsMatchFiniteDifferences) {
  Context ctx(Device::CPU);
  const int n = 50;
  const float alpha = 0.7f, beta = -1.3f;
  const std::vector<float> x = test::random_vec(n, 1), y = test::random_vec(n, 2), r = test::random_vec(n, 3);
  std::vector<float> dx(n), dy(n);
  for (int i = 0; i < n; ++i) {
    dx[i] = alpha * r[i];
    dy[i] = beta * r[i];
  }
  auto loss = [&](const std::vector<float>& xp, std::vector<float> yp) {
    axpby(ctx, alpha, xp.data(), beta, yp.data(), n);
    return test::dot(yp, r);
  };
  test::expect_grad_close([&](const std::vector<float>& xp) { return loss(xp, y); }, x, dx, 1e-2, 1e-4, 1e-3,
                          "axpby dx");
  test::expect_grad_close([&](const std::vector<float>& yp) { return loss(x, yp); }, y, dy, 1e-2, 1e-4, 1e-3,
                          "axpby dy");
}

TEST(Fill, SetsEveryElement) {
  Context ctx(Device::CPU);
  std::vector<float> y(37, 1.0f);
  fill(ctx, y.data(), -2.5f, 36);
  for (int i = 0; i < 36; ++i) EXPECT_EQ(y[i], -2.5f);
  EXPECT_EQ(y[36], 1.0f);
}

}  // namespace
}  // namespace dg
