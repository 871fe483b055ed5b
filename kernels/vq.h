// Vector-quantization ops of the VQ-VAE's codebook: nearest-code search (argmin over distances formed from a GEMM
// of vectors against codes plus the code norms), the straight-through backward with the commitment term, per-code
// counts and sums of assigned vectors, the exponential-moving-average codebook update and dead-code restarts.
// The gather of chosen codes is embedding_forward (kernels/embedding.h) and the loss-based codebook gradient is
// embedding_backward of the codebook-loss gradient; both reuse those ops.
// Shapes: N vectors of dimension D (rows of z_e), K codes (codebook [K, D]).
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

// idx[n] = argmin_k (code_norms[k] - 2 * dots[n, k]), the nearest code by squared Euclidean distance (the
// vector's own norm is the same for every k); the lowest k wins ties. dots [N, K] = z_e codebook^T (a GEMM),
// code_norms [K] = |codebook_k|^2. min_dist (may be null) [N] gets the minimum of code_norms - 2 dots.
DG_DECLARE_OP(vq_nearest,
              (Context & ctx, const float* dots, const float* code_norms, int32_t* idx, float* min_dist, int N, int K),
              (dots, code_norms, idx, min_dist, N, K))

// Straight-through backward with the commitment term: dze[i] = dzq[i] + commit_scale * (ze[i] - zq[i])
// (overwritten), i over N * D; commit_scale is 2 * beta * loss scale, the gradient of beta * scale * |ze - sg(zq)|^2.
DG_DECLARE_OP(vq_straight_through_backward,
              (Context & ctx, const float* dzq, const float* ze, const float* zq, float* dze, int64_t n,
               float commit_scale),
              (dzq, ze, zq, dze, n, commit_scale))

// counts[k] = number of n with idx[n] == k (as floats, exact below 2^24); sums [K, D] (may be null) =
// sum of ze[n, :] over those n, in increasing n (deterministic, no atomics). Both overwritten.
DG_DECLARE_OP(vq_code_sums,
              (Context & ctx, const int32_t* idx, const float* ze, float* counts, float* sums, int N, int D, int K),
              (idx, ze, counts, sums, N, D, K))

// Exponential-moving-average codebook update from one batch's counts [K] and sums [K, D]:
//   ema_count[k] = decay * ema_count[k] + (1 - decay) * counts[k]
//   ema_sum[k, :] = decay * ema_sum[k, :] + (1 - decay) * sums[k, :]
//   codebook[k, :] = ema_sum[k, :] / smoothed_k, with the Laplace-smoothed count
//   smoothed_k = (ema_count[k] + eps) / (total + K * eps) * total, total = sum_k ema_count[k].
DG_DECLARE_OP(vq_ema_update,
              (Context & ctx, const float* counts, const float* sums, float* ema_count, float* ema_sum,
               float* codebook, int K, int D, float decay, float eps),
              (counts, sums, ema_count, ema_sum, codebook, K, D, decay, eps))

// Dead-code bookkeeping and restarts. For each code k: idle[k] = counts[k] > 0 ? 0 : idle[k] + 1; then when
// idle[k] >= dead_after the code is re-seeded from an encoder output of this batch: row
// r = philox_u32(seed, kPurposeCodebookRestart, k, step) % N, codebook[k, :] = ze[r, :], ema_sum[k, :] = ze[r, :],
// ema_count[k] = 1 (ema_* may be null for the loss-based update), idle[k] = 0, restarted[k] = 1 (else 0).
// Setting idle to dead_after everywhere first re-seeds the whole codebook (the initialisation from encoder outputs).
DG_DECLARE_OP(vq_dead_code_restart,
              (Context & ctx, const float* counts, float* idle, const float* ze, float* codebook, float* ema_count,
               float* ema_sum, float* restarted, int N, int D, int K, int dead_after, uint64_t seed, uint32_t step),
              (counts, idle, ze, codebook, ema_count, ema_sum, restarted, N, D, K, dead_after, seed, step))

}  // namespace dg
