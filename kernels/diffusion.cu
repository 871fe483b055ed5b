// CUDA launchers for the diffusion ops: each is one grid-stride launch of its shared body; diffusion_step is the
// whole sampling update of a step in one kernel, reading the step index from device memory (graph-replayable).
#include "kernels/cuda_launch.cuh"
#include "kernels/diffusion.h"
#include "kernels/diffusion_body.h"

namespace dg::cuda {

void timestep_embedding(Context& ctx, const int32_t* t, float* y, int B, int D) {
  cuda_detail::for_each_index(ctx, "timestep_embedding", int64_t(B) * D, TimestepEmbeddingBody{t, y, D});
}

void diffusion_noise(Context& ctx, const float* x, const float* a, const float* s, float* eps, float* xt, int B, int P,
                     uint64_t seed, uint64_t index_base, uint32_t step) {
  cuda_detail::for_each_index(ctx, "diffusion_noise", int64_t(B) * P,
                              DiffusionNoiseBody{x, a, s, eps, xt, P, seed, index_base, step});
}

void diffusion_step(Context& ctx, float* x, const float* eps, int N, int P, bool guided, float guidance,
                    const float* coef, const int32_t* timestep, const int32_t* step, uint64_t seed, uint64_t first) {
  const int64_t n = int64_t(N) * P;
  cuda_detail::for_each_index(ctx, "diffusion_step", n,
                              DiffusionStepBody{x, eps, n, P, guided, guidance, coef, timestep, step, seed, first});
}

void diffusion_set_timesteps(Context& ctx, const int32_t* timestep, const int32_t* step, int32_t* t, int M) {
  cuda_detail::for_each_index(ctx, "diffusion_set_timesteps", M, DiffusionSetTimestepsBody{timestep, step, t});
}

namespace {
__global__ void advance_step_kernel(int32_t* step) { ++*step; }
}  // namespace

void diffusion_advance_step(Context& ctx, int32_t* step) {
  advance_step_kernel<<<1, 1, 0, stream_of(ctx)>>>(step);
  DG_LAUNCH_CHECK(ctx, "diffusion_advance_step");
}

}  // namespace dg::cuda
