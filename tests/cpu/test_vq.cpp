// Vector-quantization ops: nearest-code search (GEMM + norms + argmin) against brute force, the straight-through
// backward and the loss-based codebook gradient against finite differences, code sums and the EMA update against
// hand computations, dead-code restarts on a batch of identical vectors, and the layout changes.
#include <cmath>

#include "kernels/embedding.h"
#include "kernels/gemm.h"
#include "kernels/layout.h"
#include "kernels/loss.h"
#include "kernels/rowwise_dot.h"
#include "kernels/vq.h"
#include "tests/test_util.h"

namespace dg {
namespace {

// Nearest codes through the ops, as the model computes them.
std::vector<int32_t> nearest(Context& ctx, const std::vector<float>& ze, const std::vector<float>& cb, int N, int D,
                             int K) {
  std::vector<float> dots(size_t(N) * K), norms(static_cast<size_t>(K));
  gemm(ctx, Transpose::No, Transpose::Yes, N, K, D, 1.0f, ze.data(), cb.data(), 0.0f, dots.data());
  rowwise_dot_forward(ctx, cb.data(), cb.data(), norms.data(), K, D);
  std::vector<int32_t> idx(static_cast<size_t>(N));
  vq_nearest(ctx, dots.data(), norms.data(), idx.data(), nullptr, N, K);
  return idx;
}

double sqdist(const float* a, const float* b, int D) {
  double s = 0;
  for (int d = 0; d < D; ++d) s += (double(a[d]) - b[d]) * (double(a[d]) - b[d]);
  return s;
}

TEST(Vq, NearestMatchesBruteForce) {
  Context ctx(Device::CPU);
  const int N = 500, D = 8, K = 37;
  const auto ze = test::random_vec(size_t(N) * D, 1, -2.0f, 2.0f), cb = test::random_vec(size_t(K) * D, 2, -2.0f, 2.0f);
  const auto idx = nearest(ctx, ze, cb, N, D, K);
  int exact = 0;
  for (int n = 0; n < N; ++n) {
    int best = 0;
    double bd = sqdist(&ze[size_t(n) * D], &cb[0], D);
    for (int k = 1; k < K; ++k) {
      const double d = sqdist(&ze[size_t(n) * D], &cb[size_t(k) * D], D);
      if (d < bd) bd = d, best = k;
    }
    ASSERT_GE(idx[size_t(n)], 0);
    ASSERT_LT(idx[size_t(n)], K);
    // The GEMM form rounds differently from the direct distance: the chosen code is within float noise of the
    // closest, and equal to it unless two codes are that close.
    EXPECT_LE(sqdist(&ze[size_t(n) * D], &cb[size_t(idx[size_t(n)]) * D], D), bd + 1e-4) << "vector " << n;
    exact += idx[size_t(n)] == best;
  }
  EXPECT_GE(exact, N - 2);
}

TEST(Vq, NearestBreaksTiesTowardTheLowestCode) {
  Context ctx(Device::CPU);
  const std::vector<float> cb = {1, 0, 5, 5, 1, 0, 0, 1};  // codes 0 and 2 equal
  const std::vector<float> ze = {0.9f, 0.1f, 0.0f, 2.0f};
  const auto idx = nearest(ctx, ze, cb, 2, 2, 4);
  EXPECT_EQ(idx, (std::vector<int32_t>{0, 3}));
}

// The straight-through backward is the gradient of L(ze) = r . ze + (c / 2) |ze - zq|^2 with zq held fixed
// (sg): quadratic, so central differences are exact up to rounding. atol 2e-3, rtol 1e-3.
TEST(Vq, StraightThroughBackwardMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  const int n = 60;
  const float c = 0.7f;
  const auto ze = test::random_vec(n, 3), zq = test::random_vec(n, 4), r = test::random_vec(n, 5);
  std::vector<float> dze(n);
  vq_straight_through_backward(ctx, r.data(), ze.data(), zq.data(), dze.data(), n, c);
  auto loss = [&](const std::vector<float>& z) {
    double s = test::dot(r, z);
    for (int i = 0; i < n; ++i) s += 0.5 * c * (double(z[size_t(i)]) - zq[size_t(i)]) * (double(z[size_t(i)]) - zq[size_t(i)]);
    return s;
  };
  test::expect_grad_close(loss, ze, dze, 1e-3, 2e-3, 1e-3, "dze");
}

// The loss-based codebook update: d/de of scale * sum_n |e_idx(n) - sg(ze_n)|^2, formed as the MSE gradient at the
// gathered codes scattered back with embedding_backward. Quadratic: atol 2e-3, rtol 1e-3.
TEST(Vq, CodebookLossGradientMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  const int N = 40, D = 3, K = 6;
  const float scale = 0.5f;
  const auto ze = test::random_vec(size_t(N) * D, 6), cb = test::random_vec(size_t(K) * D, 7);
  const auto idx = nearest(ctx, ze, cb, N, D, K);
  auto loss = [&](const std::vector<float>& codes) {
    std::vector<float> zq(size_t(N) * D);
    embedding_forward(ctx, codes.data(), idx.data(), zq.data(), N, K, D);
    float l = 0;
    mse_loss(ctx, zq.data(), ze.data(), &l, nullptr, N * D, scale);
    return double(l);
  };
  std::vector<float> zq(size_t(N) * D), dzq(size_t(N) * D), dcb(size_t(K) * D, 0.0f);
  embedding_forward(ctx, cb.data(), idx.data(), zq.data(), N, K, D);
  float l = 0;
  mse_loss(ctx, zq.data(), ze.data(), &l, dzq.data(), N * D, scale);
  embedding_backward(ctx, dzq.data(), idx.data(), dcb.data(), N, K, D);
  test::expect_grad_close(loss, cb, dcb, 1e-3, 2e-3, 1e-3, "dcodebook");
}

TEST(Vq, CodeSumsAndEmaUpdateKnownValues) {
  Context ctx(Device::CPU);
  const int N = 4, D = 2, K = 3;
  const std::vector<int32_t> idx = {2, 0, 2, 2};
  const std::vector<float> ze = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<float> counts(K), sums(size_t(K) * D);
  vq_code_sums(ctx, idx.data(), ze.data(), counts.data(), sums.data(), N, D, K);
  EXPECT_EQ(counts, (std::vector<float>{1, 0, 3}));
  EXPECT_EQ(sums, (std::vector<float>{3, 4, 0, 0, 13, 16}));
  // EMA from zero state with decay 0.5: counts (0.5, 0, 1.5), sums halved; total 2, smoothed = (c + eps) / (2 + 3 eps) * 2.
  std::vector<float> ema_count(K, 0.0f), ema_sum(size_t(K) * D, 0.0f), codebook(size_t(K) * D, 9.0f);
  const float eps = 1e-5f;
  vq_ema_update(ctx, counts.data(), sums.data(), ema_count.data(), ema_sum.data(), codebook.data(), K, D, 0.5f, eps);
  EXPECT_EQ(ema_count, (std::vector<float>{0.5f, 0.0f, 1.5f}));
  const double total = 2.0;
  auto smoothed = [&](double c) { return (c + eps) / (total + K * eps) * total; };
  EXPECT_NEAR(codebook[0], 1.5 / smoothed(0.5), 1e-5);
  EXPECT_NEAR(codebook[1], 2.0 / smoothed(0.5), 1e-5);
  EXPECT_NEAR(codebook[2], 0.0, 1e-6);  // an unused code with no history decays toward 0 (restarts re-seed it)
  EXPECT_NEAR(codebook[4], 6.5 / smoothed(1.5), 1e-5);
  EXPECT_NEAR(codebook[5], 8.0 / smoothed(1.5), 1e-5);
  // Repeated updates with the same assignment converge to each cluster's mean.
  for (int i = 0; i < 60; ++i)
    vq_ema_update(ctx, counts.data(), sums.data(), ema_count.data(), ema_sum.data(), codebook.data(), K, D, 0.5f, eps);
  EXPECT_NEAR(codebook[0], 3.0, 1e-3);
  EXPECT_NEAR(codebook[1], 4.0, 1e-3);
  EXPECT_NEAR(codebook[4], 13.0 / 3.0, 1e-3);
  EXPECT_NEAR(codebook[5], 16.0 / 3.0, 1e-3);
}

// A batch where every encoder output is the same vector uses one code; after dead_after steps every other code is
// re-seeded from that vector (exactly), once, and the used code never is.
TEST(Vq, DeadCodeRestartOnIdenticalInputs) {
  Context ctx(Device::CPU);
  const int N = 12, D = 4, K = 8, dead_after = 3;
  const std::vector<float> v = {0.25f, -1.5f, 2.0f, 0.5f};
  std::vector<float> ze(size_t(N) * D);
  for (int n = 0; n < N; ++n) std::copy(v.begin(), v.end(), ze.begin() + size_t(n) * D);
  std::vector<float> cb = test::random_vec(size_t(K) * D, 8, -3.0f, 3.0f);
  const std::vector<float> cb0 = cb;
  std::vector<float> idle(K, 0.0f), restarted(K), counts(K), ema_count(K, 0.0f), ema_sum(size_t(K) * D, 0.0f);
  const auto idx0 = nearest(ctx, ze, cb, N, D, K);
  const int used = idx0[0];
  for (int32_t k : idx0) EXPECT_EQ(k, used);
  int total_restarts = 0;
  for (int step = 0; step < dead_after; ++step) {
    vq_code_sums(ctx, idx0.data(), ze.data(), counts.data(), nullptr, N, D, K);
    vq_dead_code_restart(ctx, counts.data(), idle.data(), ze.data(), cb.data(), ema_count.data(), ema_sum.data(),
                         restarted.data(), N, D, K, dead_after, 42, uint32_t(step));
    int r = 0;
    for (float x : restarted) r += x > 0 ? 1 : 0;
    EXPECT_EQ(r, step + 1 == dead_after ? K - 1 : 0) << "step " << step;
    total_restarts += r;
  }
  EXPECT_EQ(total_restarts, K - 1);
  for (int k = 0; k < K; ++k) {
    for (int d = 0; d < D; ++d) {
      const float want = k == used ? cb0[size_t(k) * D + d] : v[size_t(d)];
      EXPECT_EQ(cb[size_t(k) * D + d], want) << "code " << k;
      EXPECT_EQ(ema_sum[size_t(k) * D + d], k == used ? 0.0f : v[size_t(d)]);
    }
    EXPECT_EQ(idle[size_t(k)], 0.0f);
    EXPECT_EQ(ema_count[size_t(k)], k == used ? 0.0f : 1.0f);
  }
  // Idle codes count up again from zero.
  vq_dead_code_restart(ctx, counts.data(), idle.data(), ze.data(), cb.data(), nullptr, nullptr, restarted.data(), N, D,
                       K, dead_after, 42, 3);
  for (int k = 0; k < K; ++k) EXPECT_EQ(idle[size_t(k)], k == used ? 0.0f : 1.0f);
}

// Restarts pick rows by Philox: different codes draw (mostly) different rows, and the draw depends on the step.
TEST(Vq, RestartSeedsCodesFromDistinctEncoderOutputs) {
  Context ctx(Device::CPU);
  const int N = 256, D = 2, K = 16;
  std::vector<float> ze(size_t(N) * D);
  for (int n = 0; n < N; ++n) ze[size_t(n) * D] = float(n), ze[size_t(n) * D + 1] = -float(n);
  std::vector<float> counts(K, 0.0f), idle(K, float(K)), cb(size_t(K) * D), restarted(K);
  vq_dead_code_restart(ctx, counts.data(), idle.data(), ze.data(), cb.data(), nullptr, nullptr, restarted.data(), N, D,
                       K, 1, 7, 0);
  std::vector<float> firsts;
  for (int k = 0; k < K; ++k) {
    EXPECT_EQ(restarted[size_t(k)], 1.0f);
    EXPECT_EQ(cb[size_t(k) * D + 1], -cb[size_t(k) * D]);  // a whole row of ze
    firsts.push_back(cb[size_t(k) * D]);
  }
  std::sort(firsts.begin(), firsts.end());
  EXPECT_GE(std::unique(firsts.begin(), firsts.end()) - firsts.begin(), K - 3);
}

TEST(Layout, ChannelsLastAndFirstAreInverse) {
  Context ctx(Device::CPU);
  const int B = 2, C = 3, S = 4;
  std::vector<float> x(size_t(B) * C * S);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i);
  std::vector<float> rows(x.size()), back(x.size());
  channels_last(ctx, x.data(), rows.data(), B, C, S);
  // Row (b=1, s=2) holds channels 0..2 of image 1 at position 2: x[(1*3 + c)*4 + 2].
  EXPECT_EQ(rows[size_t((1 * S + 2) * C + 0)], 14.0f);
  EXPECT_EQ(rows[size_t((1 * S + 2) * C + 2)], 22.0f);
  channels_first(ctx, rows.data(), back.data(), B, C, S);
  EXPECT_EQ(back, x);
}

}  // namespace
}  // namespace dg
