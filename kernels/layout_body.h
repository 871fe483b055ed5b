// Per-index bodies of the layout changes (kernels/layout.h), shared by the CPU reference and the CUDA launchers.
#pragma once
#include <cstdint>

#include "kernels/hd.h"

namespace dg {

// One output element per index: rows layout y[(b * S + s) * C + c] from x[(b * C + c) * S + s].
struct ChannelsLastBody {
  const float* x; float* y; int C, S;
  DG_HD void operator()(int64_t i) const {
    const int64_t c = i % C, bs = i / C, s = bs % S, b = bs / S;
    y[i] = x[(b * C + c) * S + s];
  }
};

// One output element per index: NCHW x[(b * C + c) * S + s] from y[(b * S + s) * C + c].
struct ChannelsFirstBody {
  const float* y; float* x; int C, S;
  DG_HD void operator()(int64_t i) const {
    const int64_t s = i % S, bc = i / S, c = bc % C, b = bc / C;
    x[i] = y[(b * S + s) * C + c];
  }
};

}  // namespace dg
