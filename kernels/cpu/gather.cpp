// CPU reference for the data-side gathers (uint8 images to [0, 1] floats, labels) and the axpby / fill helpers.
#include "kernels/gather.h"
#include "kernels/gather_body.h"

namespace dg::cpu {
namespace {

template <typename F>
void run(int64_t n, const F& body) {
  for (int64_t i = 0; i < n; ++i) body(i);
}

}  // namespace

void gather_images(Context&, const uint8_t* images, const int32_t* idx, float* out, int B, int P) {
  if (P <= 0) return;
  for (int b = 0; b < B; ++b) DG_REQUIRE(idx[b] >= 0, "gather_images: negative index ", idx[b], " at row ", b);
  // Row by row (the same arithmetic as GatherImagesBody, without its per-element division for the row index).
  for (int b = 0; b < B; ++b) {
    const uint8_t* src = images + int64_t(idx[b]) * P;
    float* dst = out + int64_t(b) * P;
    for (int p = 0; p < P; ++p) dst[p] = float(src[p]) / 255.0f;
  }
}

void gather_labels(Context&, const uint8_t* labels, const int32_t* idx, int32_t* out, int B) {
  for (int b = 0; b < B; ++b) DG_REQUIRE(idx[b] >= 0, "gather_labels: negative index ", idx[b], " at row ", b);
  run(B, GatherLabelsBody{labels, idx, out});
}

void axpby(Context&, float alpha, const float* x, float beta, float* y, int64_t n) {
  run(n, AxpbyBody{alpha, x, beta, y});
}

void fill(Context&, float* y, float value, int64_t n) { run(n, FillBody{y, value}); }

}  // namespace dg::cpu
