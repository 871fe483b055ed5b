// CPU reference for the diffusion ops: the shared per-element bodies of diffusion_body.h over the whole range.
#include "kernels/diffusion.h"
#include "kernels/diffusion_body.h"

namespace dg::cpu {

void timestep_embedding(Context&, const int32_t* t, float* y, int B, int D) {
  const TimestepEmbeddingBody body{t, y, D};
  for (int64_t i = 0, n = int64_t(B) * D; i < n; ++i) body(i);
}

void diffusion_noise(Context&, const float* x, const float* a, const float* s, float* eps, float* xt, int B, int P,
                     uint64_t seed, uint64_t index_base, uint32_t step) {
  const DiffusionNoiseBody body{x, a, s, eps, xt, P, seed, index_base, step};
  for (int64_t i = 0, n = int64_t(B) * P; i < n; ++i) body(i);
}

void diffusion_step(Context&, float* x, const float* eps, int N, int P, bool guided, float guidance,
                    const float* coef, const int32_t* timestep, const int32_t* step, uint64_t seed, uint64_t first) {
  const int64_t n = int64_t(N) * P;
  const DiffusionStepBody body{x, eps, n, P, guided, guidance, coef, timestep, step, seed, first};
  for (int64_t i = 0; i < n; ++i) body(i);
}

void diffusion_set_timesteps(Context&, const int32_t* timestep, const int32_t* step, int32_t* t, int M) {
  const DiffusionSetTimestepsBody body{timestep, step, t};
  for (int64_t i = 0; i < M; ++i) body(i);
}

void diffusion_advance_step(Context&, int32_t* step) { ++*step; }

}  // namespace dg::cpu
