// Channel concatenation: forward layout on known values, backward against central finite differences for both
// inputs, and null gradient outputs.
#include "kernels/concat.h"
#include "tests/test_util.h"

namespace dg {
namespace {

TEST(ConcatChannels, ForwardInterleavesPerBatchItem) {
  Context ctx(Device::CPU);
  // B=2, Ca=1, Cb=2, S=2
  const std::vector<float> a = {1, 2, 3, 4}, b = {10, 11, 12, 13, 20, 21, 22, 23};
  std::vector<float> y(12);
  concat_channels_forward(ctx, a.data(), b.data(), y.data(), 2, 1, 2, 2);
  const std::vector<float> want = {1, 2, 10, 11, 12, 13, 3, 4, 20, 21, 22, 23};
  EXPECT_EQ(y, want);
}

// Tolerance: concatenation is linear and copies values exactly, so differences with eps 0.1 match to float
// rounding of one output (< 1e-6); atol 1e-4, rtol 1e-4.
TEST(ConcatChannels, BackwardMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  const int B = 3, Ca = 2, Cb = 3, S = 5;
  const auto a = test::random_vec(size_t(B) * Ca * S, 1), b = test::random_vec(size_t(B) * Cb * S, 2);
  const auto r = test::random_vec(size_t(B) * (Ca + Cb) * S, 3);
  std::vector<float> da(a.size(), 9.0f), db(b.size(), 9.0f);
  concat_channels_backward(ctx, r.data(), da.data(), db.data(), B, Ca, Cb, S);
  auto loss_a = [&](const std::vector<float>& ap) {
    std::vector<float> y(r.size());
    concat_channels_forward(ctx, ap.data(), b.data(), y.data(), B, Ca, Cb, S);
    return test::dot(y, r);
  };
  auto loss_b = [&](const std::vector<float>& bp) {
    std::vector<float> y(r.size());
    concat_channels_forward(ctx, a.data(), bp.data(), y.data(), B, Ca, Cb, S);
    return test::dot(y, r);
  };
  test::expect_grad_close(loss_a, a, da, 0.1, 1e-4, 1e-4, "concat da", 100);
  test::expect_grad_close(loss_b, b, db, 0.1, 1e-4, 1e-4, "concat db", 100);

  // Either output may be skipped.
  std::vector<float> db_only(b.size());
  concat_channels_backward(ctx, r.data(), nullptr, db_only.data(), B, Ca, Cb, S);
  EXPECT_EQ(db_only, db);
  std::vector<float> da_only(a.size());
  concat_channels_backward(ctx, r.data(), da_only.data(), nullptr, B, Ca, Cb, S);
  EXPECT_EQ(da_only, da);
}

}  // namespace
}  // namespace dg
