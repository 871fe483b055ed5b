// bce_logits_rows: each row's sum equals bce_logits_loss over that row alone, and `repeat` reuses one target row.
#include "kernels/bce_rows.h"
#include "kernels/loss.h"
#include "runtime/error.h"
#include "tests/test_util.h"

namespace dg {
namespace {

TEST(BceRows, RowSumsMatchTheLossAndRepeatSharesTargets) {
  Context ctx(Device::CPU);
  const int B = 6, P = 50, repeat = 3;
  const auto logits = test::random_vec(size_t(B) * P, 1, -6.0f, 6.0f);
  const auto target = test::random_vec(size_t(B / repeat) * P, 2, 0.0f, 1.0f);
  std::vector<float> rows(B);
  bce_logits_rows(ctx, logits.data(), target.data(), rows.data(), B, P, repeat);
  for (int b = 0; b < B; ++b) {
    float loss = 0;
    bce_logits_loss(ctx, logits.data() + size_t(b) * P, target.data() + size_t(b / repeat) * P, &loss, nullptr, P, 1.0f);
    EXPECT_NEAR(rows[size_t(b)], loss, 1e-4 * std::fabs(loss)) << "row " << b;
  }
  // Known value: logit 0 against any target costs ln 2 per pixel.
  const std::vector<float> zeros(4, 0.0f), half(4, 0.5f);
  float one = 0;
  bce_logits_rows(ctx, zeros.data(), half.data(), &one, 1, 4, 1);
  EXPECT_NEAR(one, 4.0 * std::log(2.0), 1e-6);
  EXPECT_THROW(bce_logits_rows(ctx, zeros.data(), half.data(), &one, 1, 4, 0), Error);
}

}  // namespace
}  // namespace dg
