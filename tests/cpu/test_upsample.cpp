// Nearest-neighbour upsampling: forward on known values, backward against central finite differences.
#include "kernels/upsample.h"
#include "tests/test_util.h"

namespace dg {
namespace {

TEST(UpsampleNearest, ForwardRepeatsEachPixel) {
  Context ctx(Device::CPU);
  const std::vector<float> x = {1, 2, 3,
                                4, 5, 6};
  std::vector<float> y(4 * 6);
  upsample_nearest_forward(ctx, x.data(), y.data(), 1, 2, 3, 2);
  const std::vector<float> want = {1, 1, 2, 2, 3, 3,
                                   1, 1, 2, 2, 3, 3,
                                   4, 4, 5, 5, 6, 6,
                                   4, 4, 5, 5, 6, 6};
  EXPECT_EQ(y, want);
}

// Tolerance: upsampling is linear, so eps 0.1 gives exact differences up to float rounding of at most f*f
// outputs (< 1e-5); atol 1e-3, rtol 1e-3.
TEST(UpsampleNearest, BackwardMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  struct Case { int BC, H, W, f; };
  for (const Case c : {Case{2, 3, 5, 2}, Case{3, 4, 3, 3}, Case{1, 2, 2, 1}}) {
    const size_t n_in = size_t(c.BC) * c.H * c.W, n_out = n_in * c.f * c.f;
    const auto x = test::random_vec(n_in, 1), r = test::random_vec(n_out, 2);
    std::vector<float> dx(n_in, 4.0f);
    upsample_nearest_backward(ctx, r.data(), dx.data(), c.BC, c.H, c.W, c.f);
    auto loss = [&](const std::vector<float>& xp) {
      std::vector<float> y(n_out);
      upsample_nearest_forward(ctx, xp.data(), y.data(), c.BC, c.H, c.W, c.f);
      return test::dot(y, r);
    };
    test::expect_grad_close(loss, x, dx, 0.1, 1e-3, 1e-3, "upsample f" + std::to_string(c.f), 200);
  }
}

}  // namespace
}  // namespace dg
