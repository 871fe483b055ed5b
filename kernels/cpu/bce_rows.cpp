// CPU reference for bce_logits_rows: each row's terms (the shared bce_logits_value) summed in double.
#include "kernels/bce_rows.h"
#include "kernels/elementwise_math.h"

namespace dg::cpu {

void bce_logits_rows(Context&, const float* logits, const float* target, float* out, int B, int P, int repeat) {
  DG_REQUIRE(repeat >= 1, "bce_logits_rows: repeat must be at least 1, got ", repeat);
  for (int b = 0; b < B; ++b) {
    const float* x = logits + int64_t(b) * P;
    const float* t = target + int64_t(b / repeat) * P;
    double s = 0;
    for (int p = 0; p < P; ++p) s += bce_logits_value(x[p], t[p]);
    out[b] = float(s);
  }
}

}  // namespace dg::cpu
