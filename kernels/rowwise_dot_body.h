// Per-element backward body of rowwise_dot, shared by the CPU reference and the CUDA launcher.
#pragma once
#include <cstdint>

#include "kernels/hd.h"

namespace dg {

struct RowwiseDotBackwardBody {
  const float* dy; const float* a; const float* c; float* da; float* dc; int D; bool accumulate;
  DG_HD void operator()(int64_t i) const {
    const float g = dy[i / D];
    if (da) da[i] = accumulate ? da[i] + g * c[i] : g * c[i];
    if (dc) dc[i] = accumulate ? dc[i] + g * a[i] : g * a[i];
  }
};

}  // namespace dg
