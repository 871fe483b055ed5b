// The VAE reparameterization step z = mu + exp(logvar / 2) * eps with Philox noise, and its backward.
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

// eps[i] = philox_normal(seed, kPurposeReparam, index_base + i, step); z[i] = reparam_value(mu, logvar, eps).
// eps is written out for the backward pass.
DG_DECLARE_OP(reparam_forward,
              (Context & ctx, const float* mu, const float* logvar, float* eps, float* z, int64_t n, uint64_t seed,
               uint64_t index_base, uint32_t step),
              (mu, logvar, eps, z, n, seed, index_base, step))
// dmu[i] = dz[i]; dlogvar[i] = dz[i] * reparam_dlogvar(logvar[i], eps[i]) (both overwritten).
DG_DECLARE_OP(reparam_backward,
              (Context & ctx, const float* logvar, const float* eps, const float* dz, float* dmu, float* dlogvar,
               int64_t n),
              (logvar, eps, dz, dmu, dlogvar, n))

}  // namespace dg
