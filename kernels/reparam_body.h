// Per-index bodies of the reparameterization step, shared by the CUDA launcher and the CPU reference; the
// noise is a pure function of (seed, step, index_base + i), so both backends draw the same eps.
#pragma once
#include <cstdint>

#include "kernels/elementwise_math.h"
#include "runtime/philox.h"

namespace dg {

struct ReparamForwardBody {
  const float* mu; const float* logvar; float* eps; float* z; uint64_t seed; uint64_t index_base; uint32_t step;
  DG_HD void operator()(int64_t i) const {
    const float e = philox_normal(seed, kPurposeReparam, index_base + uint64_t(i), step);
    eps[i] = e;
    z[i] = reparam_value(mu[i], logvar[i], e);
  }
};

struct ReparamBackwardBody {
  const float* logvar; const float* eps; const float* dz; float* dmu; float* dlogvar;
  DG_HD void operator()(int64_t i) const {
    const float g = dz[i];
    dmu[i] = g;
    dlogvar[i] = g * reparam_dlogvar(logvar[i], eps[i]);
  }
};

}  // namespace dg
