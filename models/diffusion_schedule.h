// Noise schedules (linear, cosine) and sampler plans (ancestral DDPM, DDIM with any step count and eta), computed
// in double precision on the host. A plan is the per-step coefficient table the fused sampling kernel reads
// (kernels/diffusion.h): x0 = clip((x_t - sqrt_1mab eps) / sqrt_ab), x_prev = c_x0 x0 + c_xt x_t + sigma z.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace dg {

struct NoiseSchedule {
  std::vector<double> beta;       // [T]
  std::vector<double> alpha_bar;  // [T], prod_{s <= t} (1 - beta_s), strictly decreasing in (0, 1]
  int T() const { return int(beta.size()); }
};

// "linear": beta from 1e-4 to 0.02 scaled by 1000 / T (Ho et al.; the same curve for any T); "cosine": alpha_bar
// from cos^2 with offset s = 0.008 (Nichol & Dhariwal), beta clipped to 0.999. Errors name --schedule/--timesteps.
NoiseSchedule make_schedule(const std::string& kind, int T);

// Variance of q(x_{t-1} | x_t, x0): beta_t (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t), with alpha_bar_{-1} = 1.
double posterior_variance(const NoiseSchedule& s, int t);

struct SamplerPlan {
  std::vector<int32_t> timesteps;  // [S], the timestep denoised at each step, descending
  std::vector<float> coef;         // [S, 5] in kernels/diffusion.h's DiffusionCoef order
  int steps() const { return int(timesteps.size()); }
};

// Ancestral sampling over all T steps with the posterior mean and variance.
SamplerPlan ddpm_plan(const NoiseSchedule& s);
// DDIM over `steps` timesteps floor(i * T / steps), i = 0..steps-1; eta in [0, 1] scales the noise (0:
// deterministic; 1 with steps == T: the ancestral sampler).
SamplerPlan ddim_plan(const NoiseSchedule& s, int steps, double eta);

}  // namespace dg
