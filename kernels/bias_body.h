// Per-index body of the bias forward, shared by the CUDA launcher and the CPU reference.
#pragma once
#include <cstdint>

#include "kernels/hd.h"

namespace dg {

// y[r, c, i] += b[c] with i the flat index into [rows, C, inner].
struct BiasForwardBody {
  float* y; const float* b; int C; int inner;
  DG_HD void operator()(int64_t i) const { y[i] += b[(i / inner) % C]; }
};

}  // namespace dg
