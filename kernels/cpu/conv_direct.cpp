// Direct 3x3 stride-1 convolutions on AVX-512, without an im2col matrix: the forward pass (which also serves as the
// input gradient, with the kernel turned) and the filter gradient, plus the CpuConvPath switch.
//
// The layout they compute in: each channel of an image is copied once into a zero-bordered buffer of width
// Wp = W + 2*pad, stored flat. Output position (oy, ox) then sits at flat index q = oy*Wp + ox and the input under
// tap (ky, kx) at q + ky*Wp + kx, so one tap of one channel is a contiguous run of q: a plain vector load. The last
// two columns of each output row (ox >= Wo) are junk computed alongside and dropped on the way out; they cost
// 2/Wp of the work (7% at 28x28, 22% at 7x7).
//
// Forward: per image, tiles of up to 6 vectors (96 positions) of 4 output channels each, so 24 accumulators stay
// in registers over all Cin*9 taps and each loaded input vector feeds 4 FMAs. Filter gradient: per group of 3
// output channels (2 where 3 would leave a lone channel) and one input channel, 27 (18) accumulators, channels x
// 9 taps, over every position of every image, reduced to scalars once at the end; the work for one weight never
// depends on the thread count.
#include "kernels/cpu/conv_direct.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kernels/conv_check.h"
#include "kernels/cpu/avx512.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

namespace dg::cpu {
namespace {

constexpr int kLanes = 16;       // floats per AVX-512 vector
constexpr int kTileVectors = 6;  // vectors per forward tile
constexpr int kCoBlock = 4;      // output channels per forward tile
constexpr int kTaps = 9;
constexpr size_t kFilterChunkBytes = size_t(32) << 20;  // flat copies per filter-gradient pass

CpuConvPath path_from_environment() {
  const char* e = std::getenv("DIGITGEN_CPU_CONV");
  if (e == nullptr || std::string(e) == "direct") return CpuConvPath::Direct;
  DG_REQUIRE(std::string(e) == "gemm", "DIGITGEN_CPU_CONV: expected 'direct' or 'gemm', got '", e, "'");
  return CpuConvPath::Gemm;
}

std::atomic<CpuConvPath>& path_setting() {
  static std::atomic<CpuConvPath> path{path_from_environment()};
  return path;
}

size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

// Sizes of the flat layout for one geometry (K = 3, stride 1).
struct FlatLayout {
  int Hp, Wp, Ho, Wo;
  size_t vectors;    // output vectors per channel: ceil(Ho*Wp / 16)
  size_t out_ch;     // floats per output channel (vectors * 16)
  size_t in_ch;      // floats per padded input channel: every tap of every output vector stays inside

  explicit FlatLayout(const ConvGeom& g)
      : Hp(g.H + 2 * g.pad), Wp(g.W + 2 * g.pad), Ho(Hp - 2), Wo(Wp - 2) {
    vectors = (size_t(Ho) * Wp + kLanes - 1) / kLanes;
    out_ch = vectors * kLanes;
    in_ch = round_up(out_ch + 2 * size_t(Wp) + 2, kLanes);
  }
};

// dst[0, n) = src[0, n): rows here are 5 to 64 floats, short enough that a memcpy call costs more than the copy.
__attribute__((target("avx512f"))) inline void copy_row(float* dst, const float* src, int n) {
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) _mm512_storeu_ps(dst + i, _mm512_loadu_ps(src + i));
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(dst + i, m, _mm512_maskz_loadu_ps(m, src + i));
  }
}

// Copies src [C][H][W] into dst [C][ch_stride] at row `top`, column `left` of rows `Wp` wide, leaving the rest of
// dst as it is (zero it once: the forward pass reuses one buffer for every image of a slot).
__attribute__((target("avx512f"))) void to_flat(const float* src, int C, int H, int W, int Wp, int top, int left,
                                                size_t ch_stride, float* dst) {
  for (int c = 0; c < C; ++c)
    for (int y = 0; y < H; ++y)
      copy_row(dst + c * ch_stride + size_t(top + y) * Wp + left, src + (size_t(c) * H + y) * W, W);
}

// y [C][Ho][Wo] = the valid columns of out [C][out_ch] (rows Wp apart).
__attribute__((target("avx512f"))) void from_flat(const float* out, int C, int Ho, int Wo, int Wp, size_t out_ch,
                                                  float* y) {
  for (int c = 0; c < C; ++c)
    for (int oy = 0; oy < Ho; ++oy) copy_row(y + (size_t(c) * Ho + oy) * Wo, out + c * out_ch + size_t(oy) * Wp, Wo);
}

// Weights packed for the forward tiles: [Cout/4 blocks][Cin][9 taps][4], zero for the channels past Cout. With
// `turned`, w is [Cin, Cout, 3, 3] of the convolution whose input gradient this is (see conv_direct.h).
void pack_weights(const ConvGeom& g, const float* w, bool turned, float* packed) {
  const int blocks = (g.Cout + kCoBlock - 1) / kCoBlock;
  for (int b = 0; b < blocks; ++b)
    for (int ci = 0; ci < g.Cin; ++ci)
      for (int k = 0; k < kTaps; ++k)
        for (int j = 0; j < kCoBlock; ++j) {
          const int co = b * kCoBlock + j;
          float v = 0.0f;
          if (co < g.Cout)
            v = turned ? w[(size_t(ci) * g.Cout + co) * kTaps + (kTaps - 1 - k)] : w[(size_t(co) * g.Cin + ci) * kTaps + k];
          packed[((size_t(b) * g.Cin + ci) * kTaps + k) * kCoBlock + j] = v;
        }
}

// out[j][v] (rows out_ch apart) = sum over ci, taps of w[ci][tap][j] * x[ci][q + tap offset] for NV vectors of q.
template <int NV>
__attribute__((target("avx512f"))) void forward_tile(const float* x, size_t in_ch, int Wp, int Cin,
                                                     const float* w, float* out, size_t out_ch) {
  __m512 acc[kCoBlock][NV];
#pragma GCC unroll 4
  for (int j = 0; j < kCoBlock; ++j)
#pragma GCC unroll 6
    for (int v = 0; v < NV; ++v) acc[j][v] = _mm512_setzero_ps();
  for (int ci = 0; ci < Cin; ++ci) {
    const float* xc = x + size_t(ci) * in_ch;
    const float* wc = w + size_t(ci) * kTaps * kCoBlock;
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ++ky)
#pragma GCC unroll 3
      for (int kx = 0; kx < 3; ++kx) {
        const float* src = xc + ky * Wp + kx;
        const float* wk = wc + (ky * 3 + kx) * kCoBlock;
        const __m512 w0 = _mm512_set1_ps(wk[0]), w1 = _mm512_set1_ps(wk[1]), w2 = _mm512_set1_ps(wk[2]),
                     w3 = _mm512_set1_ps(wk[3]);
#pragma GCC unroll 6
        for (int v = 0; v < NV; ++v) {
          const __m512 xv = _mm512_loadu_ps(src + v * kLanes);
          acc[0][v] = _mm512_fmadd_ps(w0, xv, acc[0][v]);
          acc[1][v] = _mm512_fmadd_ps(w1, xv, acc[1][v]);
          acc[2][v] = _mm512_fmadd_ps(w2, xv, acc[2][v]);
          acc[3][v] = _mm512_fmadd_ps(w3, xv, acc[3][v]);
        }
      }
  }
#pragma GCC unroll 4
  for (int j = 0; j < kCoBlock; ++j)
#pragma GCC unroll 6
    for (int v = 0; v < NV; ++v) _mm512_storeu_ps(out + j * out_ch + v * kLanes, acc[j][v]);
}

using ForwardTile = void (*)(const float*, size_t, int, int, const float*, float*, size_t);
constexpr ForwardTile kForwardTiles[kTileVectors + 1] = {nullptr,         forward_tile<1>, forward_tile<2>,
                                                         forward_tile<3>, forward_tile<4>, forward_tile<5>,
                                                         forward_tile<6>};

// The sum of a vector's lanes in a fixed order (GCC 12's _mm512_reduce_add_ps trips -Wuninitialized in its header).
__attribute__((target("avx512f"))) float sum_lanes(__m512 v) {
  alignas(64) float lanes[kLanes];
  _mm512_store_ps(lanes, v);
  float s = 0.0f;
  for (float l : lanes) s += l;
  return s;
}

// sums[j][tap] = the sum over `images` images (img_dy / img_x floats apart) of dy[j][q] * x[q + tap offset], for
// the CG output channels j whose flat rows start at dy (out_ch apart) and one input channel x. CG = 3 keeps 27
// accumulators in registers and loads 12 vectors per 27 FMAs; CG = 2 serves channel counts 3 would pad by two.
template <int CG>
__attribute__((target("avx512f"))) void filter_group(const float* dy, size_t out_ch, const float* x, int images,
                                                     size_t img_dy, size_t img_x, size_t vectors, int Wp,
                                                     float sums[][kTaps]) {
  __m512 acc[CG][kTaps];
#pragma GCC unroll 4
  for (int j = 0; j < CG; ++j)
#pragma GCC unroll 9
    for (int k = 0; k < kTaps; ++k) acc[j][k] = _mm512_setzero_ps();
  for (int b = 0; b < images; ++b) {
    const float* db = dy + b * img_dy;
    const float* xb = x + b * img_x;
    for (size_t v = 0; v < vectors; ++v) {
      __m512 g[CG];
#pragma GCC unroll 4
      for (int j = 0; j < CG; ++j) g[j] = _mm512_loadu_ps(db + j * out_ch + v * kLanes);
      const float* src = xb + v * kLanes;
#pragma GCC unroll 3
      for (int ky = 0; ky < 3; ++ky)
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; ++kx) {
          __m512 xv = _mm512_loadu_ps(src + ky * Wp + kx);
          // Keep xv in a register: folded into each FMA as a memory operand it would be loaded CG times.
          __asm__("" : "+v"(xv));
#pragma GCC unroll 4
          for (int j = 0; j < CG; ++j) acc[j][ky * 3 + kx] = _mm512_fmadd_ps(g[j], xv, acc[j][ky * 3 + kx]);
        }
    }
  }
  for (int j = 0; j < CG; ++j)
    for (int k = 0; k < kTaps; ++k) sums[j][k] = sum_lanes(acc[j][k]);
}

}  // namespace

CpuConvPath cpu_conv_path() { return path_setting().load(); }
void set_cpu_conv_path(CpuConvPath path) { path_setting().store(path); }

bool direct_conv_supported() { return cpu_has_avx512f(); }

bool direct_conv_applies(const ConvGeom& g) {
  return g.K == 3 && g.stride == 1 && g.pad >= 0 && g.pad <= 2 && cpu_conv_path() == CpuConvPath::Direct &&
         direct_conv_supported();
}

void direct_conv_forward(Context& ctx, const ConvGeom& g, const float* x, const float* w, bool turned, float* y) {
  check_conv_geom(g);
  DG_REQUIRE(direct_conv_applies(g), "direct_conv_forward: called for a geometry the direct kernels do not take");
  const FlatLayout L(g);
  const int blocks = (g.Cout + kCoBlock - 1) / kCoBlock;
  Block packed_block = ctx.pool().allocate(sizeof(float) * blocks * kCoBlock * g.Cin * kTaps);
  float* packed = static_cast<float*>(packed_block.get());
  pack_weights(g, w, turned, packed);

  const size_t in_image = size_t(g.Cin) * g.H * g.W, out_image = size_t(g.Cout) * L.Ho * L.Wo;
  const size_t scratch = size_t(g.Cin) * L.in_ch + size_t(blocks) * kCoBlock * L.out_ch;
  const int slots = std::max(1, std::min(cpu_threads(), g.B));
  Block buf = ctx.pool().allocate(sizeof(float) * scratch * slots);
  float* base = static_cast<float*>(buf.get());
  parallel_for(slots, 1, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      float* xp = base + size_t(s) * scratch;
      float* out = xp + size_t(g.Cin) * L.in_ch;
      std::memset(xp, 0, sizeof(float) * g.Cin * L.in_ch);  // the borders, which every image leaves zero
      for (int64_t b = g.B * s / slots; b < g.B * (s + 1) / slots; ++b) {
        to_flat(x + b * in_image, g.Cin, g.H, g.W, L.Wp, g.pad, g.pad, L.in_ch, xp);
        for (size_t v0 = 0; v0 < L.vectors; v0 += kTileVectors) {
          const size_t nv = std::min<size_t>(kTileVectors, L.vectors - v0);
          for (int cb = 0; cb < blocks; ++cb)
            kForwardTiles[nv](xp + v0 * kLanes, L.in_ch, L.Wp, g.Cin, packed + size_t(cb) * g.Cin * kTaps * kCoBlock,
                              out + size_t(cb) * kCoBlock * L.out_ch + v0 * kLanes, L.out_ch);
        }
        from_flat(out, g.Cout, L.Ho, L.Wo, L.Wp, L.out_ch, y + b * out_image);
      }
    }
  });
}

void direct_conv_backward_filter(Context& ctx, const ConvGeom& g, const float* x, const float* dy, float* dw,
                                 Grad mode) {
  check_conv_geom(g);
  DG_REQUIRE(direct_conv_applies(g), "direct_conv_backward_filter: called for a geometry the direct kernels do not take");
  const FlatLayout L(g);
  // Output channels per task: 3, unless that would leave a group with a single real channel (16 -> 8 pairs).
  const int group = g.Cout % 3 == 1 ? 2 : 3;
  const int groups = (g.Cout + group - 1) / group, cout_padded = groups * group;
  const size_t in_image = size_t(g.Cin) * g.H * g.W, out_image = size_t(g.Cout) * L.Ho * L.Wo;
  const size_t x_img = size_t(g.Cin) * L.in_ch, dy_img = size_t(cout_padded) * L.out_ch;
  // Images per pass: the flat copies of x and dy for a pass stay under kFilterChunkBytes (the im2col path caps its
  // column buffer the same way); the passes depend only on the geometry and add up in batch order.
  const int chunk = int(std::clamp<size_t>(kFilterChunkBytes / (sizeof(float) * (x_img + dy_img)), 1, size_t(g.B)));
  Block xb = ctx.pool().allocate(sizeof(float) * x_img * chunk);
  Block db = ctx.pool().allocate(sizeof(float) * dy_img * chunk);
  float* xf = static_cast<float*>(xb.get());
  float* df = static_cast<float*>(db.get());
  for (int first = 0; first < g.B; first += chunk) {
    const int n = std::min(chunk, g.B - first);
    parallel_for(n, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        std::memset(xf + i * x_img, 0, sizeof(float) * x_img);
        to_flat(x + (first + i) * in_image, g.Cin, g.H, g.W, L.Wp, g.pad, g.pad, L.in_ch, xf + i * x_img);
        // dy rows in the output's flat positions, zero on the junk columns so they add nothing, and zero channels
        // past Cout to fill the last group.
        float* d = df + i * dy_img;
        std::memset(d, 0, sizeof(float) * dy_img);
        to_flat(dy + (first + i) * out_image, g.Cout, L.Ho, L.Wo, L.Wp, 0, 0, L.out_ch, d);
      }
    });
    const bool overwrite = mode == Grad::Overwrite && first == 0;
    parallel_for(int64_t(groups) * g.Cin, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int co0 = int(t / g.Cin) * group, ci = int(t % g.Cin);
        float sums[3][kTaps];
        const float* dyg = df + size_t(co0) * L.out_ch;
        const float* xc = xf + size_t(ci) * L.in_ch;
        if (group == 3)
          filter_group<3>(dyg, L.out_ch, xc, n, dy_img, x_img, L.vectors, L.Wp, sums);
        else
          filter_group<2>(dyg, L.out_ch, xc, n, dy_img, x_img, L.vectors, L.Wp, sums);
        for (int j = 0; j < group && co0 + j < g.Cout; ++j) {
          float* dst = dw + (size_t(co0 + j) * g.Cin + ci) * kTaps;
          for (int k = 0; k < kTaps; ++k) dst[k] = overwrite ? sums[j][k] : dst[k] + sums[j][k];
        }
      }
    });
  }
}

}  // namespace dg::cpu
