// CUDA launchers for the data-side gathers and the axpby / fill helpers (shared per-index bodies, grid-stride).
#include "kernels/cuda_launch.cuh"
#include "kernels/gather.h"
#include "kernels/gather_body.h"

namespace dg::cuda {

void gather_images(Context& ctx, const uint8_t* images, const int32_t* idx, float* out, int B, int P) {
  if (P <= 0) return;
  cuda_detail::for_each_index(ctx, "gather_images", int64_t(B) * P, GatherImagesBody{images, idx, out, P});
}

void gather_labels(Context& ctx, const uint8_t* labels, const int32_t* idx, int32_t* out, int B) {
  cuda_detail::for_each_index(ctx, "gather_labels", B, GatherLabelsBody{labels, idx, out});
}

void axpby(Context& ctx, float alpha, const float* x, float beta, float* y, int64_t n) {
  cuda_detail::for_each_index(ctx, "axpby", n, AxpbyBody{alpha, x, beta, y});
}

void fill(Context& ctx, float* y, float value, int64_t n) {
  cuda_detail::for_each_index(ctx, "fill", n, FillBody{y, value});
}

}  // namespace dg::cuda
