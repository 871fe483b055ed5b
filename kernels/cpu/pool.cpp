// CPU reference for max and average pooling: the shared per-index bodies over the whole range.
#include <algorithm>

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

// A scatter over the outputs in order: the same additions, in the same order, as the CUDA gather over the
// windows covering each input (outputs ascending), without a division per input element.
void maxpool2d_backward(Context&, const PoolGeom& g, const float* dy, const int32_t* argmax, float* dx) {
  check_pool_geom(g);
  const int64_t plane_in = int64_t(g.H) * g.W, plane_out = int64_t(g.Ho()) * g.Wo();
  std::fill(dx, dx + int64_t(g.BC) * plane_in, 0.0f);
  for (int64_t p = 0; p < g.BC; ++p) {
    float* dxp = dx + p * plane_in;
    const float* dyp = dy + p * plane_out;
    const int32_t* ap = argmax + p * plane_out;
    for (int64_t o = 0; o < plane_out; ++o) dxp[ap[o]] += dyp[o];
  }
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
