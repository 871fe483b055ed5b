// CUDA launchers of the PixelCNN prior's ops (kernels/pixelcnn.h): the shared bodies, one thread per element,
// per (image, channel) for the gated backward (its conditioning gradient sums positions in order, no atomics)
// and per image for drawing codes.
#include "kernels/cuda_launch.cuh"
#include "kernels/pixelcnn.h"
#include "kernels/pixelcnn_body.h"

namespace dg::cuda {

void tap_gather_forward(Context& ctx, const TapList& taps, const float* x, float* cols, int B, int H, int W, int C) {
  cuda_detail::for_each_index(ctx, "tap_gather_forward", int64_t(B) * H * W * taps.count * C,
                              TapGatherForwardBody{taps, x, cols, H, W, C});
}

void tap_gather_backward(Context& ctx, const TapList& taps, const float* dcols, float* dx, int B, int H, int W, int C) {
  cuda_detail::for_each_index(ctx, "tap_gather_backward", int64_t(B) * H * W * C,
                              TapGatherBackwardBody{taps, dcols, dx, H, W, C});
}

void gated_forward(Context& ctx, const float* x, const float* cond, float* y, int B, int P, int C) {
  cuda_detail::for_each_index(ctx, "gated_forward", int64_t(B) * P * C, GatedForwardBody{x, cond, y, P, C});
}

void gated_backward(Context& ctx, const float* x, const float* cond, const float* dy, float* dx, float* dcond, int B,
                    int P, int C) {
  cuda_detail::for_each_index(ctx, "gated_backward", int64_t(B) * 2 * C, GatedBackwardBody{x, cond, dy, dx, dcond, P, C});
}

void sample_codes(Context& ctx, const float* logits, int32_t* codes, int B, int P, int K, int pos, float temperature,
                  uint64_t seed, int64_t first) {
  cuda_detail::for_each_index(ctx, "sample_codes", B,
                              SampleCodesBody{logits, codes, P, K, pos, 1.0f / temperature, seed, first});
}

}  // namespace dg::cuda
