// The direct 3x3 stride-1 CPU convolutions (kernels/cpu/conv_direct.cpp) against naive loops and against the
// im2col + GEMM path, on geometries that reach every branch: several forward tiles and a short last one, output
// channel counts that are not multiples of the tile (4) or of the filter-gradient groups (2 or 3), one input or
// output channel, pad 0, 1 and 2. The finite-difference checks of test_conv.cpp run on whichever path is the default.
#include <string>
#include <vector>

#include "kernels/conv.h"
#include "kernels/cpu/conv_direct.h"
#include "tests/test_util.h"

namespace dg {
namespace {

// Sets the CPU convolution path for one scope and puts the previous one back.
class ConvPathGuard {
 public:
  explicit ConvPathGuard(cpu::CpuConvPath path) : saved_(cpu::cpu_conv_path()) { cpu::set_cpu_conv_path(path); }
  ~ConvPathGuard() { cpu::set_cpu_conv_path(saved_); }

 private:
  cpu::CpuConvPath saved_;
};

struct Passes {
  std::vector<float> y, dx, dw, dw_accumulated;
};

// Every pass of the convolution on the current path; dw_accumulated adds the gradient onto `start`.
Passes run_passes(const ConvGeom& g, const std::vector<float>& x, const std::vector<float>& w,
                  const std::vector<float>& dy, const std::vector<float>& start) {
  Context ctx(Device::CPU);
  Passes p;
  p.y.assign(dy.size(), 123.0f);  // garbage: every pass must overwrite or add as its mode says
  p.dx.assign(x.size(), 7.0f);
  p.dw.assign(w.size(), 5.0f);
  p.dw_accumulated = start;
  conv2d_forward(ctx, g, x.data(), w.data(), p.y.data());
  conv2d_backward_data(ctx, g, dy.data(), w.data(), p.dx.data());
  conv2d_backward_filter(ctx, g, x.data(), dy.data(), p.dw.data(), Grad::Overwrite);
  conv2d_backward_filter(ctx, g, x.data(), dy.data(), p.dw_accumulated.data(), Grad::Accumulate);
  return p;
}

// Cross-correlation in double, written from the definition.
std::vector<float> naive_forward(const ConvGeom& g, const std::vector<float>& x, const std::vector<float>& w) {
  std::vector<float> y(size_t(g.B) * g.Cout * g.Ho() * g.Wo());
  for (int b = 0; b < g.B; ++b)
    for (int co = 0; co < g.Cout; ++co)
      for (int oh = 0; oh < g.Ho(); ++oh)
        for (int ow = 0; ow < g.Wo(); ++ow) {
          double s = 0;
          for (int ci = 0; ci < g.Cin; ++ci)
            for (int kh = 0; kh < 3; ++kh)
              for (int kw = 0; kw < 3; ++kw) {
                const int ih = oh - g.pad + kh, iw = ow - g.pad + kw;
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                s += double(x[((size_t(b) * g.Cin + ci) * g.H + ih) * g.W + iw]) * w[(size_t(co) * g.Cin + ci) * 9 + kh * 3 + kw];
              }
          y[((size_t(b) * g.Cout + co) * g.Ho() + oh) * g.Wo() + ow] = float(s);
        }
  return y;
}

std::string name(const ConvGeom& g) {
  return "B" + std::to_string(g.B) + " Cin" + std::to_string(g.Cin) + " " + std::to_string(g.H) + "x" +
         std::to_string(g.W) + " Cout" + std::to_string(g.Cout) + " p" + std::to_string(g.pad);
}

TEST(ConvDirect, MatchesNaiveLoopsAndTheGemmPath) {
  if (!cpu::direct_conv_supported()) GTEST_SKIP() << "this CPU has no AVX-512F: the direct kernels never run here";
  const std::vector<ConvGeom> geometries = {
      {2, 3, 28, 28, 5, 3, 1, 1},   // 28x28: eight full tiles and a short one; Cout 5 -> two tiles of 4, groups 3+3
      {3, 6, 14, 14, 16, 3, 1, 1},  // the U-Net's 14x14 shape; Cout 16 -> groups of 2
      {2, 8, 7, 7, 9, 3, 1, 1},     // 7x7: one short tile per image; Cout 9 -> groups of 3
      {2, 5, 9, 11, 7, 3, 1, 1},    // H != W; Cout 7 -> groups of 2, last one padded
      {1, 1, 6, 5, 1, 3, 1, 0},     // one channel each way, no padding: output smaller than input
      {2, 4, 7, 7, 6, 3, 1, 2},     // pad 2: output larger than input
  };
  uint32_t seed = 700;
  for (const ConvGeom& g : geometries) {
    ASSERT_TRUE(cpu::direct_conv_supported());
    const auto x = test::random_vec(size_t(g.B) * g.Cin * g.H * g.W, ++seed);
    const auto w = test::random_vec(size_t(g.Cout) * g.Cin * 9, ++seed);
    const auto dy = test::random_vec(size_t(g.B) * g.Cout * g.Ho() * g.Wo(), ++seed);
    const auto start = test::random_vec(w.size(), ++seed);
    Passes direct, gemm;
    {
      ConvPathGuard path(cpu::CpuConvPath::Direct);
      ASSERT_TRUE(cpu::direct_conv_applies(g)) << name(g);
      direct = run_passes(g, x, w, dy, start);
    }
    {
      ConvPathGuard path(cpu::CpuConvPath::Gemm);
      ASSERT_FALSE(cpu::direct_conv_applies(g)) << name(g);
      gemm = run_passes(g, x, w, dy, start);
    }
    EXPECT_LT(test::rel_error(direct.y, naive_forward(g, x, w)), 1e-5) << name(g);
    EXPECT_LT(test::rel_error(gemm.y, naive_forward(g, x, w)), 1e-5) << name(g);
    EXPECT_LT(test::rel_error(direct.dx, gemm.dx), 1e-5) << name(g);
    EXPECT_LT(test::rel_error(direct.dw, gemm.dw), 1e-5) << name(g);
    EXPECT_LT(test::rel_error(direct.dw_accumulated, gemm.dw_accumulated), 1e-5) << name(g);
  }
}

// Large images: the flat copies of one image (x: 64 channels of 162 x 162) are 6.8 MB, so the filter gradient of
// 5 images runs in two passes (4 + 1) under its 32 MB cap; both modes must still equal the GEMM path's gradient.
TEST(ConvDirect, FilterGradientInSeveralPassesMatchesTheGemmPath) {
  if (!cpu::direct_conv_supported()) GTEST_SKIP() << "this CPU has no AVX-512F: the direct kernels never run here";
  const ConvGeom g{5, 64, 160, 160, 3, 3, 1, 1};
  const auto x = test::random_vec(size_t(g.B) * g.Cin * g.H * g.W, 901);
  const auto dy = test::random_vec(size_t(g.B) * g.Cout * g.H * g.W, 902);
  const auto start = test::random_vec(size_t(g.Cout) * g.Cin * 9, 903);
  Context ctx(Device::CPU);
  std::vector<float> direct(start.size(), 5.0f), gemm(start.size(), 5.0f), direct_acc = start, gemm_acc = start;
  {
    ConvPathGuard path(cpu::CpuConvPath::Direct);
    conv2d_backward_filter(ctx, g, x.data(), dy.data(), direct.data(), Grad::Overwrite);
    conv2d_backward_filter(ctx, g, x.data(), dy.data(), direct_acc.data(), Grad::Accumulate);
  }
  {
    ConvPathGuard path(cpu::CpuConvPath::Gemm);
    conv2d_backward_filter(ctx, g, x.data(), dy.data(), gemm.data(), Grad::Overwrite);
    conv2d_backward_filter(ctx, g, x.data(), dy.data(), gemm_acc.data(), Grad::Accumulate);
  }
  EXPECT_LT(test::rel_error(direct, gemm), 1e-5);
  EXPECT_LT(test::rel_error(direct_acc, gemm_acc), 1e-5);
}

TEST(ConvDirect, OnlyTakesThreeByThreeStrideOne) {
  if (!cpu::direct_conv_supported()) GTEST_SKIP() << "this CPU has no AVX-512F: the direct kernels never run here";
  ConvPathGuard path(cpu::CpuConvPath::Direct);
  EXPECT_TRUE(cpu::direct_conv_applies({1, 2, 8, 8, 2, 3, 1, 1}));
  EXPECT_FALSE(cpu::direct_conv_applies({1, 2, 8, 8, 2, 3, 2, 1}));  // stride 2
  EXPECT_FALSE(cpu::direct_conv_applies({1, 2, 8, 8, 2, 1, 1, 0}));  // 1x1
  EXPECT_FALSE(cpu::direct_conv_applies({1, 2, 8, 8, 2, 5, 1, 2}));  // 5x5
  Context ctx(Device::CPU);
  const ConvGeom strided{1, 1, 8, 8, 1, 3, 2, 1};
  std::vector<float> x(64), w(9), y(16);
  EXPECT_THROW(cpu::direct_conv_forward(ctx, strided, x.data(), w.data(), false, y.data()), Error);
}

}  // namespace
}  // namespace dg
