// One-hot encoding: known values (every element written, stale contents overwritten) and rejection of labels
// outside [0, K). The op has no backward.
#include "kernels/one_hot.h"
#include "tests/test_util.h"

namespace dg {
namespace {

TEST(OneHot, ForwardKnownValues) {
  Context ctx(Device::CPU);
  const std::vector<int32_t> labels = {2, 0, 3, 2};
  std::vector<float> y(16, 7.0f);  // stale values must not survive
  one_hot(ctx, labels.data(), y.data(), 4, 4);
  const std::vector<float> want = {0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0};
  EXPECT_EQ(y, want);
}

TEST(OneHot, RejectsLabelsOutsideRange) {
  Context ctx(Device::CPU);
  std::vector<float> y(20);
  const std::vector<int32_t> high = {0, 10}, low = {-1, 3};
  EXPECT_THROW(one_hot(ctx, high.data(), y.data(), 2, 10), Error);
  EXPECT_THROW(one_hot(ctx, low.data(), y.data(), 2, 10), Error);
}

}  // namespace
}  // namespace dg
