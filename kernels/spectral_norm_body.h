// Per-element spectral-norm math shared by the CPU reference and the CUDA kernels: the normalisation floor,
// the division by sigma and the rank-1 corrected gradient.
#pragma once
#include <cstdint>

#include "kernels/hd.h"

namespace dg {

// normalize(a) = a / max(|a|, eps): PyTorch's floor, so a zero vector stays zero instead of becoming NaN.
constexpr float kSpectralNormEps = 1e-12f;

DG_HD float spectral_norm_denominator(float norm) { return norm > kSpectralNormEps ? norm : kSpectralNormEps; }

// W_sn[i] = W[i] / sigma; sigma is read through a pointer because on the GPU it never leaves device memory.
struct SpectralScaleBody {
  const float* W; const float* sigma; float* W_sn;
  DG_HD void operator()(int64_t i) const { W_sn[i] = W[i] / sigma[0]; }
};

// dW[r, c] (+)= (dW_sn[r, c] - s * u[r] * v[c]) / sigma with s = sum(dW_sn * W_sn).
struct SpectralBackwardBody {
  const float* dW_sn; const float* u; const float* v; const float* sigma; const float* s; float* dW;
  int cols; bool accumulate;
  DG_HD void operator()(int64_t i) const {
    const int64_t r = i / cols;
    const float g = (dW_sn[i] - s[0] * u[r] * v[i - r * cols]) / sigma[0];
    dW[i] = accumulate ? dW[i] + g : g;
  }
};

}  // namespace dg
