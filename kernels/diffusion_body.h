// Per-element bodies of the diffusion ops, shared by the CPU reference and the CUDA launchers, so both backends
// compute the embedding, the noising and the sampling update with the same float expressions and Philox draws.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/diffusion.h"
#include "kernels/hd.h"
#include "runtime/philox.h"

namespace dg {

struct TimestepEmbeddingBody {
  const int32_t* t; float* y; int D;
  DG_HD void operator()(int64_t i) const {
    const int half = D / 2;
    const int64_t b = i / D;
    const int j = int(i - b * D);
    const int k = j < half ? j : j - half;
    // 10000^(-k / half) = exp(-ln(10000) k / half)
    const float freq = expf(-9.210340371976184f * float(k) / float(half));
    const float arg = float(t[b]) * freq;
    y[i] = j < half ? sinf(arg) : cosf(arg);
  }
};

struct DiffusionNoiseBody {
  const float* x; const float* a; const float* s; float* eps; float* xt; int P;
  uint64_t seed; uint64_t index_base; uint32_t step;
  DG_HD void operator()(int64_t i) const {
    const int64_t b = i / P;
    const float e = philox_normal(seed, kPurposeDiffusionTrain, uint64_t(index_base + b) * uint64_t(P) + uint64_t(i - b * P), step);
    eps[i] = e;
    xt[i] = a[b] * (2.0f * x[i] - 1.0f) + s[b] * e;
  }
};

// The sampling update for element i of x [N, P] (see diffusion.h).
DG_HD float diffusion_update(float xt, float eps, const float* c, float z) {
  float x0 = (xt - c[kCoefSqrt1mAb] * eps) / c[kCoefSqrtAb];
  x0 = fminf(1.0f, fmaxf(-1.0f, x0));
  return c[kCoefX0] * x0 + c[kCoefXt] * xt + c[kCoefSigma] * z;
}

struct DiffusionStepBody {
  float* x; const float* eps; int64_t NP; int P; bool guided; float guidance;
  const float* coef; const int32_t* timestep; const int32_t* step; uint64_t seed; uint64_t first;
  DG_HD void operator()(int64_t i) const {
    const int k = *step;
    const float* c = coef + int64_t(k) * kCoefCount;
    float e = eps[i];
    if (guided) {
      const float u = eps[NP + i];
      e = u + guidance * (e - u);
    }
    float z = 0.0f;
    if (c[kCoefSigma] > 0.0f) {
      const int64_t n = i / P;
      z = philox_normal(seed, kPurposeDiffusionSample, (first + uint64_t(n)) * uint64_t(P) + uint64_t(i - n * P),
                        uint32_t(timestep[k]));
    }
    x[i] = diffusion_update(x[i], e, c, z);
  }
};

struct DiffusionSetTimestepsBody {
  const int32_t* timestep; const int32_t* step; int32_t* t;
  DG_HD void operator()(int64_t i) const { t[i] = timestep[*step]; }
};

}  // namespace dg
