// Per-index bodies of nearest-neighbour upsampling, shared by the CUDA kernels and the CPU reference.
#pragma once
#include <cstdint>

#include "kernels/hd.h"

namespace dg {

struct UpsampleNearestForwardBody {
  const float* x; float* y; int H, W, f;
  DG_HD void operator()(int64_t i) const {  // i indexes y [BC, H*f, W*f]
    const int Wf = W * f, Hf = H * f;
    const int ow = int(i % Wf), oh = int((i / Wf) % Hf);
    const int64_t plane = i / (int64_t(Hf) * Wf);
    y[i] = x[plane * H * W + int64_t(oh / f) * W + ow / f];
  }
};

// One thread per input element sums its own f x f block (row-major): no two threads share an output.
struct UpsampleNearestBackwardBody {
  const float* dy; float* dx; int H, W, f;
  DG_HD void operator()(int64_t i) const {  // i indexes dx [BC, H, W]
    const int Wf = W * f;
    const int iw = int(i % W), ih = int((i / W) % H);
    const int64_t plane = i / (int64_t(H) * W);
    const float* block = dy + plane * H * f * Wf + int64_t(ih) * f * Wf + int64_t(iw) * f;
    float s = 0.0f;
    for (int a = 0; a < f; ++a)
      for (int b = 0; b < f; ++b) s += block[int64_t(a) * Wf + b];
    dx[i] = s;
  }
};

}  // namespace dg
