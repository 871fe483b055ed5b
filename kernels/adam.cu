// CUDA launcher for the Adam step: bias corrections on the host, one grid-stride pass over the slab.
#include "kernels/adam.h"
#include "kernels/adam_body.h"
#include "kernels/cuda_launch.cuh"

namespace dg::cuda {

void adam_step(Context& ctx, float* params, const float* grads, float* m, float* v, int64_t n, AdamConfig cfg,
               int64_t step) {
  DG_REQUIRE(step >= 1, "adam_step: step counts from 1, got ", step);
  cuda_detail::for_each_index(ctx, "adam_step", n,
                              AdamBody{params, grads, m, v, cfg, adam_bias_correction(cfg.beta1, step),
                                       adam_bias_correction(cfg.beta2, step)});
}

}  // namespace dg::cuda
