// Per-row sums of binary cross-entropy with logits, without a gradient: out[b] = sum_p bce(logits[b, p], target[r, p])
// with target row r = b / repeat. The VAE's importance-sampled likelihood needs -log p(x | z) for each of K latent
// samples of one image; repeat = K lets the K decoded rows share one target row instead of K copies.
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

// logits [B, P], target [ceil(B / repeat), P], out [B] (overwritten); repeat >= 1. Fixed summation order per row.
DG_DECLARE_OP(bce_logits_rows,
              (Context & ctx, const float* logits, const float* target, float* out, int B, int P, int repeat),
              (logits, target, out, B, P, repeat))

}  // namespace dg
