// CPU reference of the vector-quantization ops (kernels/vq.h): the shared bodies in plain loops; the code sums
// loop over vectors once (same per-code order of additions as the body, in increasing n).
#include "kernels/vq.h"

#include <vector>

#include "kernels/vq_body.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

namespace dg::cpu {

void vq_nearest(Context&, const float* dots, const float* code_norms, int32_t* idx, float* min_dist, int N, int K) {
  DG_REQUIRE(K > 0, "vq_nearest: empty codebook");
  const VqNearestBody body{dots, code_norms, idx, min_dist, K};
  parallel_for(N, 256, [=](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) body(n);
  });
}

void vq_straight_through_backward(Context&, const float* dzq, const float* ze, const float* zq, float* dze, int64_t n,
                                  float commit_scale) {
  const VqStraightThroughBackwardBody body{dzq, ze, zq, dze, commit_scale};
  parallel_for(n, kElementwiseGrain, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) body(i);
  });
}

// One pass over the vectors: each vector adds into its code's row, so each row's additions come in increasing n,
// the order of VqCodeSumsBody (equal results bit for bit).
void vq_code_sums(Context&, const int32_t* idx, const float* ze, float* counts, float* sums, int N, int D, int K) {
  for (int k = 0; k < K; ++k) counts[k] = 0.0f;
  if (sums)
    for (int64_t i = 0; i < int64_t(K) * D; ++i) sums[i] = 0.0f;
  for (int n = 0; n < N; ++n) {
    const int k = idx[n];
    DG_REQUIRE(k >= 0 && k < K, "vq_code_sums: code index ", k, " of vector ", n, " is outside [0, ", K, ")");
    counts[k] += 1.0f;
    if (sums)
      for (int d = 0; d < D; ++d) sums[int64_t(k) * D + d] += ze[int64_t(n) * D + d];
  }
}

void vq_ema_update(Context&, const float* counts, const float* sums, float* ema_count, float* ema_sum, float* codebook,
                   int K, int D, float decay, float eps) {
  const VqEmaCountBody cb{counts, ema_count, decay};
  for (int64_t k = 0; k < K; ++k) cb(k);
  float total = 0.0f;  // increasing k, the order of the CUDA launcher's single-thread sum
  for (int k = 0; k < K; ++k) total += ema_count[k];
  const VqEmaCodeBody body{sums, ema_count, ema_sum, codebook, K, D, decay, eps, total};
  for (int64_t i = 0; i < int64_t(K) * D; ++i) body(i);
}

void vq_dead_code_restart(Context&, const float* counts, float* idle, const float* ze, float* codebook,
                          float* ema_count, float* ema_sum, float* restarted, int N, int D, int K, int dead_after,
                          uint64_t seed, uint32_t step) {
  DG_REQUIRE(N > 0, "vq_dead_code_restart: no encoder outputs to re-seed codes from");
  const VqDeadCodeRestartBody body{counts, idle, ze, codebook, ema_count, ema_sum, restarted, N, D, dead_after, seed, step};
  for (int64_t k = 0; k < K; ++k) body(k);
}

}  // namespace dg::cpu
