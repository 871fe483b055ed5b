// The diffusion model's own ops: the sinusoidal timestep embedding, the forward noising of training images
// (q_sample with Philox noise) and the fused per-step sampling update (guided noise prediction, clipped x0,
// posterior mean, fresh Philox noise: one kernel per denoising step).
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

// Coefficients of one sampling step, 5 floats per step in a table [S, 5] (computed in double on the host):
//   x0   = clip((x_t - sqrt_1mab * eps) / sqrt_ab, -1, 1)
//   x_prev = c_x0 * x0 + c_xt * x_t + sigma * z,   z ~ N(0, 1) from Philox (purpose 8)
// Ancestral DDPM and DDIM (any eta) both have this form (see models/diffusion_schedule.h).
enum DiffusionCoef : int { kCoefSqrtAb = 0, kCoefSqrt1mAb = 1, kCoefX0 = 2, kCoefXt = 3, kCoefSigma = 4, kCoefCount = 5 };

// y [B, D] (D even): y[b, j] = sin(t[b] * f_j), y[b, D/2 + j] = cos(t[b] * f_j), f_j = 10000^(-j / (D/2)).
// t [B] int32 timesteps in device memory. The input is data, so there is no backward.
DG_DECLARE_OP(timestep_embedding, (Context & ctx, const int32_t* t, float* y, int B, int D), (t, y, B, D))

// Forward noising of training images in [0, 1]: eps[b, p] = N(0, 1) from Philox(seed, purpose 7, index
// (index_base + b) * P + p, step), xt[b, p] = a[b] * (2 x[b, p] - 1) + s[b] * eps[b, p], with a = sqrt(alpha_bar_t)
// and s = sqrt(1 - alpha_bar_t) per row [B].
DG_DECLARE_OP(diffusion_noise,
              (Context & ctx, const float* x, const float* a, const float* s, float* eps, float* xt, int B, int P,
               uint64_t seed, uint64_t index_base, uint32_t step),
              (x, a, s, eps, xt, B, P, seed, index_base, step))

// One fused sampling step over x [N, P] in place. eps holds the network's predictions: rows 0..N-1 conditional,
// and when `guided` rows N..2N-1 unconditional, combined as eps_u + guidance * (eps_c - eps_u). The step index k
// is read from device memory (*step), so a captured CUDA graph can replay this launch for every step; the
// coefficients are coef[k * 5 ...] and the Philox step of the noise is timestep[k]. Sample n's noise is
// Philox(seed, purpose 8, (first + n) * P + p, timestep[k]): it depends on (seed, sample index, step) only.
DG_DECLARE_OP(diffusion_step,
              (Context & ctx, float* x, const float* eps, int N, int P, bool guided, float guidance,
               const float* coef, const int32_t* timestep, const int32_t* step, uint64_t seed, uint64_t first),
              (x, eps, N, P, guided, guidance, coef, timestep, step, seed, first))

// The network's timestep input for the current step: t[m] = timestep[*step] for m < M (the step index read from
// device memory, like diffusion_step).
DG_DECLARE_OP(diffusion_set_timesteps, (Context & ctx, const int32_t* timestep, const int32_t* step, int32_t* t, int M),
              (timestep, step, t, M))
// *step += 1 on the device: the last launch of a denoising step, so a replayed CUDA graph moves on by itself.
DG_DECLARE_OP(diffusion_advance_step, (Context & ctx, int32_t* step), (step))

}  // namespace dg
