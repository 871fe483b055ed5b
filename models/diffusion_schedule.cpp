// Noise schedules and sampler plans in double precision (see diffusion_schedule.h).
#include "models/diffusion_schedule.h"

#include <algorithm>
#include <cmath>

#include "kernels/diffusion.h"
#include "runtime/error.h"

namespace dg {

NoiseSchedule make_schedule(const std::string& kind, int T) {
  DG_REQUIRE(T >= 2, "--timesteps: expected at least 2, got ", T);
  NoiseSchedule s;
  s.beta.resize(size_t(T));
  s.alpha_bar.resize(size_t(T));
  if (kind == "linear") {
    const double scale = 1000.0 / T, lo = 1e-4 * scale, hi = std::min(0.02 * scale, 0.999);
    for (int t = 0; t < T; ++t) s.beta[size_t(t)] = lo + (hi - lo) * double(t) / double(T - 1);
  } else if (kind == "cosine") {
    const double off = 0.008;
    auto f = [&](double t) {
      const double c = std::cos((t / T + off) / (1.0 + off) * M_PI / 2.0);
      return c * c;
    };
    for (int t = 0; t < T; ++t) s.beta[size_t(t)] = std::min(1.0 - f(t + 1) / f(t), 0.999);
  } else {
    fail("--schedule: expected linear or cosine, got '", kind, "'");
  }
  double ab = 1.0;
  for (int t = 0; t < T; ++t) {
    ab *= 1.0 - s.beta[size_t(t)];
    s.alpha_bar[size_t(t)] = ab;
  }
  return s;
}

double posterior_variance(const NoiseSchedule& s, int t) {
  const double ab = s.alpha_bar[size_t(t)], ab_prev = t > 0 ? s.alpha_bar[size_t(t - 1)] : 1.0;
  return s.beta[size_t(t)] * (1.0 - ab_prev) / (1.0 - ab);
}

namespace {

void push_coef(SamplerPlan& p, int t, double ab, double c_x0, double c_xt, double sigma) {
  p.timesteps.push_back(t);
  const double c[kCoefCount] = {std::sqrt(ab), std::sqrt(1.0 - ab), c_x0, c_xt, sigma};
  p.coef.insert(p.coef.end(), c, c + kCoefCount);
}

}  // namespace

SamplerPlan ddpm_plan(const NoiseSchedule& s) {
  SamplerPlan p;
  for (int t = s.T() - 1; t >= 0; --t) {
    const double ab = s.alpha_bar[size_t(t)], ab_prev = t > 0 ? s.alpha_bar[size_t(t - 1)] : 1.0;
    const double beta = s.beta[size_t(t)];
    push_coef(p, t, ab, std::sqrt(ab_prev) * beta / (1.0 - ab), std::sqrt(1.0 - beta) * (1.0 - ab_prev) / (1.0 - ab),
              std::sqrt(posterior_variance(s, t)));
  }
  return p;
}

SamplerPlan ddim_plan(const NoiseSchedule& s, int steps, double eta) {
  DG_REQUIRE(steps >= 1 && steps <= s.T(), "--sample-steps: expected 1..", s.T(), " (the model's timesteps), got ",
             steps);
  DG_REQUIRE(eta >= 0.0 && eta <= 1.0, "--eta: expected a value in [0, 1], got ", eta);
  std::vector<int> ts;
  for (int i = 0; i < steps; ++i) ts.push_back(int((int64_t(i) * s.T()) / steps));
  SamplerPlan p;
  for (int i = steps - 1; i >= 0; --i) {
    const int t = ts[size_t(i)];
    const double ab = s.alpha_bar[size_t(t)], ab_prev = i > 0 ? s.alpha_bar[size_t(ts[size_t(i - 1)])] : 1.0;
    const double sigma = eta * std::sqrt((1.0 - ab_prev) / (1.0 - ab)) * std::sqrt(1.0 - ab / ab_prev);
    const double d = std::sqrt(std::max(0.0, 1.0 - ab_prev - sigma * sigma));
    const double sab = std::sqrt(ab), s1m = std::sqrt(1.0 - ab);
    // x_prev = sqrt(ab_prev) x0 + d * eps' + sigma z with eps' = (x_t - sqrt(ab) x0) / sqrt(1 - ab).
    push_coef(p, t, ab, std::sqrt(ab_prev) - d * sab / s1m, d / s1m, sigma);
  }
  return p;
}

}  // namespace dg
