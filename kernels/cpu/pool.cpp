// CPU reference for max and average pooling: the shared per-index bodies over the whole range.
#include "kernels/pool.h"
#include "kernels/pool_body.h"

namespace dg::cpu {
namespace {

template <typename F>
void for_each(int64_t n, const F& f) {
  for (int64_t i = 0; i < n; ++i) f(i);
}

}  // namespace

void maxpool2d_forward(Context&, const PoolGeom& g, const float* x, float* y, int32_t* argmax) {
  check_pool_geom(g);
  for_each(int64_t(g.BC) * g.Ho() * g.Wo(), MaxPoolForwardBody{g, g.Ho(), g.Wo(), x, y, argmax});
}

void maxpool2d_backward(Context&, const PoolGeom& g, const float* dy, const int32_t* argmax, float* dx) {
  check_pool_geom(g);
  for_each(int64_t(g.BC) * g.H * g.W, MaxPoolBackwardBody{g, g.Ho(), g.Wo(), dy, argmax, dx});
}

void avgpool2d_forward(Context&, const PoolGeom& g, const float* x, float* y) {
  check_pool_geom(g);
  for_each(int64_t(g.BC) * g.Ho() * g.Wo(), AvgPoolForwardBody{g, g.Ho(), g.Wo(), x, y});
}

void avgpool2d_backward(Context&, const PoolGeom& g, const float* dy, float* dx) {
  check_pool_geom(g);
  for_each(int64_t(g.BC) * g.H * g.W, AvgPoolBackwardBody{g, g.Ho(), g.Wo(), dy, dx});
}

}  // namespace dg::cpu
