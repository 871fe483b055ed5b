// The PixelCNN prior's ops and network: tap gathering and the gated activation against finite differences, code
// sampling against the tempered softmax, the prior's parameter gradients against finite differences, and the
// causality test (the prediction at each position has exactly zero gradient with respect to every input at or after
// it, and a nonzero one for every earlier position).
#include <cmath>

#include "kernels/loss.h"
#include "kernels/pixelcnn.h"
#include "models/pixelcnn.h"
#include "tests/param_grad_check.h"
#include "tests/test_util.h"

namespace dg {
namespace {

// Tap gathering is linear, so the backward is its adjoint; central differences of r . cols are exact up to
// rounding: atol 1e-3, rtol 1e-3.
TEST(TapGather, BackwardMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  const int B = 2, H = 4, W = 5, C = 3;
  const TapList taps = PixelCnnPrior::vertical_taps(3, false);
  const int T = taps.count;
  const auto x = test::random_vec(size_t(B) * H * W * C, 1);
  const auto r = test::random_vec(size_t(B) * H * W * T * C, 2);
  std::vector<float> dx(x.size());
  tap_gather_backward(ctx, taps, r.data(), dx.data(), B, H, W, C);
  auto loss = [&](const std::vector<float>& p) {
    std::vector<float> cols(r.size());
    tap_gather_forward(ctx, taps, p.data(), cols.data(), B, H, W, C);
    return test::dot(cols, r);
  };
  test::expect_grad_close(loss, x, dx, 1e-2, 1e-3, 1e-3, "dx", 200);
}

TEST(TapGather, KnownValuesAndZeroPadding) {
  Context ctx(Device::CPU);
  const int H = 2, W = 2, C = 1;
  const std::vector<float> x = {1, 2, 3, 4};
  const TapList taps = PixelCnnPrior::horizontal_taps(3, true);  // one tap: the left neighbour
  ASSERT_EQ(taps.count, 1);
  std::vector<float> cols(4);
  tap_gather_forward(ctx, taps, x.data(), cols.data(), 1, H, W, C);
  EXPECT_EQ(cols, (std::vector<float>{0, 1, 0, 3}));
}

TEST(PixelCnnTaps, MasksReadOnlyEarlierPositions) {
  for (int k : {3, 5, 7}) {
    const int c = k / 2;
    const TapList v0 = PixelCnnPrior::vertical_taps(k, true), v1 = PixelCnnPrior::vertical_taps(k, false);
    const TapList h0 = PixelCnnPrior::horizontal_taps(k, true), h1 = PixelCnnPrior::horizontal_taps(k, false);
    EXPECT_EQ(v0.count, c * k);
    EXPECT_EQ(v1.count, (c + 1) * k);
    EXPECT_EQ(h0.count, c);
    EXPECT_EQ(h1.count, c + 1);
    for (int t = 0; t < v0.count; ++t) EXPECT_LT(v0.dy[t], 0);
    for (int t = 0; t < h0.count; ++t) EXPECT_TRUE(h0.dy[t] == 0 && h0.dx[t] < 0);
  }
}

// The gated activation with a conditioning bias: smooth, eps 1e-3, atol 2e-3, rtol 2e-3.
TEST(Gated, BackwardMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  const int B = 3, P = 4, C = 5;
  const auto x = test::random_vec(size_t(B) * P * 2 * C, 3, -2.0f, 2.0f);
  const auto cond = test::random_vec(size_t(B) * 2 * C, 4);
  const auto r = test::random_vec(size_t(B) * P * C, 5);
  std::vector<float> dx(x.size()), dcond(cond.size());
  gated_backward(ctx, x.data(), cond.data(), r.data(), dx.data(), dcond.data(), B, P, C);
  auto loss_x = [&](const std::vector<float>& p) {
    std::vector<float> y(r.size());
    gated_forward(ctx, p.data(), cond.data(), y.data(), B, P, C);
    return test::dot(y, r);
  };
  auto loss_c = [&](const std::vector<float>& p) {
    std::vector<float> y(r.size());
    gated_forward(ctx, x.data(), p.data(), y.data(), B, P, C);
    return test::dot(y, r);
  };
  test::expect_grad_close(loss_x, x, dx, 1e-3, 2e-3, 2e-3, "dx", 120);
  test::expect_grad_close(loss_c, cond, dcond, 1e-3, 2e-3, 2e-3, "dcond");
  // Without conditioning: the same dx as with a zero bias.
  std::vector<float> dx0(x.size()), dx1(x.size()), zeros(cond.size(), 0.0f);
  gated_backward(ctx, x.data(), nullptr, r.data(), dx0.data(), nullptr, B, P, C);
  gated_backward(ctx, x.data(), zeros.data(), r.data(), dx1.data(), nullptr, B, P, C);
  EXPECT_EQ(dx0, dx1);
}

// tanh(a) * sigmoid(g) and its gradients against the double-precision definition, to a few float ulps: a channel
// count that leaves a vector tail (21 = 16 + 5), pre-activations from deep saturation through tiny values (where
// tanh must keep its relative precision) to large ones.
TEST(Gated, MatchesDoublePrecisionDefinition) {
  Context ctx(Device::CPU);
  const int B = 2, P = 3, C = 21;
  std::vector<float> x(size_t(B) * P * 2 * C);
  for (size_t i = 0; i < x.size(); ++i) {
    const float u = -1.0f + 2.0f * float(i) / float(x.size() - 1);
    x[i] = (i % 3 == 0) ? 30.0f * u : (i % 3 == 1 ? 1e-4f * u : 3.0f * u);
  }
  auto cond = test::random_vec(size_t(B) * 2 * C, 6, -0.5f, 0.5f);
  for (size_t j = 0; j < cond.size(); j += 2) cond[j] = 0.0f;  // leaves the tiny pre-activations tiny
  const auto dy = test::random_vec(size_t(B) * P * C, 7);
  std::vector<float> y(dy.size()), dx(x.size()), dcond(cond.size());
  gated_forward(ctx, x.data(), cond.data(), y.data(), B, P, C);
  gated_backward(ctx, x.data(), cond.data(), dy.data(), dx.data(), dcond.data(), B, P, C);
  for (int b = 0; b < B; ++b)
    for (int c = 0; c < C; ++c) {
      double sum_a = 0, sum_g = 0, scale_a = 0, scale_g = 0;
      for (int p = 0; p < P; ++p) {
        const size_t n = size_t(b) * P + p;
        const double a = double(x[n * 2 * C + c]) + cond[size_t(b) * 2 * C + c];
        const double g = double(x[n * 2 * C + C + c]) + cond[size_t(b) * 2 * C + C + c];
        const double t = std::tanh(a), s = 1.0 / (1.0 + std::exp(-g)), d = dy[n * C + c];
        const double want_y = t * s, want_da = d * (1 - t * t) * s, want_dg = d * t * s * (1 - s);
        EXPECT_NEAR(y[n * C + c], want_y, 2e-6 * std::fabs(want_y) + 1e-30) << "a " << a << " g " << g;
        EXPECT_NEAR(dx[n * 2 * C + c], want_da, 4e-6 * std::fabs(d) + 1e-30) << "a " << a << " g " << g;
        EXPECT_NEAR(dx[n * 2 * C + C + c], want_dg, 4e-6 * std::fabs(d) + 1e-30) << "a " << a << " g " << g;
        // dcond is the sum of the float dx over positions (1 - t * t is itself rounded in float where tanh
        // saturates, so dcond is checked against dx, and dx against the definition above).
        sum_a += dx[n * 2 * C + c];
        sum_g += dx[n * 2 * C + C + c];
        scale_a += std::fabs(dx[n * 2 * C + c]);
        scale_g += std::fabs(dx[n * 2 * C + C + c]);
      }
      EXPECT_NEAR(dcond[size_t(b) * 2 * C + c], sum_a, 1e-6 * scale_a + 1e-30);
      EXPECT_NEAR(dcond[size_t(b) * 2 * C + C + c], sum_g, 1e-6 * scale_g + 1e-30);
    }
}

// Draws match the tempered softmax: 20000 rows with the same logits, chi-square-style bound per class (4 sigma).
TEST(SampleCodes, FollowsTheTemperedSoftmax) {
  Context ctx(Device::CPU);
  const int B = 20000, P = 2, K = 4, pos = 1;
  const std::vector<float> row = {0.0f, 1.0f, 2.0f, -1.0f};
  for (float temp : {1.0f, 0.5f}) {
    std::vector<float> logits(size_t(B) * K, 0.0f);  // one row per image: the prediction at `pos`
    for (int b = 0; b < B; ++b) std::copy(row.begin(), row.end(), logits.begin() + size_t(b) * K);
    std::vector<int32_t> codes(size_t(B) * P, -7);
    sample_codes(ctx, logits.data(), codes.data(), B, P, K, pos, temp, 11, 0);
    std::vector<double> p(K), hist(K, 0.0);
    double z = 0;
    for (int k = 0; k < K; ++k) z += std::exp(row[size_t(k)] / temp);
    for (int k = 0; k < K; ++k) p[size_t(k)] = std::exp(row[size_t(k)] / temp) / z;
    for (int b = 0; b < B; ++b) {
      EXPECT_EQ(codes[size_t(b * P)], -7);  // other positions untouched
      hist[size_t(codes[size_t(b * P + pos)])] += 1;
    }
    for (int k = 0; k < K; ++k) {
      const double sd = std::sqrt(B * p[size_t(k)] * (1 - p[size_t(k)]));
      EXPECT_NEAR(hist[size_t(k)], B * p[size_t(k)], 4 * sd + 1) << "temperature " << temp << " code " << k;
    }
  }
  // Sample i depends only on (seed, first + i): drawing rows 5.. as their own batch repeats them.
  std::vector<float> logits(size_t(10) * K);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = float(i % 7) * 0.3f;
  std::vector<int32_t> all(size_t(10) * P, 0), tail(size_t(5) * P, 0);
  sample_codes(ctx, logits.data(), all.data(), 10, P, K, 0, 1.0f, 3, 100);
  sample_codes(ctx, logits.data() + size_t(5) * K, tail.data(), 5, P, K, 0, 1.0f, 3, 105);
  for (int b = 0; b < 5; ++b) EXPECT_EQ(all[size_t((5 + b) * P)], tail[size_t(b * P)]);
}

PixelCnnSpec tiny_spec(bool conditional) {
  PixelCnnSpec s;
  s.codes = 5;
  s.height = 4;
  s.width = 5;
  s.channels = 4;
  s.layers = 2;
  s.kernel = 3;
  s.head = 6;
  s.conditional = conditional;
  return s;
}

Tensor int_tensor(Context& ctx, const std::vector<int32_t>& v) {
  Tensor t = Tensor::empty(ctx, {int64_t(v.size())}, DType::I32);
  copy_to_device(ctx, t.raw(), v.data(), v.size() * sizeof(int32_t));
  return t;
}

// Whole-prior parameter gradients (embedding, both stacks, label tables, head) against central differences of the
// mean negative log-likelihood (a loss of size ~30): eps 1e-3, atol 2e-3, rtol 3e-2. At eps 1e-2 the curvature of
// the loss in a bias, which moves every position at once, puts central differences 5% off.
TEST(PixelCnnPrior, ParameterGradientsMatchFiniteDifferences) {
  for (bool conditional : {false, true}) {
    Context ctx(Device::CPU);
    ParamStore ps;
    PixelCnnPrior prior(ps, "p/", tiny_spec(conditional));
    ps.finalize(ctx, 5);
    // Larger weights than the init so every path carries a gradient above the check's 1e-3 floor.
    std::vector<float> w = ps.params().to_host(ctx);
    for (size_t i = 0; i < w.size(); ++i) w[i] = w[i] * 3.0f + 0.05f * std::sin(float(i));
    copy_to_device(ctx, ps.params().raw(), w.data(), w.size() * sizeof(float));
    const int B = 3, P = prior.positions(), K = prior.spec().codes;
    std::vector<int32_t> codes(size_t(B) * P);
    for (size_t i = 0; i < codes.size(); ++i) codes[i] = int32_t((i * 7 + i / 3) % size_t(K));
    const Tensor tc = int_tensor(ctx, codes), tl = int_tensor(ctx, {1, 7, 3});
    auto loss_now = [&]() {
      ps.zero_grad(ctx);
      Tensor logits = prior.forward(ctx, tc, tl);
      Tensor l = Tensor::empty(ctx, {1}), dl = Tensor::empty(ctx, logits.shape());
      softmax_xent_loss(ctx, logits.f32(), tc.as<int32_t>(), l.f32(), dl.f32(), nullptr, B * P, K, 1.0f / B);
      prior.backward(ctx, dl);
      return double(l.to_host(ctx)[0]);
    };
    const int checked = test::expect_store_grads_close(ctx, ps, loss_now, 1e-3f, 2e-3, 3e-2,
                                                       conditional ? "conditional prior" : "prior", 3);
    EXPECT_GT(checked, 15);
  }
}

// Causality: for every output position p of image 0, the gradient of (random weights . logits at p) with respect
// to the embedded input is exactly zero at p and every later position (and everywhere in image 1), and nonzero at
// every earlier position (kernel 5 with 3 layers reaches the whole 7x7 grid).
TEST(PixelCnnPrior, CausalityNoFutureAndFullPast) {
  for (bool conditional : {false, true}) {
    Context ctx(Device::CPU);
    PixelCnnSpec spec;
    spec.codes = 6;
    spec.channels = 16;  // wide enough that no position's head ReLUs are all off
    spec.layers = 3;
    spec.kernel = 5;
    spec.head = 16;
    spec.conditional = conditional;
    ParamStore ps;
    PixelCnnPrior prior(ps, "p/", spec);
    ps.finalize(ctx, 9);
    if (conditional) {  // label tables start at zero; give them values so that they are on the path
      std::vector<float> w = ps.params().to_host(ctx);
      for (size_t i = 0; i < w.size(); ++i)
        if (w[i] == 0.0f) w[i] = 0.1f * std::cos(float(i));
      copy_to_device(ctx, ps.params().raw(), w.data(), w.size() * sizeof(float));
    }
    const int B = 2, P = prior.positions(), C = spec.channels, K = spec.codes;
    const auto e = test::random_vec(size_t(B) * P * C, 12);
    const Tensor te = Tensor::from_host(ctx, {B * P, C}, e.data());
    const Tensor tl = int_tensor(ctx, {4, 9});
    for (int p = 0; p < P; ++p) {
      prior.forward_embedded(ctx, te, tl);
      std::vector<float> dl(size_t(B) * P * K, 0.0f);
      const auto r = test::random_vec(size_t(K), uint32_t(100 + p));
      std::copy(r.begin(), r.end(), dl.begin() + size_t(p) * K);
      const std::vector<float> de = prior.backward(ctx, Tensor::from_host(ctx, {B * P, K}, dl.data())).to_host(ctx);
      for (int b = 0; b < B; ++b)
        for (int q = 0; q < P; ++q) {
          float mx = 0.0f;
          for (int c = 0; c < C; ++c) mx = std::max(mx, std::fabs(de[(size_t(b) * P + q) * C + c]));
          if (b == 0 && q < p)
            EXPECT_GT(mx, 0.0f) << "output " << p << " does not depend on earlier position " << q;
          else
            EXPECT_EQ(mx, 0.0f) << "output " << p << " of image 0 depends on position " << q << " of image " << b;
        }
    }
  }
}

// The prior never reads a lower row: the gated layers over the first r rows of each grid give exactly the full
// grid's features for those rows (what sampling relies on to skip the rows below the one it draws).
TEST(PixelCnnPrior, TruncatedGridsMatchTheFullGridsRows) {
  Context ctx(Device::CPU);
  PixelCnnSpec spec;
  spec.codes = 6;
  spec.channels = 8;
  spec.conditional = true;
  ParamStore ps;
  PixelCnnPrior prior(ps, "p/", spec);
  ps.finalize(ctx, 4);
  const int B = 2, H = 7, W = 7, P = H * W, C = spec.channels;
  const auto e = test::random_vec(size_t(B) * P * C, 21);
  const Tensor labels = int_tensor(ctx, {2, 5});
  const std::vector<float> full = prior.forward_trunk(ctx, Tensor::from_host(ctx, {B * P, C}, e.data()), labels).to_host(ctx);
  for (int rows = 1; rows <= H; ++rows) {
    std::vector<float> et, want;
    for (int b = 0; b < B; ++b) {
      et.insert(et.end(), e.begin() + size_t(b) * P * C, e.begin() + (size_t(b) * P + size_t(rows) * W) * C);
      want.insert(want.end(), full.begin() + size_t(b) * P * C, full.begin() + (size_t(b) * P + size_t(rows) * W) * C);
    }
    const Tensor te = Tensor::from_host(ctx, {int64_t(B) * rows * W, C}, et.data());
    EXPECT_LT(test::rel_error(prior.forward_trunk(ctx, te, labels, rows).to_host(ctx), want), 1e-6) << rows << " rows";
  }
}

// Sampling fills every position with a valid code and repeats for the same seed.
TEST(PixelCnnPrior, SamplingIsValidAndRepeatable) {
  Context ctx(Device::CPU);
  ParamStore ps;
  PixelCnnPrior prior(ps, "p/", tiny_spec(true));
  ps.finalize(ctx, 2);
  const Tensor labels = int_tensor(ctx, {0, 1, 2});
  auto draw = [&](uint64_t seed) {
    Tensor codes = prior.sample(ctx, 3, labels, 1.0f, seed, 0);
    std::vector<int32_t> h(size_t(codes.numel()));
    copy_to_host(ctx, h.data(), codes.raw(), h.size() * sizeof(int32_t));
    return h;
  };
  const auto a = draw(4), b = draw(4), c = draw(5);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  for (int32_t k : a) {
    EXPECT_GE(k, 0);
    EXPECT_LT(k, 5);
  }
}

}  // namespace
}  // namespace dg
