// Convolutions: forward against naive direct loops (plain and transposed), every backward pass against central
// finite differences of L = dot(y, r), Grad modes, and the transposed-conv shape convention.
#include "kernels/conv.h"
#include "tests/test_util.h"

namespace dg {
namespace {

size_t in_size(const ConvGeom& g) { return size_t(g.B) * g.Cin * g.H * g.W; }
size_t out_size(const ConvGeom& g) { return size_t(g.B) * g.Cout * g.Ho() * g.Wo(); }
size_t w_size(const ConvGeom& g) { return size_t(g.Cout) * g.Cin * g.K * g.K; }

// Direct cross-correlation, accumulated in double: the independent definition the im2col path must match.
std::vector<float> naive_conv(const ConvGeom& g, const std::vector<float>& x, const std::vector<float>& w) {
  const int Ho = g.Ho(), Wo = g.Wo();
  std::vector<float> y(out_size(g));
  for (int b = 0; b < g.B; ++b)
    for (int co = 0; co < g.Cout; ++co)
      for (int oh = 0; oh < Ho; ++oh)
        for (int ow = 0; ow < Wo; ++ow) {
          double s = 0;
          for (int ci = 0; ci < g.Cin; ++ci)
            for (int kh = 0; kh < g.K; ++kh)
              for (int kw = 0; kw < g.K; ++kw) {
                const int ih = oh * g.stride - g.pad + kh, iw = ow * g.stride - g.pad + kw;
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                s += double(x[((size_t(b) * g.Cin + ci) * g.H + ih) * g.W + iw]) *
                     w[((size_t(co) * g.Cin + ci) * g.K + kh) * g.K + kw];
              }
          y[((size_t(b) * g.Cout + co) * Ho + oh) * Wo + ow] = float(s);
        }
  return y;
}

// Direct transposed convolution x [B, Cout, Ho, Wo] -> y [B, Cin, H, W]: each input scatters w-weighted copies
// of itself, the textbook (PyTorch ConvTranspose2d) definition, written independently of conv2d_backward_data.
std::vector<float> naive_conv_transpose(const ConvGeom& g, const std::vector<float>& x, const std::vector<float>& w) {
  const int Ho = g.Ho(), Wo = g.Wo();
  std::vector<double> y(in_size(g), 0.0);
  for (int b = 0; b < g.B; ++b)
    for (int co = 0; co < g.Cout; ++co)
      for (int oh = 0; oh < Ho; ++oh)
        for (int ow = 0; ow < Wo; ++ow)
          for (int ci = 0; ci < g.Cin; ++ci)
            for (int kh = 0; kh < g.K; ++kh)
              for (int kw = 0; kw < g.K; ++kw) {
                const int ih = oh * g.stride - g.pad + kh, iw = ow * g.stride - g.pad + kw;
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                y[((size_t(b) * g.Cin + ci) * g.H + ih) * g.W + iw] +=
                    double(x[((size_t(b) * g.Cout + co) * Ho + oh) * Wo + ow]) *
                    w[((size_t(co) * g.Cin + ci) * g.K + kh) * g.K + kw];
              }
  return std::vector<float>(y.begin(), y.end());
}

// Stride 1 and 2, pad 0/1/2, K 1/3/4/5, H != W, and strides that leave trailing input rows unused.
std::vector<ConvGeom> geometries() {
  return {
      {2, 3, 7, 9, 4, 3, 1, 1},   // same-size 3x3
      {2, 2, 8, 5, 3, 3, 2, 0},   // stride 2, no pad, odd width drops a column
      {1, 3, 6, 7, 2, 1, 1, 0},   // 1x1
      {2, 2, 9, 6, 3, 4, 2, 1},   // even kernel, stride 2
      {1, 2, 7, 8, 2, 5, 1, 2},   // 5x5 same-size
      {2, 3, 10, 7, 2, 5, 2, 2},  // 5x5 stride 2
      {1, 2, 5, 6, 3, 4, 1, 2},   // output larger than input
  };
}

std::string name(const ConvGeom& g) {
  return "B" + std::to_string(g.B) + " Cin" + std::to_string(g.Cin) + " " + std::to_string(g.H) + "x" +
         std::to_string(g.W) + " Cout" + std::to_string(g.Cout) + " K" + std::to_string(g.K) + " s" +
         std::to_string(g.stride) + " p" + std::to_string(g.pad);
}

// Tolerances for the finite-difference checks below. Every pass is linear in the perturbed tensor, so central
// differences have no truncation error and eps can be large (0.1); what remains is float rounding of the few
// outputs one coordinate touches (< 100 values of size ~3, relative 6e-8, divided by 2*eps), below 1e-4.
// atol 2e-3 and rtol 1e-3 leave a wide margin while still catching any wrong index (errors of order 0.1 or more).
constexpr double kEps = 0.1, kAtol = 2e-3, kRtol = 1e-3;

TEST(Conv, ForwardMatchesDirectLoops) {
  Context ctx(Device::CPU);
  uint32_t seed = 10;
  for (const ConvGeom& g : geometries()) {
    const auto x = test::random_vec(in_size(g), ++seed), w = test::random_vec(w_size(g), ++seed);
    std::vector<float> y(out_size(g), 123.0f);  // garbage: forward must overwrite
    conv2d_forward(ctx, g, x.data(), w.data(), y.data());
    EXPECT_LT(test::rel_error(y, naive_conv(g, x, w)), 1e-5) << name(g);
  }
}

TEST(Conv, BackwardDataMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  uint32_t seed = 100;
  for (const ConvGeom& g : geometries()) {
    const auto x = test::random_vec(in_size(g), ++seed), w = test::random_vec(w_size(g), ++seed);
    const auto r = test::random_vec(out_size(g), ++seed);
    std::vector<float> dx(in_size(g), 7.0f);  // garbage: backward data must overwrite
    conv2d_backward_data(ctx, g, r.data(), w.data(), dx.data());
    auto loss = [&](const std::vector<float>& xp) {
      std::vector<float> y(out_size(g));
      conv2d_forward(ctx, g, xp.data(), w.data(), y.data());
      return test::dot(y, r);
    };
    test::expect_grad_close(loss, x, dx, kEps, kAtol, kRtol, "conv dx " + name(g));
  }
}

TEST(Conv, BackwardFilterMatchesFiniteDifferencesInBothModes) {
  Context ctx(Device::CPU);
  uint32_t seed = 200;
  for (const ConvGeom& g : geometries()) {
    const auto x = test::random_vec(in_size(g), ++seed), w = test::random_vec(w_size(g), ++seed);
    const auto r = test::random_vec(out_size(g), ++seed);
    std::vector<float> dw(w_size(g), 5.0f);  // garbage: Overwrite must ignore it
    conv2d_backward_filter(ctx, g, x.data(), r.data(), dw.data(), Grad::Overwrite);
    auto loss = [&](const std::vector<float>& wp) {
      std::vector<float> y(out_size(g));
      conv2d_forward(ctx, g, x.data(), wp.data(), y.data());
      return test::dot(y, r);
    };
    test::expect_grad_close(loss, w, dw, kEps, kAtol, kRtol, "conv dw " + name(g));

    // Accumulate adds the same gradient onto what is there (up to float rounding of the sum).
    const auto d0 = test::random_vec(w_size(g), ++seed);
    std::vector<float> acc = d0;
    conv2d_backward_filter(ctx, g, x.data(), r.data(), acc.data(), Grad::Accumulate);
    for (size_t i = 0; i < acc.size(); ++i) EXPECT_NEAR(acc[i], d0[i] + dw[i], 1e-5 * (1 + std::fabs(dw[i]))) << i;
  }
}

// The transposed geometry is that of the forward conv it undoes: H=14 input, K=4, stride 2, pad 1 gives Ho=7,
// so the transposed conv maps 7x7 -> 14x14 (the usual DCGAN upsampling layer).
TEST(ConvTranspose, UpsamplesSevenToFourteenAndMatchesDirectLoops) {
  Context ctx(Device::CPU);
  const ConvGeom g{2, 3, 14, 14, 5, 4, 2, 1};  // transposed conv: 5 channels in, 3 out
  ASSERT_EQ(g.Ho(), 7);
  ASSERT_EQ(g.Wo(), 7);
  const auto x = test::random_vec(size_t(g.B) * g.Cout * 7 * 7, 1), w = test::random_vec(w_size(g), 2);
  std::vector<float> y(size_t(g.B) * g.Cin * 14 * 14, 9.0f);
  conv_transpose2d_forward(ctx, g, x.data(), w.data(), y.data());
  EXPECT_LT(test::rel_error(y, naive_conv_transpose(g, x, w)), 1e-5);
}

TEST(ConvTranspose, ForwardMatchesDirectLoopsOnAllGeometries) {
  Context ctx(Device::CPU);
  uint32_t seed = 300;
  for (const ConvGeom& g : geometries()) {
    const auto x = test::random_vec(out_size(g), ++seed), w = test::random_vec(w_size(g), ++seed);
    std::vector<float> y(in_size(g), 9.0f);
    conv_transpose2d_forward(ctx, g, x.data(), w.data(), y.data());
    EXPECT_LT(test::rel_error(y, naive_conv_transpose(g, x, w)), 1e-5) << name(g);
  }
}

TEST(ConvTranspose, BackwardDataMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  uint32_t seed = 400;
  for (const ConvGeom& g : geometries()) {
    const auto x = test::random_vec(out_size(g), ++seed), w = test::random_vec(w_size(g), ++seed);
    const auto r = test::random_vec(in_size(g), ++seed);
    std::vector<float> dx(out_size(g), 7.0f);
    conv_transpose2d_backward_data(ctx, g, r.data(), w.data(), dx.data());
    auto loss = [&](const std::vector<float>& xp) {
      std::vector<float> y(in_size(g));
      conv_transpose2d_forward(ctx, g, xp.data(), w.data(), y.data());
      return test::dot(y, r);
    };
    test::expect_grad_close(loss, x, dx, kEps, kAtol, kRtol, "convT dx " + name(g));
  }
}

TEST(ConvTranspose, BackwardFilterMatchesFiniteDifferencesInBothModes) {
  Context ctx(Device::CPU);
  uint32_t seed = 500;
  for (const ConvGeom& g : geometries()) {
    const auto x = test::random_vec(out_size(g), ++seed), w = test::random_vec(w_size(g), ++seed);
    const auto r = test::random_vec(in_size(g), ++seed);
    std::vector<float> dw(w_size(g), 5.0f);
    conv_transpose2d_backward_filter(ctx, g, x.data(), r.data(), dw.data(), Grad::Overwrite);
    auto loss = [&](const std::vector<float>& wp) {
      std::vector<float> y(in_size(g));
      conv_transpose2d_forward(ctx, g, x.data(), wp.data(), y.data());
      return test::dot(y, r);
    };
    test::expect_grad_close(loss, w, dw, kEps, kAtol, kRtol, "convT dw " + name(g));

    const auto d0 = test::random_vec(w_size(g), ++seed);
    std::vector<float> acc = d0;
    conv_transpose2d_backward_filter(ctx, g, x.data(), r.data(), acc.data(), Grad::Accumulate);
    for (size_t i = 0; i < acc.size(); ++i) EXPECT_NEAR(acc[i], d0[i] + dw[i], 1e-5 * (1 + std::fabs(dw[i]))) << i;
  }
}

TEST(Conv, RejectsKernelLargerThanPaddedInput) {
  Context ctx(Device::CPU);
  const ConvGeom g{1, 1, 2, 2, 1, 5, 1, 1};
  std::vector<float> x(4), w(25), y(4);
  EXPECT_THROW(conv2d_forward(ctx, g, x.data(), w.data(), y.data()), Error);
}

}  // namespace
}  // namespace dg
