// Diffusion ops and schedules: the timestep embedding's values, the forward noising against its formula, the fused
// sampling step against an unfused step-by-step reference (guidance, x0 clipping, posterior mean, noise), the
// device step index, schedule properties and the sampler plans (DDIM with eta 1 over all steps is DDPM).
#include <cmath>

#include "kernels/diffusion.h"
#include "models/diffusion_schedule.h"
#include "runtime/philox.h"
#include "tests/test_util.h"

namespace dg {
namespace {

TEST(Diffusion, TimestepEmbeddingKnownValues) {
  Context ctx(Device::CPU);
  const int B = 2, D = 8;
  const std::vector<int32_t> t = {0, 37};
  std::vector<float> y(size_t(B) * D);
  timestep_embedding(ctx, t.data(), y.data(), B, D);
  for (int j = 0; j < 4; ++j) {
    EXPECT_FLOAT_EQ(y[size_t(j)], 0.0f);      // sin 0
    EXPECT_FLOAT_EQ(y[size_t(4 + j)], 1.0f);  // cos 0
    const double f = std::pow(10000.0, -j / 4.0);
    EXPECT_NEAR(y[size_t(D + j)], std::sin(37 * f), 1e-5) << j;
    EXPECT_NEAR(y[size_t(D + 4 + j)], std::cos(37 * f), 1e-5) << j;
  }
}

TEST(Diffusion, NoiseMatchesFormulaAndPhilox) {
  Context ctx(Device::CPU);
  const int B = 3, P = 6;
  const auto x = test::random_vec(size_t(B) * P, 1, 0.0f, 1.0f);
  const std::vector<float> a = {0.9f, 0.5f, 0.1f}, s = {0.43f, 0.86f, 0.99f};
  std::vector<float> eps(x.size()), xt(x.size());
  diffusion_noise(ctx, x.data(), a.data(), s.data(), eps.data(), xt.data(), B, P, 42, 100, 0);
  for (int b = 0; b < B; ++b)
    for (int p = 0; p < P; ++p) {
      const size_t i = size_t(b * P + p);
      EXPECT_EQ(eps[i], philox_normal(42, kPurposeDiffusionTrain, uint64_t(100 + b) * P + p, 0));
      EXPECT_NEAR(xt[i], a[size_t(b)] * (2 * x[i] - 1) + s[size_t(b)] * eps[i], 1e-6);
    }
}

// The sampling update written out as separate passes in double (what the fused kernel replaces).
std::vector<float> unfused_step(const std::vector<float>& x, const std::vector<float>& eps, int N, int P, bool guided,
                                double w, const std::vector<float>& coef, const std::vector<int32_t>& ts, int k,
                                uint64_t seed, uint64_t first) {
  const size_t n = size_t(N) * P;
  std::vector<double> e(n), x0(n), mean(n), out(n);
  for (size_t i = 0; i < n; ++i) e[i] = guided ? eps[n + i] + w * (double(eps[i]) - eps[n + i]) : eps[i];
  const float* c = coef.data() + size_t(k) * kCoefCount;
  for (size_t i = 0; i < n; ++i) x0[i] = std::clamp((x[i] - c[kCoefSqrt1mAb] * e[i]) / c[kCoefSqrtAb], -1.0, 1.0);
  for (size_t i = 0; i < n; ++i) mean[i] = c[kCoefX0] * x0[i] + c[kCoefXt] * double(x[i]);
  std::vector<float> r(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t s = i / size_t(P), p = i % size_t(P);
    const double z = c[kCoefSigma] > 0 ? philox_normal(seed, kPurposeDiffusionSample, (first + s) * P + p,
                                                       uint32_t(ts[size_t(k)]))
                                       : 0.0;
    r[i] = float(mean[i] + c[kCoefSigma] * z);
  }
  return r;
}

TEST(Diffusion, FusedStepMatchesUnfusedReference) {
  Context ctx(Device::CPU);
  const int N = 3, P = 10;
  const NoiseSchedule sch = make_schedule("linear", 100);
  for (const SamplerPlan& plan : {ddpm_plan(sch), ddim_plan(sch, 10, 0.5), ddim_plan(sch, 7, 0.0)})
    for (bool guided : {false, true})
      for (int k : {0, plan.steps() / 2, plan.steps() - 1}) {
        SCOPED_TRACE(::testing::Message() << "steps " << plan.steps() << " guided " << guided << " k " << k);
        // Large noise predictions push some x0 outside [-1, 1], so the clipping is exercised.
        const auto x = test::random_vec(size_t(N) * P, 1, -2.0f, 2.0f);
        const auto eps = test::random_vec(size_t(2 * N) * P, 2, -3.0f, 3.0f);
        std::vector<float> fused = x;
        const int32_t step = k;
        diffusion_step(ctx, fused.data(), eps.data(), N, P, guided, 2.5f, plan.coef.data(), plan.timesteps.data(),
                       &step, 9, 40);
        const auto ref = unfused_step(x, eps, N, P, guided, 2.5, plan.coef, plan.timesteps, k, 9, 40);
        for (size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(fused[i], ref[i], 2e-5 * (1 + std::fabs(ref[i]))) << i;
      }
}

TEST(Diffusion, StepIndexLivesInDeviceMemory) {
  Context ctx(Device::CPU);
  const std::vector<int32_t> ts = {90, 50, 10};
  int32_t step = 1;
  std::vector<int32_t> t(4, -1);
  diffusion_set_timesteps(ctx, ts.data(), &step, t.data(), 4);
  EXPECT_EQ(t, (std::vector<int32_t>(4, 50)));
  diffusion_advance_step(ctx, &step);
  EXPECT_EQ(step, 2);
}

TEST(DiffusionSchedule, AlphaBarDecreasesInUnitIntervalAndPosteriorIsFinite) {
  for (const char* kind : {"linear", "cosine"})
    for (int T : {2, 10, 1000}) {
      SCOPED_TRACE(::testing::Message() << kind << " T " << T);
      const NoiseSchedule s = make_schedule(kind, T);
      ASSERT_EQ(s.T(), T);
      for (int t = 0; t < T; ++t) {
        EXPECT_GT(s.alpha_bar[size_t(t)], 0.0);
        EXPECT_LE(s.alpha_bar[size_t(t)], 1.0);
        EXPECT_GT(s.beta[size_t(t)], 0.0);
        EXPECT_LT(s.beta[size_t(t)], 1.0);
        if (t > 0) {
          EXPECT_LT(s.alpha_bar[size_t(t)], s.alpha_bar[size_t(t - 1)]);
        }
        const double v = posterior_variance(s, t);
        EXPECT_TRUE(std::isfinite(v));
        EXPECT_GE(v, 0.0);
      }
      EXPECT_EQ(posterior_variance(s, 0), 0.0);  // the last denoising step adds no noise
      EXPECT_TRUE(std::isfinite(posterior_variance(s, T - 1)));
      EXPECT_LT(s.alpha_bar[size_t(T - 1)], 0.05);  // the last timestep is nearly pure noise
    }
  EXPECT_THROW(make_schedule("quadratic", 10), Error);
  EXPECT_THROW(make_schedule("linear", 1), Error);
}

TEST(DiffusionSchedule, DdimWithEtaOneOverAllStepsIsDdpm) {
  const NoiseSchedule s = make_schedule("cosine", 50);
  const SamplerPlan a = ddpm_plan(s), b = ddim_plan(s, 50, 1.0);
  ASSERT_EQ(a.timesteps, b.timesteps);
  for (size_t i = 0; i < a.coef.size(); ++i) EXPECT_NEAR(a.coef[i], b.coef[i], 1e-5) << i;
  // The last step returns the clipped x0 exactly: c_x0 = 1, c_xt = 0, no noise.
  for (const SamplerPlan& p : {a, ddim_plan(s, 7, 0.0), ddim_plan(s, 7, 0.3)}) {
    const float* c = p.coef.data() + size_t(p.steps() - 1) * kCoefCount;
    EXPECT_EQ(p.timesteps.back(), 0);
    EXPECT_NEAR(c[kCoefX0], 1.0, 1e-6);
    EXPECT_NEAR(c[kCoefXt], 0.0, 1e-6);
    EXPECT_EQ(c[kCoefSigma], 0.0f);
  }
  // DDIM with eta 0 adds no noise at any step; its timesteps descend.
  const SamplerPlan d = ddim_plan(s, 10, 0.0);
  for (int k = 0; k < d.steps(); ++k) {
    EXPECT_EQ(d.coef[size_t(k) * kCoefCount + kCoefSigma], 0.0f);
    if (k > 0) {
      EXPECT_LT(d.timesteps[size_t(k)], d.timesteps[size_t(k - 1)]);
    }
  }
  EXPECT_THROW(ddim_plan(s, 51, 0.0), Error);
  EXPECT_THROW(ddim_plan(s, 10, 1.5), Error);
}

}  // namespace
}  // namespace dg
