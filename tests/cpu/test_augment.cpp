// random_shift: every output image is its input moved by a whole-pixel offset within the bound, offsets vary
// across images and steps, and a zero bound is the identity.
#include "kernels/augment.h"
#include "tests/test_util.h"

namespace dg {
namespace {

// The offset (dr, dc) with y[r][c] = x[r - dr][c - dc], found by search; false if none matches.
bool find_offset(const float* x, const float* y, int H, int W, int max_shift, int* dr, int* dc) {
  for (int a = -max_shift; a <= max_shift; ++a)
    for (int b = -max_shift; b <= max_shift; ++b) {
      bool ok = true;
      for (int r = 0; r < H && ok; ++r)
        for (int c = 0; c < W && ok; ++c) {
          const int sr = r - a, sc = c - b;
          const float want = (sr >= 0 && sr < H && sc >= 0 && sc < W) ? x[sr * W + sc] : 0.0f;
          ok = y[r * W + c] == want;
        }
      if (ok) {
        *dr = a;
        *dc = b;
        return true;
      }
    }
  return false;
}

TEST(RandomShift, OutputsAreShiftedCopiesWithinTheBound) {
  Context ctx(Device::CPU);
  const int B = 64, H = 9, W = 7, S = 2;
  const std::vector<float> x = test::random_vec(size_t(B) * H * W, 1, 0.1f, 1.0f);  // no zeros: offsets are unique
  std::vector<float> y(x.size());
  random_shift(ctx, x.data(), y.data(), B, H, W, S, 5, 0, 3);
  std::vector<int> seen(25, 0);
  for (int b = 0; b < B; ++b) {
    int dr = 0, dc = 0;
    ASSERT_TRUE(find_offset(x.data() + b * H * W, y.data() + b * H * W, H, W, S, &dr, &dc)) << "image " << b;
    seen[size_t((dr + S) * 5 + dc + S)]++;
  }
  int distinct = 0;
  for (int s : seen) distinct += s > 0;
  EXPECT_GE(distinct, 15);  // 64 draws over 25 offsets
  std::vector<float> other(x.size()), identity(x.size());
  random_shift(ctx, x.data(), other.data(), B, H, W, S, 5, 0, 4);
  EXPECT_NE(other, y);
  random_shift(ctx, x.data(), identity.data(), B, H, W, 0, 5, 0, 3);
  EXPECT_EQ(identity, x);
}

}  // namespace
}  // namespace dg
