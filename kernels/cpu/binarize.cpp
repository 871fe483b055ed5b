// CPU reference for stochastic binarization.
#include "kernels/binarize.h"
#include "kernels/binarize_body.h"

namespace dg::cpu {

void binarize(Context&, const float* x, float* out, int64_t n, uint64_t seed, uint64_t index_base, uint32_t step) {
  const BinarizeBody body{x, out, seed, index_base, step};
  for (int64_t i = 0; i < n; ++i) body(i);
}

}  // namespace dg::cpu
