// Max and average pooling: forward on hand-computed values, backward against central finite differences for
// non-overlapping, overlapping and gapped windows on non-square inputs.
#include <algorithm>
#include <numeric>

#include "kernels/pool.h"
#include "tests/test_util.h"

namespace dg {
namespace {

std::vector<PoolGeom> geometries() {
  return {
      {3, 6, 8, 2, 2},  // the usual 2x2/2
      {2, 7, 5, 2, 2},  // odd sizes: the last row and column belong to no window
      {2, 7, 9, 3, 2},  // overlapping windows
      {2, 6, 5, 3, 1},  // heavily overlapping
      {2, 8, 7, 2, 3},  // gaps between windows
  };
}

std::string name(const PoolGeom& g) {
  return "BC" + std::to_string(g.BC) + " " + std::to_string(g.H) + "x" + std::to_string(g.W) + " K" +
         std::to_string(g.K) + " s" + std::to_string(g.stride);
}

// Distinct values spaced 0.05 apart in random order: a perturbation of +-eps (1e-2) never changes which input
// wins a window, so the max is locally linear at every checked point.
std::vector<float> distinct_values(size_t n, uint32_t seed) {
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937(seed));
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = 0.05f * float(order[i] - int(n) / 2);
  return x;
}

TEST(MaxPool, ForwardPicksMaxAndFirstArgmaxOnTies) {
  Context ctx(Device::CPU);
  // One 3x4 plane, K=2, stride 2 -> 1x2; the second window holds a tie (5, 5) and must report the first.
  const PoolGeom g{1, 3, 4, 2, 2};
  const std::vector<float> x = {1, 4, 5, 0,
                                3, 2, 5, 1,
                                9, 9, 9, 9};
  std::vector<float> y(2);
  std::vector<int32_t> am(2);
  maxpool2d_forward(ctx, g, x.data(), y.data(), am.data());
  EXPECT_EQ(y[0], 4.0f);
  EXPECT_EQ(am[0], 1);
  EXPECT_EQ(y[1], 5.0f);
  EXPECT_EQ(am[1], 2);
}

// Tolerance: the loss is linear around each checked point (see distinct_values), so only float rounding of a
// handful of outputs remains: atol 1e-3, rtol 1e-3.
TEST(MaxPool, BackwardMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  uint32_t seed = 1;
  for (const PoolGeom& g : geometries()) {
    const size_t n_in = size_t(g.BC) * g.H * g.W, n_out = size_t(g.BC) * g.Ho() * g.Wo();
    const auto x = distinct_values(n_in, ++seed), r = test::random_vec(n_out, ++seed);
    std::vector<float> y(n_out), dx(n_in, 3.0f);
    std::vector<int32_t> am(n_out);
    maxpool2d_forward(ctx, g, x.data(), y.data(), am.data());
    maxpool2d_backward(ctx, g, r.data(), am.data(), dx.data());
    auto loss = [&](const std::vector<float>& xp) {
      std::vector<float> yp(n_out);
      std::vector<int32_t> amp(n_out);
      maxpool2d_forward(ctx, g, xp.data(), yp.data(), amp.data());
      return test::dot(yp, r);
    };
    test::expect_grad_close(loss, x, dx, 1e-2, 1e-3, 1e-3, "maxpool " + name(g), 400);
  }
}

TEST(AvgPool, ForwardAveragesWindows) {
  Context ctx(Device::CPU);
  const PoolGeom g{1, 2, 4, 2, 2};
  const std::vector<float> x = {1, 2, 3, 4,
                                5, 6, 7, 9};
  std::vector<float> y(2);
  avgpool2d_forward(ctx, g, x.data(), y.data());
  EXPECT_FLOAT_EQ(y[0], 3.5f);
  EXPECT_FLOAT_EQ(y[1], 5.75f);
}

// Tolerance: average pooling is linear, so eps 0.1 has no truncation error; float rounding stays below 1e-5.
TEST(AvgPool, BackwardMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  uint32_t seed = 50;
  for (const PoolGeom& g : geometries()) {
    const size_t n_in = size_t(g.BC) * g.H * g.W, n_out = size_t(g.BC) * g.Ho() * g.Wo();
    const auto x = test::random_vec(n_in, ++seed), r = test::random_vec(n_out, ++seed);
    std::vector<float> dx(n_in, 3.0f);
    avgpool2d_backward(ctx, g, r.data(), dx.data());
    auto loss = [&](const std::vector<float>& xp) {
      std::vector<float> yp(n_out);
      avgpool2d_forward(ctx, g, xp.data(), yp.data());
      return test::dot(yp, r);
    };
    test::expect_grad_close(loss, x, dx, 0.1, 1e-3, 1e-3, "avgpool " + name(g), 400);
  }
}

}  // namespace
}  // namespace dg
