// Embedding lookup: table [V, D], ids [B] -> y [B, D]; backward accumulates rows of the table gradient.
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

DG_DECLARE_OP(embedding_forward, (Context & ctx, const float* table, const int32_t* ids, float* y, int B, int V, int D),
              (table, ids, y, B, V, D))
// dtable[ids[b], :] += dy[b, :] for every b; deterministic (a fixed summation order per row, no atomics).
DG_DECLARE_OP(embedding_backward, (Context & ctx, const float* dy, const int32_t* ids, float* dtable, int B, int V, int D),
              (dy, ids, dtable, B, V, D))

}  // namespace dg
