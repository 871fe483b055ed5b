// CPU convolutions: im2col / col2im around OpenBLAS GEMM over chunks of images. One GEMM per chunk (columns of
// several images side by side) keeps BLAS busy: per-image GEMMs of small layers (e.g. 14x14 outputs) left its
// threads spinning in sched_yield for a third of the time.
#include <algorithm>
#include <cstddef>
#include <cstring>

#include "kernels/conv.h"
#include "kernels/conv_check.h"
#include "kernels/gemm.h"
#include "runtime/parallel.h"

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

// col [Cin*K*K, Ho*Wo] (rows `ld` floats apart) from one image x [Cin, H, W]; padding reads as zero.
void im2col(const ConvGeom& g, const float* x, float* col, size_t ld) {
  const int Ho = g.Ho(), Wo = g.Wo(), K = g.K, s = g.stride;
  for (int c = 0; c < g.Cin; ++c) {
    const float* xc = x + size_t(c) * g.H * g.W;
    for (int kh = 0; kh < K; ++kh)
      for (int kw = 0; kw < K; ++kw) {
        float* row = col + (size_t(c) * K * K + size_t(kh) * K + kw) * ld;
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

// x [Cin, H, W] += scatter of col [Cin*K*K, Ho*Wo] (rows `ld` floats apart; the adjoint of im2col). Visits col
// in a fixed order, so the sums are deterministic.
void col2im_add(const ConvGeom& g, const float* col, size_t ld, float* x) {
  const int Ho = g.Ho(), Wo = g.Wo(), K = g.K, s = g.stride;
  for (int c = 0; c < g.Cin; ++c) {
    float* xc = x + size_t(c) * g.H * g.W;
    for (int kh = 0; kh < K; ++kh)
      for (int kw = 0; kw < K; ++kw) {
        const float* row = col + (size_t(c) * K * K + size_t(kh) * K + kw) * ld;
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


// Images per GEMM: enough columns for BLAS to run well, with the column buffer capped at 32 MiB.
int chunk_images(const ConvGeom& g) {
  const size_t P = size_t(g.Ho()) * g.Wo(), CKK = size_t(g.Cin) * g.K * g.K;
  const size_t by_width = std::max<size_t>(1, (4096 + P - 1) / P);
  const size_t by_memory = std::max<size_t>(1, (size_t(32) << 20) / (sizeof(float) * CKK * P));
  return int(std::min<size_t>({by_width, by_memory, size_t(g.B)}));
}

// Moves rows between per-image layout [G][C][P] and chunk layout [C][G*P].
void images_to_chunk(const float* src, float* dst, int G, int C, size_t P) {
  parallel_for(C, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      for (int i = 0; i < G; ++i)
        std::memcpy(dst + (size_t(c) * G + i) * P, src + (size_t(i) * C + c) * P, sizeof(float) * P);
  });
}
void chunk_to_images(const float* src, float* dst, int G, int C, size_t P) {
  parallel_for(C, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      for (int i = 0; i < G; ++i)
        std::memcpy(dst + (size_t(i) * C + c) * P, src + (size_t(c) * G + i) * P, sizeof(float) * P);
  });
}

// im2col of images b0 .. b0+n-1 into the chunk's columns, images split over the CPU threads.
void im2col_chunk(const ConvGeom& g, const float* x, size_t in_size, size_t P, int n, float* col) {
  parallel_for(n, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) im2col(g, x + i * in_size, col + i * P, n * P);
  });
}

}  // namespace

void conv2d_forward(Context& ctx, const ConvGeom& g, const float* x, const float* w, float* y) {
  check_conv_geom(g);
  const size_t P = size_t(g.Ho()) * g.Wo(), CKK = size_t(g.Cin) * g.K * g.K, in_size = size_t(g.Cin) * g.H * g.W;
  const int G = chunk_images(g);
  Block col = ctx.pool().allocate(sizeof(float) * CKK * P * G);
  Block out = ctx.pool().allocate(sizeof(float) * g.Cout * P * G);
  float* c = static_cast<float*>(col.get());
  float* o = static_cast<float*>(out.get());
  for (int b0 = 0; b0 < g.B; b0 += G) {
    const int n = std::min(G, g.B - b0);
    im2col_chunk(g, x + b0 * in_size, in_size, P, n, c);
    // out [Cout, n*P] = w [Cout, CKK] * col [CKK, n*P]
    cpu::gemm(ctx, Transpose::No, Transpose::No, g.Cout, int(n * P), int(CKK), 1.0f, w, c, 0.0f, o);
    chunk_to_images(o, y + b0 * g.Cout * P, n, g.Cout, P);
  }
}

void conv2d_backward_data(Context& ctx, const ConvGeom& g, const float* dy, const float* w, float* dx) {
  check_conv_geom(g);
  const size_t P = size_t(g.Ho()) * g.Wo(), CKK = size_t(g.Cin) * g.K * g.K, in_size = size_t(g.Cin) * g.H * g.W;
  const int G = chunk_images(g);
  Block col = ctx.pool().allocate(sizeof(float) * CKK * P * G);
  Block dyc = ctx.pool().allocate(sizeof(float) * g.Cout * P * G);
  float* c = static_cast<float*>(col.get());
  float* d = static_cast<float*>(dyc.get());
  std::memset(dx, 0, sizeof(float) * in_size * g.B);
  for (int b0 = 0; b0 < g.B; b0 += G) {
    const int n = std::min(G, g.B - b0);
    images_to_chunk(dy + b0 * g.Cout * P, d, n, g.Cout, P);
    // col [CKK, n*P] = w^T [CKK, Cout] * dy [Cout, n*P]
    cpu::gemm(ctx, Transpose::Yes, Transpose::No, int(CKK), int(n * P), g.Cout, 1.0f, w, d, 0.0f, c);
    parallel_for(n, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) col2im_add(g, c + i * P, n * P, dx + (b0 + i) * in_size);
    });
  }
}

void conv2d_backward_filter(Context& ctx, const ConvGeom& g, const float* x, const float* dy, float* dw, Grad mode) {
  check_conv_geom(g);
  const size_t P = size_t(g.Ho()) * g.Wo(), CKK = size_t(g.Cin) * g.K * g.K, in_size = size_t(g.Cin) * g.H * g.W;
  if (mode == Grad::Overwrite) std::memset(dw, 0, sizeof(float) * g.Cout * CKK);
  const int G = chunk_images(g);
  Block col = ctx.pool().allocate(sizeof(float) * CKK * P * G);
  Block dyc = ctx.pool().allocate(sizeof(float) * g.Cout * P * G);
  float* c = static_cast<float*>(col.get());
  float* d = static_cast<float*>(dyc.get());
  for (int b0 = 0; b0 < g.B; b0 += G) {
    const int n = std::min(G, g.B - b0);
    im2col_chunk(g, x + b0 * in_size, in_size, P, n, c);
    images_to_chunk(dy + b0 * g.Cout * P, d, n, g.Cout, P);
    // dw [Cout, CKK] += dy [Cout, n*P] * col^T [n*P, CKK]
    cpu::gemm(ctx, Transpose::No, Transpose::Yes, g.Cout, int(CKK), int(n * P), 1.0f, d, c, 1.0f, dw);
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
