// CPU reference for the reparameterization step: the shared per-index bodies over the whole range.
#include "kernels/reparam.h"
#include "kernels/reparam_body.h"

namespace dg::cpu {

void reparam_forward(Context&, const float* mu, const float* logvar, float* eps, float* z, int64_t n, uint64_t seed,
                     uint64_t index_base, uint32_t step) {
  const ReparamForwardBody body{mu, logvar, eps, z, seed, index_base, step};
  for (int64_t i = 0; i < n; ++i) body(i);
}

void reparam_backward(Context&, const float* logvar, const float* eps, const float* dz, float* dmu, float* dlogvar,
                      int64_t n) {
  const ReparamBackwardBody body{logvar, eps, dz, dmu, dlogvar};
  for (int64_t i = 0; i < n; ++i) body(i);
}

}  // namespace dg::cpu
