// Per-index bodies of max and average pooling, shared by the CUDA kernels and the CPU reference.
// Backward bodies run once per *input* element and gather from the windows covering it, so every gradient is
// written by exactly one thread in a fixed order: deterministic for any K and stride, with no atomics.
#pragma once
#include <cstdint>

#include "kernels/hd.h"
#include "kernels/pool.h"

namespace dg {

// Throws for shapes neither backend handles (a window larger than the input, a zero stride).
inline void check_pool_geom(const PoolGeom& g) {
  DG_REQUIRE(g.BC >= 0 && g.K > 0 && g.stride > 0 && g.H >= g.K && g.W >= g.K, "pool: bad geometry BC=", g.BC,
             " H=", g.H, " W=", g.W, " K=", g.K, " stride=", g.stride);
}

// Output rows (or columns) [lo, hi] whose window covers input row i: o*stride <= i <= o*stride + K - 1.
// Empty (lo > hi) for inputs past the last window.
struct CoverRange {
  int lo, hi;
};
DG_HD CoverRange covering_windows(int i, int K, int stride, int n_out) {
  const int first = i - K + 1;
  const int lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  const int last = i / stride;
  return {lo, last < n_out - 1 ? last : n_out - 1};
}

// The bodies carry Ho and Wo precomputed because PoolGeom's helpers are host-only.
struct MaxPoolForwardBody {
  PoolGeom g; int Ho, Wo; const float* x; float* y; int32_t* argmax;
  DG_HD void operator()(int64_t i) const {
    const int ow = int(i % Wo), oh = int((i / Wo) % Ho);
    const int64_t plane = i / (int64_t(Ho) * Wo);
    const float* xp = x + plane * g.H * g.W;
    const int h0 = oh * g.stride, w0 = ow * g.stride;
    int best = h0 * g.W + w0;
    float m = xp[best];
    // Row-major scan with a strict comparison: ties keep the first position, on both backends.
    for (int kh = 0; kh < g.K; ++kh)
      for (int kw = 0; kw < g.K; ++kw) {
        const int idx = (h0 + kh) * g.W + w0 + kw;
        if (xp[idx] > m) { m = xp[idx]; best = idx; }
      }
    y[i] = m;
    argmax[i] = best;
  }
};

struct MaxPoolBackwardBody {
  PoolGeom g; int Ho, Wo; const float* dy; const int32_t* argmax; float* dx;
  DG_HD void operator()(int64_t i) const {
    const int iw = int(i % g.W), ih = int((i / g.W) % g.H);
    const int64_t plane = i / (int64_t(g.H) * g.W);
    const CoverRange rh = covering_windows(ih, g.K, g.stride, Ho), rw = covering_windows(iw, g.K, g.stride, Wo);
    const int self = ih * g.W + iw;
    const int64_t base = plane * Ho * Wo;
    float s = 0.0f;
    for (int oh = rh.lo; oh <= rh.hi; ++oh)
      for (int ow = rw.lo; ow <= rw.hi; ++ow) {
        const int64_t o = base + int64_t(oh) * Wo + ow;
        if (argmax[o] == self) s += dy[o];
      }
    dx[i] = s;
  }
};

struct AvgPoolForwardBody {
  PoolGeom g; int Ho, Wo; const float* x; float* y;
  DG_HD void operator()(int64_t i) const {
    const int ow = int(i % Wo), oh = int((i / Wo) % Ho);
    const int64_t plane = i / (int64_t(Ho) * Wo);
    const float* xp = x + plane * g.H * g.W + (oh * g.stride) * g.W + ow * g.stride;
    float s = 0.0f;
    for (int kh = 0; kh < g.K; ++kh)
      for (int kw = 0; kw < g.K; ++kw) s += xp[kh * g.W + kw];
    y[i] = s / float(g.K * g.K);
  }
};

struct AvgPoolBackwardBody {
  PoolGeom g; int Ho, Wo; const float* dy; float* dx;
  DG_HD void operator()(int64_t i) const {
    const int iw = int(i % g.W), ih = int((i / g.W) % g.H);
    const int64_t plane = i / (int64_t(g.H) * g.W);
    const CoverRange rh = covering_windows(ih, g.K, g.stride, Ho), rw = covering_windows(iw, g.K, g.stride, Wo);
    const float* dyp = dy + plane * Ho * Wo;
    float s = 0.0f;
    for (int oh = rh.lo; oh <= rh.hi; ++oh)
      for (int ow = rw.lo; ow <= rw.hi; ++ow) s += dyp[oh * Wo + ow];
    dx[i] = s / float(g.K * g.K);
  }
};

}  // namespace dg
