// Double-precision sums over float data in a fixed order that runs at throughput rather than at the latency of one
// dependent add per element: 8 interleaved running sums, combined pairwise at the end. The CPU references use it
// for the statistics and gradient sums of the normalisations and the bias; the order depends only on n, so results
// stay the same for any thread count.
#pragma once
#include <cstdint>

namespace dg::cpu {

// The sum of term(i) for i in [0, n), each term a double.
template <class Term>
inline double lane_sum(int64_t n, const Term& term) {
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) a[j] += term(i + j);
  for (int j = 0; i < n; ++i, ++j) a[j] += term(i);
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

}  // namespace dg::cpu
