// Per-index body of the one-hot encoding, shared by the CUDA kernel and the CPU reference.
#pragma once
#include <cstdint>

#include "kernels/hd.h"

namespace dg {

// One element y[b, k] per index; every element is written (zeros included), so y needs no clearing first.
struct OneHotBody {
  const int32_t* labels; float* y; int K;
  DG_HD void operator()(int64_t i) const {
    const int64_t b = i / K, k = i % K;
    y[i] = labels[b] == k ? 1.0f : 0.0f;
  }
};

}  // namespace dg
