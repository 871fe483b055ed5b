// sqdist_topk: the k smallest squared distances per query against a brute-force reference, merged over several
// reference blocks, lower index winning ties, and per-reference offsets (the ball test of precision and recall).
#include <algorithm>
#include <limits>
#include <numeric>

#include "kernels/gemm.h"
#include "kernels/sqdist_topk.h"
#include "runtime/error.h"
#include "tests/test_util.h"

namespace dg {
namespace {

struct Lists {
  std::vector<float> best;
  std::vector<int32_t> idx;
  Lists(int M, int k) : best(size_t(M) * k, std::numeric_limits<float>::infinity()), idx(size_t(M) * k, -1) {}
};

// Runs the op over the references in blocks of `block` (GEMM first, as the evaluation does).
Lists topk_in_blocks(Context& ctx, const std::vector<float>& q, const std::vector<float>& r, int M, int N, int D,
                     int k, int block) {
  auto norms = [D](const std::vector<float>& x, int n) {
    std::vector<float> out(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      double s = 0;
      for (int d = 0; d < D; ++d) s += double(x[size_t(i) * D + d]) * x[size_t(i) * D + d];
      out[size_t(i)] = float(s);
    }
    return out;
  };
  const std::vector<float> qn = norms(q, M), rn = norms(r, N);
  Lists l(M, k);
  for (int j0 = 0; j0 < N; j0 += block) {
    const int nb = std::min(block, N - j0);
    std::vector<float> dots(size_t(nb) * M);
    gemm(ctx, Transpose::No, Transpose::Yes, nb, M, D, 1.0f, r.data() + size_t(j0) * D, q.data(), 0.0f, dots.data());
    sqdist_topk(ctx, dots.data(), qn.data(), rn.data() + j0, M, nb, k, j0, l.best.data(), l.idx.data());
  }
  return l;
}

TEST(SqdistTopk, MatchesBruteForceOverBlocks) {
  Context ctx(Device::CPU);
  const int M = 37, N = 250, D = 9, k = 3;
  const auto q = test::random_vec(size_t(M) * D, 1), r = test::random_vec(size_t(N) * D, 2);
  const Lists l = topk_in_blocks(ctx, q, r, M, N, D, k, 64);
  for (int i = 0; i < M; ++i) {
    std::vector<std::pair<double, int>> all;
    for (int j = 0; j < N; ++j) {
      double s = 0;
      for (int d = 0; d < D; ++d) s += std::pow(double(q[size_t(i * D + d)]) - r[size_t(j * D + d)], 2);
      all.push_back({s, j});
    }
    std::sort(all.begin(), all.end());
    for (int p = 0; p < k; ++p) {
      EXPECT_EQ(l.idx[size_t(i * k + p)], all[size_t(p)].second) << "query " << i << " rank " << p;
      EXPECT_NEAR(l.best[size_t(i * k + p)], all[size_t(p)].first, 1e-4) << "query " << i << " rank " << p;
    }
  }
}

TEST(SqdistTopk, TiesKeepTheLowerIndexAndOffsetsShiftTheOrder) {
  Context ctx(Device::CPU);
  // One query at 0; references at distance^2 4, 1, 1, 9 (indices 10..13 with offset 10).
  const std::vector<float> dots(4, 0.0f), qn = {0.0f};
  const std::vector<float> rn = {4.0f, 1.0f, 1.0f, 9.0f};
  std::vector<float> best(2, std::numeric_limits<float>::infinity());
  std::vector<int32_t> idx(2, -1);
  sqdist_topk(ctx, dots.data(), qn.data(), rn.data(), 1, 4, 2, 10, best.data(), idx.data());
  EXPECT_EQ(idx, (std::vector<int32_t>{11, 12}));
  EXPECT_EQ(best, (std::vector<float>{1.0f, 1.0f}));
  // A per-reference offset (|r|^2 - radius^2) can go negative: the deepest-inside reference comes first.
  const std::vector<float> shifted = {4.0f - 16.0f, 1.0f, 1.0f, 9.0f};
  std::vector<float> b1(1, std::numeric_limits<float>::infinity());
  std::vector<int32_t> i1(1, -1);
  sqdist_topk(ctx, dots.data(), qn.data(), shifted.data(), 1, 4, 1, 0, b1.data(), i1.data());
  EXPECT_EQ(i1[0], 0);
  EXPECT_FLOAT_EQ(b1[0], -12.0f);
  EXPECT_THROW(sqdist_topk(ctx, dots.data(), qn.data(), rn.data(), 1, 4, kSqdistTopkMaxK + 1, 0, b1.data(), i1.data()),
               Error);
}

}  // namespace
}  // namespace dg
