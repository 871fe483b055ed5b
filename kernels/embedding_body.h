// Per-index bodies of the embedding lookup, shared by the CUDA kernels and the CPU reference.
#pragma once
#include <cstdint>

#include "kernels/hd.h"

namespace dg {

// One element y[b, d] per index. An id outside [0, V) yields a zero row rather than a stray read (the CPU entry
// point rejects such ids outright; a device kernel cannot throw).
struct EmbeddingForwardBody {
  const float* table; const int32_t* ids; float* y; int V, D;
  DG_HD void operator()(int64_t i) const {
    const int64_t b = i / D, d = i % D;
    const int32_t v = ids[b];
    y[i] = (v >= 0 && v < V) ? table[int64_t(v) * D + d] : 0.0f;
  }
};

// One element dtable[v, d] per index, adding dy[b, d] for every b with ids[b] == v in increasing b. That fixed
// order makes the sum deterministic without atomics, and equals a sequential scatter bit for bit. The cost is
// V * D * B reads of ids, small for the class-label tables this serves.
struct EmbeddingBackwardBody {
  const float* dy; const int32_t* ids; float* dtable; int B, D;
  DG_HD void operator()(int64_t i) const {
    const int64_t v = i / D, d = i % D;
    float s = dtable[i];
    for (int b = 0; b < B; ++b)
      if (ids[b] == v) s += dy[int64_t(b) * D + d];
    dtable[i] = s;
  }
};

}  // namespace dg
