// Adam (with optional decoupled weight decay) as one kernel over a model's whole parameter slab.
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"
#include "kernels/elementwise_math.h"

namespace dg {

// Applies adam_update to n parameters; `step` is the 1-based step number after this update.
DG_DECLARE_OP(adam_step,
              (Context & ctx, float* params, const float* grads, float* m, float* v, int64_t n, AdamConfig cfg,
               int64_t step),
              (params, grads, m, v, n, cfg, step))

}  // namespace dg
