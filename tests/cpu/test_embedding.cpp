// Embedding lookup: forward rows, backward accumulation with repeated ids against central finite differences,
// and rejection of out-of-range ids.
#include "kernels/embedding.h"
#include "tests/test_util.h"

namespace dg {
namespace {

TEST(Embedding, ForwardCopiesRows) {
  Context ctx(Device::CPU);
  const int V = 3, D = 2;
  const std::vector<float> table = {0, 1, 10, 11, 20, 21};
  const std::vector<int32_t> ids = {2, 0, 2};
  std::vector<float> y(6);
  embedding_forward(ctx, table.data(), ids.data(), y.data(), 3, V, D);
  EXPECT_EQ(y, (std::vector<float>{20, 21, 0, 1, 20, 21}));
}

// Tolerance: the lookup is linear in the table, so eps 0.1 differences are exact up to float rounding of the
// few outputs sharing a row (< 1e-6); atol 1e-4, rtol 1e-4.
TEST(Embedding, BackwardAccumulatesRepeatedIds) {
  Context ctx(Device::CPU);
  const int V = 5, D = 4, B = 9;
  const std::vector<int32_t> ids = {3, 1, 3, 0, 3, 1, 4, 0, 3};  // id 2 never appears: its row gets nothing
  const auto table = test::random_vec(size_t(V) * D, 1), r = test::random_vec(size_t(B) * D, 2);
  const auto d0 = test::random_vec(size_t(V) * D, 3);
  std::vector<float> dtable = d0;
  embedding_backward(ctx, r.data(), ids.data(), dtable.data(), B, V, D);
  std::vector<float> grad(dtable.size());
  for (size_t i = 0; i < grad.size(); ++i) grad[i] = dtable[i] - d0[i];
  auto loss = [&](const std::vector<float>& tp) {
    std::vector<float> y(size_t(B) * D);
    embedding_forward(ctx, tp.data(), ids.data(), y.data(), B, V, D);
    return test::dot(y, r);
  };
  test::expect_grad_close(loss, table, grad, 0.1, 1e-4, 1e-4, "embedding dtable");
  for (int d = 0; d < D; ++d) EXPECT_EQ(dtable[2 * D + d], d0[2 * D + d]);
}

TEST(Embedding, RejectsOutOfRangeIds) {
  Context ctx(Device::CPU);
  const std::vector<float> table(6);
  const std::vector<int32_t> ids = {0, 3};
  std::vector<float> y(4);
  EXPECT_THROW(embedding_forward(ctx, table.data(), ids.data(), y.data(), 2, 3, 2), Error);
}

}  // namespace
}  // namespace dg
