// CPU convolutions: im2col / col2im around OpenBLAS GEMM, one image at a time (the column buffer of a single
// image stays cache-sized, and a per-image GEMM is already large enough for BLAS to run near peak).
#include <algorithm>
#include <cstddef>
#include <cstring>

#include "kernels/conv.h"
#include "kernels/conv_check.h"
#include "kernels/gemm.h"

namespace dg::cpu {
namespace {

// Output columns [lo, hi) whose input column ow*stride - pad + kw lands inside [0, W). Computing this range once
// per kernel column keeps the bounds test out of the innermost loops.
struct ValidRange {
  int lo, hi;
};

ValidRange valid_outputs(int kw, int W, int Wo, int stride, int pad) {
  // ow*stride >= pad - kw  and  ow*stride <= W - 1 + pad - kw
  const int first = pad - kw;
  const int lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  const int last = W - 1 + pad - kw;
  const int hi = last < 0 ? 0 : std::min(Wo, last / stride + 1);
  return {std::min(lo, hi), hi};
}

// col [Cin*K*K, Ho*Wo] from one image x [Cin, H, W]; padding reads as zero.
void im2col(const ConvGeom& g, const float* x, float* col) {
  const int Ho = g.Ho(), Wo = g.Wo(), K = g.K, s = g.stride;
  for (int c = 0; c < g.Cin; ++c) {
    const float* xc = x + size_t(c) * g.H * g.W;
    for (int kh = 0; kh < K; ++kh)
      for (int kw = 0; kw < K; ++kw) {
        float* row = col + (size_t(c) * K * K + size_t(kh) * K + kw) * Ho * Wo;
        const ValidRange r = valid_outputs(kw, g.W, Wo, s, g.pad);
        for (int oh = 0; oh < Ho; ++oh) {
          float* out = row + size_t(oh) * Wo;
          const int ih = oh * s - g.pad + kh;
          if (ih < 0 || ih >= g.H) {
            std::memset(out, 0, sizeof(float) * Wo);
            continue;
          }
          // x[c, ih, ow*s - pad + kw] is xc[base + ow*s]; base may be negative, only valid ow are read.
          const ptrdiff_t base = ptrdiff_t(ih) * g.W - g.pad + kw;
          for (int ow = 0; ow < r.lo; ++ow) out[ow] = 0.0f;
          if (s == 1) {
            if (r.hi > r.lo) std::memcpy(out + r.lo, xc + base + r.lo, sizeof(float) * (r.hi - r.lo));
          } else {
            for (int ow = r.lo; ow < r.hi; ++ow) out[ow] = xc[base + ptrdiff_t(ow) * s];
          }
          for (int ow = r.hi; ow < Wo; ++ow) out[ow] = 0.0f;
        }
      }
  }
}

// x [Cin, H, W] += scatter of col [Cin*K*K, Ho*Wo] (the adjoint of im2col). Visits col in a fixed order, so the
// sums are deterministic.
void col2im_add(const ConvGeom& g, const float* col, float* x) {
  const int Ho = g.Ho(), Wo = g.Wo(), K = g.K, s = g.stride;
  for (int c = 0; c < g.Cin; ++c) {
    float* xc = x + size_t(c) * g.H * g.W;
    for (int kh = 0; kh < K; ++kh)
      for (int kw = 0; kw < K; ++kw) {
        const float* row = col + (size_t(c) * K * K + size_t(kh) * K + kw) * Ho * Wo;
        const ValidRange r = valid_outputs(kw, g.W, Wo, s, g.pad);
        for (int oh = 0; oh < Ho; ++oh) {
          const int ih = oh * s - g.pad + kh;
          if (ih < 0 || ih >= g.H) continue;
          const float* src = row + size_t(oh) * Wo;
          const ptrdiff_t base = ptrdiff_t(ih) * g.W - g.pad + kw;
          for (int ow = r.lo; ow < r.hi; ++ow) xc[base + ptrdiff_t(ow) * s] += src[ow];
        }
      }
  }
}

}  // namespace

void conv2d_forward(Context& ctx, const ConvGeom& g, const float* x, const float* w, float* y) {
  check_conv_geom(g);
  const int P = g.Ho() * g.Wo(), CKK = g.Cin * g.K * g.K;
  Block col = ctx.pool().allocate(sizeof(float) * size_t(CKK) * P);
  float* c = static_cast<float*>(col.get());
  for (int b = 0; b < g.B; ++b) {
    im2col(g, x + size_t(b) * g.Cin * g.H * g.W, c);
    // y_b [Cout, P] = w [Cout, CKK] * col [CKK, P]
    cpu::gemm(ctx, Transpose::No, Transpose::No, g.Cout, P, CKK, 1.0f, w, c, 0.0f, y + size_t(b) * g.Cout * P);
  }
}

void conv2d_backward_data(Context& ctx, const ConvGeom& g, const float* dy, const float* w, float* dx) {
  check_conv_geom(g);
  const int P = g.Ho() * g.Wo(), CKK = g.Cin * g.K * g.K;
  Block col = ctx.pool().allocate(sizeof(float) * size_t(CKK) * P);
  float* c = static_cast<float*>(col.get());
  const size_t in_size = size_t(g.Cin) * g.H * g.W;
  std::memset(dx, 0, sizeof(float) * in_size * g.B);
  for (int b = 0; b < g.B; ++b) {
    // col [CKK, P] = w^T [CKK, Cout] * dy_b [Cout, P]
    cpu::gemm(ctx, Transpose::Yes, Transpose::No, CKK, P, g.Cout, 1.0f, w, dy + size_t(b) * g.Cout * P, 0.0f, c);
    col2im_add(g, c, dx + size_t(b) * in_size);
  }
}

void conv2d_backward_filter(Context& ctx, const ConvGeom& g, const float* x, const float* dy, float* dw, Grad mode) {
  check_conv_geom(g);
  const int P = g.Ho() * g.Wo(), CKK = g.Cin * g.K * g.K;
  if (mode == Grad::Overwrite) std::memset(dw, 0, sizeof(float) * size_t(g.Cout) * CKK);
  Block col = ctx.pool().allocate(sizeof(float) * size_t(CKK) * P);
  float* c = static_cast<float*>(col.get());
  for (int b = 0; b < g.B; ++b) {
    im2col(g, x + size_t(b) * g.Cin * g.H * g.W, c);
    // dw [Cout, CKK] += dy_b [Cout, P] * col^T [P, CKK]
    cpu::gemm(ctx, Transpose::No, Transpose::Yes, g.Cout, CKK, P, 1.0f, dy + size_t(b) * g.Cout * P, c, 1.0f, dw);
  }
}

// The transposed convolution is the adjoint of the forward one with the same geometry, so each of its passes is
// one of the passes above with the roles of the tensors exchanged.
void conv_transpose2d_forward(Context& ctx, const ConvGeom& g, const float* x, const float* w, float* y) {
  cpu::conv2d_backward_data(ctx, g, x, w, y);
}

void conv_transpose2d_backward_data(Context& ctx, const ConvGeom& g, const float* dy, const float* w, float* dx) {
  cpu::conv2d_forward(ctx, g, dy, w, dx);
}

void conv_transpose2d_backward_filter(Context& ctx, const ConvGeom& g, const float* x, const float* dy, float* dw,
                                      Grad mode) {
  cpu::conv2d_backward_filter(ctx, g, dy, x, dw, mode);
}

}  // namespace dg::cpu
