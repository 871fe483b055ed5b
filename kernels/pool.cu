// CUDA launchers for max and average pooling: the shared per-index bodies, one thread per output (forward) or
// per input element (backward, gathering from its windows so that no two threads write the same gradient).
#include "kernels/cuda_launch.cuh"
#include "kernels/pool.h"
#include "kernels/pool_body.h"

namespace dg::cuda {

void maxpool2d_forward(Context& ctx, const PoolGeom& g, const float* x, float* y, int32_t* argmax) {
  check_pool_geom(g);
  cuda_detail::for_each_index(ctx, "maxpool2d_forward", int64_t(g.BC) * g.Ho() * g.Wo(),
                              MaxPoolForwardBody{g, g.Ho(), g.Wo(), x, y, argmax});
}

void maxpool2d_backward(Context& ctx, const PoolGeom& g, const float* dy, const int32_t* argmax, float* dx) {
  check_pool_geom(g);
  cuda_detail::for_each_index(ctx, "maxpool2d_backward", int64_t(g.BC) * g.H * g.W,
                              MaxPoolBackwardBody{g, g.Ho(), g.Wo(), dy, argmax, dx});
}

void avgpool2d_forward(Context& ctx, const PoolGeom& g, const float* x, float* y) {
  check_pool_geom(g);
  cuda_detail::for_each_index(ctx, "avgpool2d_forward", int64_t(g.BC) * g.Ho() * g.Wo(),
                              AvgPoolForwardBody{g, g.Ho(), g.Wo(), x, y});
}

void avgpool2d_backward(Context& ctx, const PoolGeom& g, const float* dy, float* dx) {
  check_pool_geom(g);
  cuda_detail::for_each_index(ctx, "avgpool2d_backward", int64_t(g.BC) * g.H * g.W,
                              AvgPoolBackwardBody{g, g.Ho(), g.Wo(), dy, dx});
}

}  // namespace dg::cuda
