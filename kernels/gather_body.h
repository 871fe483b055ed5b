// Per-index bodies of the data-side gathers and small elementwise helpers, shared by the CUDA launcher and the
// CPU reference.
#pragma once
#include <cstdint>

#include "kernels/hd.h"

namespace dg {

// Flat index i over [B, P]: out[b, p] = images[idx[b], p] / 255.
struct GatherImagesBody {
  const uint8_t* images; const int32_t* idx; float* out; int P;
  DG_HD void operator()(int64_t i) const {
    const int64_t b = i / P, p = i - b * P;
    out[i] = float(images[int64_t(idx[b]) * P + p]) / 255.0f;
  }
};

struct GatherLabelsBody {
  const uint8_t* labels; const int32_t* idx; int32_t* out;
  DG_HD void operator()(int64_t b) const { out[b] = int32_t(labels[idx[b]]); }
};

// beta == 0 ignores y's old contents (BLAS convention), so y may start uninitialised (NaN stays out).
struct AxpbyBody {
  float alpha; const float* x; float beta; float* y;
  DG_HD void operator()(int64_t i) const { y[i] = beta == 0.0f ? alpha * x[i] : alpha * x[i] + beta * y[i]; }
};

struct FillBody {
  float* y; float value;
  DG_HD void operator()(int64_t i) const { y[i] = value; }
};

}  // namespace dg
