// CUDA launchers for the reparameterization step: the shared per-index bodies, grid-stride.
#include "kernels/cuda_launch.cuh"
#include "kernels/reparam.h"
#include "kernels/reparam_body.h"

namespace dg::cuda {

void reparam_forward(Context& ctx, const float* mu, const float* logvar, float* eps, float* z, int64_t n,
                     uint64_t seed, uint64_t index_base, uint32_t step) {
  cuda_detail::for_each_index(ctx, "reparam_forward", n, ReparamForwardBody{mu, logvar, eps, z, seed, index_base, step});
}

void reparam_backward(Context& ctx, const float* logvar, const float* eps, const float* dz, float* dmu, float* dlogvar,
                      int64_t n) {
  cuda_detail::for_each_index(ctx, "reparam_backward", n, ReparamBackwardBody{logvar, eps, dz, dmu, dlogvar});
}

}  // namespace dg::cuda
