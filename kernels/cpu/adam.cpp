// CPU reference for the Adam step: bias corrections on the host, then the shared per-element update (split over the
// CPU threads).
#include "kernels/adam.h"
#include "kernels/adam_body.h"
#include "runtime/parallel.h"

namespace dg::cpu {

void adam_step(Context&, float* params, const float* grads, float* m, float* v, int64_t n, AdamConfig cfg,
               int64_t step) {
  DG_REQUIRE(step >= 1, "adam_step: step counts from 1, got ", step);
  const AdamBody body{params, grads, m, v, cfg, adam_bias_correction(cfg.beta1, step),
                      adam_bias_correction(cfg.beta2, step)};
  parallel_for(n, kElementwiseGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) body(i);
  });
}

}  // namespace dg::cpu
