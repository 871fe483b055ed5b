// The per-query merge of sqdist_topk, shared by the CPU reference and the CUDA launcher: both walk the references in
// ascending order and insert each value into a sorted list of k, so they agree bit for bit on the same dots.
#pragma once
#include <cstdint>

#include "kernels/hd.h"

namespace dg {

// |q|^2 + r - 2 <q, ref>: 2 * dot is exact in float, so a fused multiply-add rounds the same as the two-step form.
DG_HD float sqdist_value(float qnorm, float rnorm, float dot) { return (qnorm + rnorm) - 2.0f * dot; }

// Inserts (v, idx) into the ascending list best[0..k) (with indices) when v is strictly smaller than its last entry.
DG_HD void topk_insert(float* best, int32_t* best_idx, int k, float v, int32_t idx) {
  if (!(v < best[k - 1])) return;
  int p = k - 1;
  while (p > 0 && v < best[p - 1]) {
    best[p] = best[p - 1];
    best_idx[p] = best_idx[p - 1];
    --p;
  }
  best[p] = v;
  best_idx[p] = idx;
}

}  // namespace dg
