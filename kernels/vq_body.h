// Per-index bodies of the vector-quantization ops (kernels/vq.h), shared by the CPU reference and the CUDA launchers.
#pragma once
#include <cstdint>

#include "kernels/hd.h"
#include "runtime/philox.h"

namespace dg {

// One vector n per index: scans its K distances in increasing k (first minimum wins).
struct VqNearestBody {
  const float* dots; const float* code_norms; int32_t* idx; float* min_dist; int K;
  DG_HD void operator()(int64_t n) const {
    const float* row = dots + n * K;
    float best = code_norms[0] - 2.0f * row[0];
    int32_t arg = 0;
    for (int k = 1; k < K; ++k) {
      const float d = code_norms[k] - 2.0f * row[k];
      if (d < best) {
        best = d;
        arg = k;
      }
    }
    idx[n] = arg;
    if (min_dist) min_dist[n] = best;
  }
};

struct VqStraightThroughBackwardBody {
  const float* dzq; const float* ze; const float* zq; float* dze; float commit_scale;
  DG_HD void operator()(int64_t i) const { dze[i] = dzq[i] + commit_scale * (ze[i] - zq[i]); }
};

// One (k, d) per index over K * (D + 1): d < D sums ze[n, d] over the vectors assigned to k; d == D counts them.
// Increasing n, so every backend adds in the same order.
struct VqCodeSumsBody {
  const int32_t* idx; const float* ze; float* counts; float* sums; int N, D;
  DG_HD void operator()(int64_t i) const {
    const int64_t k = i / (D + 1), d = i % (D + 1);
    float s = 0.0f;
    if (d == D) {
      for (int n = 0; n < N; ++n) s += idx[n] == k ? 1.0f : 0.0f;
      counts[k] = s;
    } else if (sums) {
      for (int n = 0; n < N; ++n)
        if (idx[n] == k) s += ze[int64_t(n) * D + d];
      sums[k * D + d] = s;
    }
  }
};

// One code k per index: updates its EMA count and sum and rewrites its codebook row; `total` is the sum of the
// updated EMA counts (computed by the caller, in a fixed order).
struct VqEmaCountBody {
  const float* counts; float* ema_count; float decay;
  DG_HD void operator()(int64_t k) const { ema_count[k] = decay * ema_count[k] + (1.0f - decay) * counts[k]; }
};
struct VqEmaCodeBody {
  const float* sums; const float* ema_count; float* ema_sum; float* codebook; int K, D; float decay, eps, total;
  DG_HD void operator()(int64_t i) const {
    const int64_t k = i / D;
    ema_sum[i] = decay * ema_sum[i] + (1.0f - decay) * sums[i];
    const float smoothed = (ema_count[k] + eps) / (total + float(K) * eps) * total;
    codebook[i] = ema_sum[i] / smoothed;
  }
};

struct VqDeadCodeRestartBody {
  const float* counts; float* idle; const float* ze; float* codebook; float* ema_count; float* ema_sum;
  float* restarted; int N, D, dead_after; uint64_t seed; uint32_t step;
  DG_HD void operator()(int64_t k) const {
    const float id = counts[k] > 0.0f ? 0.0f : idle[k] + 1.0f;
    if (id < float(dead_after)) {
      idle[k] = id;
      restarted[k] = 0.0f;
      return;
    }
    const int64_t r = int64_t(philox_u32(seed, kPurposeCodebookRestart, uint64_t(k), step) % uint32_t(N));
    for (int d = 0; d < D; ++d) {
      const float v = ze[r * D + d];
      codebook[k * D + d] = v;
      if (ema_sum) ema_sum[k * D + d] = v;
    }
    if (ema_count) ema_count[k] = 1.0f;
    idle[k] = 0.0f;
    restarted[k] = 1.0f;
  }
};

}  // namespace dg
