// CUDA launchers of the layout changes (kernels/layout.h): the shared per-element bodies.
#include "kernels/cuda_launch.cuh"
#include "kernels/layout.h"
#include "kernels/layout_body.h"

namespace dg::cuda {

void channels_last(Context& ctx, const float* x, float* y, int B, int C, int S) {
  cuda_detail::for_each_index(ctx, "channels_last", int64_t(B) * C * S, ChannelsLastBody{x, y, C, S});
}

void channels_first(Context& ctx, const float* y, float* x, int B, int C, int S) {
  cuda_detail::for_each_index(ctx, "channels_first", int64_t(B) * C * S, ChannelsFirstBody{y, x, C, S});
}

}  // namespace dg::cuda
