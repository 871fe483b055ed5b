// CPU reference for inverted dropout: the shared per-index body over the whole range; p == 0 is a copy.
#include <cstring>

#include "kernels/dropout.h"
#include "kernels/dropout_body.h"

namespace dg::cpu {
namespace {

void apply(const float* in, float* out, int64_t n, float p, uint64_t seed, uint32_t step) {
  DG_REQUIRE(p >= 0.0f && p < 1.0f, "dropout probability must be in [0, 1), got ", p);
  if (p == 0.0f) {
    if (in != out && n > 0) std::memmove(out, in, size_t(n) * sizeof(float));
    return;
  }
  const DropoutBody body{in, out, p, dropout_scale(p), seed, step};
  for (int64_t i = 0; i < n; ++i) body(i);
}

}  // namespace

void dropout_forward(Context&, const float* x, float* y, int64_t n, float p, uint64_t seed, uint32_t step) {
  apply(x, y, n, p, seed, step);
}

void dropout_backward(Context&, const float* dy, float* dx, int64_t n, float p, uint64_t seed, uint32_t step) {
  apply(dy, dx, n, p, seed, step);
}

}  // namespace dg::cpu
