// Per-row softmax bodies shared by the CPU reference and the CUDA launcher: one call per row, a fixed summation
// order, so both backends compute each row the same way (rows are short: 49 attention positions at 7x7).
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/hd.h"

namespace dg {

struct SoftmaxRowsForwardBody {
  const float* x; float* y; int D; float scale;
  DG_HD void operator()(int64_t r) const {
    const float* xr = x + r * D;
    float* yr = y + r * D;
    float m = scale * xr[0];
    for (int j = 1; j < D; ++j) m = fmaxf(m, scale * xr[j]);
    float s = 0.0f;
    for (int j = 0; j < D; ++j) {
      const float e = expf(scale * xr[j] - m);
      yr[j] = e;
      s += e;
    }
    const float inv = 1.0f / s;
    for (int j = 0; j < D; ++j) yr[j] *= inv;
  }
};

struct SoftmaxRowsBackwardBody {
  const float* y; const float* dy; float* dx; int D; float scale;
  DG_HD void operator()(int64_t r) const {
    const float* yr = y + r * D;
    const float* gr = dy + r * D;
    float dot = 0.0f;
    for (int j = 0; j < D; ++j) dot += yr[j] * gr[j];
    for (int j = 0; j < D; ++j) dx[r * D + j] = scale * yr[j] * (gr[j] - dot);
  }
};

}  // namespace dg
