// The CPU worker pool: every index is visited exactly once, pieces respect the grain, nested calls run serially,
// and results of kernels that use it do not depend on the thread count.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "kernels/activation.h"
#include "kernels/bias.h"
#include "kernels/conv.h"
#include "kernels/gemm.h"
#include "kernels/groupnorm.h"
#include "kernels/loss.h"
#include "runtime/context.h"
#include "runtime/parallel.h"
#include "runtime/philox.h"

namespace dg {
namespace {

// Restores the thread count a test changed.
struct ThreadCountGuard {
  int saved = cpu_threads();
  ~ThreadCountGuard() { set_cpu_threads(saved); }
};

TEST(Parallel, VisitsEveryIndexOnce) {
  ThreadCountGuard guard;
  for (int threads : {1, 2, 3, 8}) {
    set_cpu_threads(threads);
    for (int64_t n : {int64_t(0), int64_t(1), int64_t(7), int64_t(1000), int64_t(100003)}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::atomic<int> pieces{0};
      parallel_for(n, 10, [&](int64_t b, int64_t e) {
        EXPECT_LT(b, e);
        ++pieces;
        for (int64_t i = b; i < e; ++i) ++hits[size_t(i)];
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[size_t(i)].load(), 1) << "n " << n << " index " << i;
      EXPECT_LE(pieces.load(), std::max(1, threads)) << "n " << n;
      if (n >= 20 * threads) EXPECT_EQ(pieces.load(), threads) << "n " << n;
    }
  }
}

TEST(Parallel, SmallRangesStayOnTheCaller) {
  ThreadCountGuard guard;
  set_cpu_threads(4);
  int calls = 0;  // not atomic: one piece means the caller ran it alone
  parallel_for(15, 10, [&](int64_t b, int64_t e) {
    ++calls;
    EXPECT_EQ(b, 0);
    EXPECT_EQ(e, 15);
  });
  EXPECT_EQ(calls, 1);
}

TEST(Parallel, NestedCallsRunSerially) {
  ThreadCountGuard guard;
  set_cpu_threads(2);
  std::vector<std::atomic<int>> hits(400);
  parallel_for(20, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      parallel_for(20, 1, [&](int64_t b2, int64_t e2) {
        for (int64_t j = b2; j < e2; ++j) ++hits[size_t(i * 20 + j)];
      });
  });
  for (auto& h : hits) ASSERT_EQ(h.load(), 1);
}

// The results of the kernels that split their loops are bit-identical with one thread and with several.
TEST(Parallel, KernelsIndependentOfThreadCount) {
  ThreadCountGuard guard;
  Context ctx(Device::CPU);
  const ConvGeom g{/*B=*/9, /*Cin=*/3, /*H=*/14, /*W=*/14, /*Cout=*/5, /*K=*/4, /*stride=*/2, /*pad=*/1};
  std::vector<float> x(size_t(g.B) * g.Cin * g.H * g.W), w(size_t(g.Cout) * g.Cin * g.K * g.K);
  for (size_t i = 0; i < x.size(); ++i) x[i] = philox_normal(1, 0, i, 0);
  for (size_t i = 0; i < w.size(); ++i) w[i] = philox_normal(2, 0, i, 0);
  const size_t ny = size_t(g.B) * g.Cout * g.Ho() * g.Wo();
  // A 3x3 stride-1 convolution, which takes the direct kernels where the CPU has them: images split over threads
  // (forward, input gradient) and the filter gradient's weights.
  const ConvGeom g3{/*B=*/7, /*Cin=*/5, /*H=*/9, /*W=*/9, /*Cout=*/6, /*K=*/3, /*stride=*/1, /*pad=*/1};
  std::vector<float> x3(size_t(g3.B) * g3.Cin * 81), w3(size_t(g3.Cout) * g3.Cin * 9);
  for (size_t i = 0; i < x3.size(); ++i) x3[i] = philox_normal(5, 0, i, 0);
  for (size_t i = 0; i < w3.size(); ++i) w3[i] = philox_normal(6, 0, i, 0);
  std::vector<float> act_in(200000);
  for (size_t i = 0; i < act_in.size(); ++i) act_in[i] = philox_normal(3, 0, i, 0);
  // A GEMM large enough to be split into column blocks: ga [64, 300] times act_in viewed as [600, 300], transposed.
  const int M = 64, N = 600, K = 300;
  std::vector<float> ga(size_t(M) * K);
  for (size_t i = 0; i < ga.size(); ++i) ga[i] = philox_normal(4, 0, i, 0);
  // GroupNorm over act_in viewed as [8, 32, 25, 25] with 8 groups, gamma and beta from x.
  const int GB = 8, GC = 32, GHW = 625, GG = 8;
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2, 5}) {
    set_cpu_threads(threads);
    std::vector<float> y(ny), dx(x.size()), a(act_in.size()), da(act_in.size()), db(40), bce(1);
    std::vector<float> c(size_t(M) * N), gy(act_in.size()), gdx(act_in.size()), mean(GB * GG), istd(GB * GG),
        dgamma(GC), dbeta(GC);
    cpu::conv2d_forward(ctx, g, x.data(), w.data(), y.data());
    cpu::conv2d_backward_data(ctx, g, y.data(), w.data(), dx.data());
    std::vector<float> dw(w.size()), y3(size_t(g3.B) * g3.Cout * 81), dx3(x3.size()), dw3(w3.size());
    cpu::conv2d_backward_filter(ctx, g, x.data(), y.data(), dw.data(), Grad::Overwrite);
    cpu::conv2d_forward(ctx, g3, x3.data(), w3.data(), y3.data());
    cpu::conv2d_backward_data(ctx, g3, y3.data(), w3.data(), dx3.data());
    cpu::conv2d_backward_filter(ctx, g3, x3.data(), y3.data(), dw3.data(), Grad::Overwrite);
    cpu::activation_forward(ctx, Activation::SiLU, 0.0f, act_in.data(), a.data(), int64_t(a.size()));
    cpu::bias_backward(ctx, act_in.data(), db.data(), 50, 40, 100, Grad::Overwrite);
    cpu::bce_logits_loss(ctx, act_in.data(), a.data(), bce.data(), da.data(), int64_t(a.size()), 0.5f);
    cpu::gemm(ctx, Transpose::No, Transpose::Yes, M, N, K, 1.0f, ga.data(), act_in.data(), 0.0f, c.data());
    cpu::groupnorm_forward(ctx, act_in.data(), x.data(), w.data(), gy.data(), mean.data(), istd.data(), GB, GC, GHW,
                           GG, 1e-5f);
    cpu::groupnorm_backward(ctx, act_in.data(), a.data(), x.data(), mean.data(), istd.data(), gdx.data(),
                            dgamma.data(), dbeta.data(), GB, GC, GHW, GG, Grad::Overwrite);
    for (const std::vector<float>* part : {&dx, &dw, &y3, &dx3, &dw3, &a, &db, &da, &bce, &c, &gy, &gdx, &mean, &istd, &dgamma, &dbeta})
      y.insert(y.end(), part->begin(), part->end());
    results.push_back(std::move(y));
  }
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], results[2]);
}

}  // namespace
}  // namespace dg
