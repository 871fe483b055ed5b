// CUDA launchers for inverted dropout: the shared per-index body, mask recomputed from (seed, step).
#include "kernels/cuda_launch.cuh"
#include "kernels/dropout.h"
#include "kernels/dropout_body.h"

namespace dg::cuda {
namespace {

void apply(Context& ctx, const char* name, const float* in, float* out, int64_t n, float p, uint64_t seed,
           uint32_t step) {
  DG_REQUIRE(p >= 0.0f && p < 1.0f, "dropout probability must be in [0, 1), got ", p);
  if (n <= 0) return;
  if (p == 0.0f) {
    if (in != out)
      DG_CUDA_CHECK(cudaMemcpyAsync(out, in, size_t(n) * sizeof(float), cudaMemcpyDeviceToDevice, stream_of(ctx)));
    return;
  }
  cuda_detail::for_each_index(ctx, name, n, DropoutBody{in, out, p, dropout_scale(p), seed, step});
}

}  // namespace

void dropout_forward(Context& ctx, const float* x, float* y, int64_t n, float p, uint64_t seed, uint32_t step) {
  apply(ctx, "dropout_forward", x, y, n, p, seed, step);
}

void dropout_backward(Context& ctx, const float* dy, float* dx, int64_t n, float p, uint64_t seed, uint32_t step) {
  apply(ctx, "dropout_backward", dy, dx, n, p, seed, step);
}

}  // namespace dg::cuda
