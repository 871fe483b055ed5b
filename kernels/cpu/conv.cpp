// CPU convolutions. 3x3 stride-1 layers go to the direct AVX-512 kernels of kernels/cpu/conv_direct.cpp where the CPU
// has them; everything else is im2col / col2im around OpenBLAS GEMM, as follows. The forward pass and the input
// gradient work on small groups of images (one image where it has 512 output positions or more): the worker pool gives
// each thread a run of groups and its own scratch, and each group is one single-threaded sgemm, written straight into
// the output for a single image, so the scratch stays in cache. The input gradient of a stride-1 convolution is
// computed as a forward convolution with the turned kernel. The filter gradient sums over images, so it runs one GEMM
// per chunk of images (columns side by side, the long inner dimension BLAS likes), split by the pool into blocks of the
// output (kernels/cpu/gemm.cpp).
#include <algorithm>
#include <cstddef>
#include <cstring>

#include "kernels/conv.h"
#include "kernels/conv_check.h"
#include "kernels/cpu/conv_direct.h"
#include "kernels/cpu/sgemm.h"
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

// Moves rows between per-image layout [G][C][P] and chunk layout [C][G*P] (serially inside a pool piece).
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

// Images per GEMM in the forward pass and the input gradient: one where an image has enough output positions, a
// few side by side where it has few (7x7), so that packing the weights for BLAS is paid over at least
// kMinGemmColumns columns. Depends only on the geometry.
constexpr size_t kMinGemmColumns = 512;

// Runs fn(first image, images n, col, staging) over the batch in groups of images (the last may be short), each
// worker thread with its own scratch: col holds [CKK, n*P] and staging, for groups of more than one image,
// [Cout, n*P]. The groups depend only on the geometry, and which thread takes a group never changes what is
// computed for it.
template <class Fn>
void per_image_group(Context& ctx, const ConvGeom& g, const Fn& fn) {
  const size_t P = size_t(g.Ho()) * g.Wo(), CKK = size_t(g.Cin) * g.K * g.K;
  const int group = int(std::min<size_t>(size_t(g.B), (kMinGemmColumns + P - 1) / P));
  const size_t col_floats = CKK * P * group, scratch_floats = col_floats + (group > 1 ? g.Cout * P * group : 0);
  const int groups = (g.B + group - 1) / group;
  const int slots = std::max(1, std::min(cpu_threads(), groups));
  Block buf = ctx.pool().allocate(sizeof(float) * scratch_floats * slots);
  float* base = static_cast<float*>(buf.get());
  parallel_for(slots, 1, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s)
      for (int64_t k = groups * s / slots; k < groups * (s + 1) / slots; ++k) {
        const int64_t first = k * group;
        float* scratch = base + size_t(s) * scratch_floats;
        fn(first, int(std::min<int64_t>(group, g.B - first)), scratch, scratch + col_floats);
      }
  });
}

}  // namespace

void conv2d_forward(Context& ctx, const ConvGeom& g, const float* x, const float* w, float* y) {
  check_conv_geom(g);
  if (direct_conv_applies(g)) return direct_conv_forward(ctx, g, x, w, /*turned=*/false, y);
  const size_t P = size_t(g.Ho()) * g.Wo(), CKK = size_t(g.Cin) * g.K * g.K, in_size = size_t(g.Cin) * g.H * g.W;
  per_image_group(ctx, g, [&](int64_t i0, int n, float* col, float* staging) {
    const size_t cols = size_t(n) * P;
    for (int j = 0; j < n; ++j) im2col(g, x + (i0 + j) * in_size, col + j * P, cols);
    // out [Cout, n*P] = w [Cout, CKK] * col [CKK, n*P]; a single image's out is its y.
    float* y0 = y + i0 * g.Cout * P;
    sgemm_one_call(Transpose::No, Transpose::No, g.Cout, int(cols), int(CKK), 1.0f, w, int(CKK), col, int(cols), 0.0f,
                   n == 1 ? y0 : staging, int(cols));
    if (n > 1) chunk_to_images(staging, y0, n, g.Cout, P);
  });
}

void conv2d_backward_data(Context& ctx, const ConvGeom& g, const float* dy, const float* w, float* dx) {
  check_conv_geom(g);
  if (g.stride == 1 && g.pad <= g.K - 1) {
    // With stride 1 the input gradient is itself a stride-1 convolution: of dy, padded by K - 1 - pad, with the
    // kernel turned by 180 degrees and its channel axes swapped. Its im2col copies rows, where col2im would
    // scatter-add every column back onto the image.
    const ConvGeom t{g.B, g.Cout, g.Ho(), g.Wo(), g.Cin, g.K, 1, g.K - 1 - g.pad};
    if (direct_conv_applies(t)) return direct_conv_forward(ctx, t, dy, w, /*turned=*/true, dx);
    const int KK = g.K * g.K;
    Block turned = ctx.pool().allocate(sizeof(float) * size_t(g.Cin) * g.Cout * KK);
    float* wt = static_cast<float*>(turned.get());
    for (int co = 0; co < g.Cout; ++co)
      for (int ci = 0; ci < g.Cin; ++ci)
        for (int k = 0; k < KK; ++k)
          wt[(size_t(ci) * g.Cout + co) * KK + (KK - 1 - k)] = w[(size_t(co) * g.Cin + ci) * KK + k];
    cpu::conv2d_forward(ctx, t, dy, wt, dx);
    return;
  }
  const size_t P = size_t(g.Ho()) * g.Wo(), CKK = size_t(g.Cin) * g.K * g.K, in_size = size_t(g.Cin) * g.H * g.W;
  per_image_group(ctx, g, [&](int64_t i0, int n, float* col, float* staging) {
    const size_t cols = size_t(n) * P;
    // dy of the group as [Cout, n*P] (a single image's dy as it is).
    const float* d = dy + i0 * g.Cout * P;
    if (n > 1) {
      images_to_chunk(d, staging, n, g.Cout, P);
      d = staging;
    }
    // col [CKK, n*P] = w^T [CKK, Cout] * dy [Cout, n*P], then scattered back onto each image.
    sgemm_one_call(Transpose::Yes, Transpose::No, int(CKK), int(cols), g.Cout, 1.0f, w, int(CKK), d, int(cols), 0.0f,
                   col, int(cols));
    for (int j = 0; j < n; ++j) {
      float* dxi = dx + (i0 + j) * in_size;
      std::memset(dxi, 0, sizeof(float) * in_size);
      col2im_add(g, col + j * P, cols, dxi);
    }
  });
}

void conv2d_backward_filter(Context& ctx, const ConvGeom& g, const float* x, const float* dy, float* dw, Grad mode) {
  check_conv_geom(g);
  if (direct_conv_applies(g)) return direct_conv_backward_filter(ctx, g, x, dy, dw, mode);
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
