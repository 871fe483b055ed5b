// CPU reference of the PixelCNN prior's ops (kernels/pixelcnn.h): the shared bodies (or loops with the same arithmetic),
// split over the CPU worker pool where iterations are independent. The gated activation has an AVX-512 path (its
// tanh and sigmoid from kernels/cpu/avx512.h, a few ulps from tanhf/expf) where the CPU has it.
#include "kernels/pixelcnn.h"

#include <algorithm>

#include "kernels/cpu/avx512.h"
#include "kernels/pixelcnn_body.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

namespace dg::cpu {

// The tap gathering loops run per position and tap over whole channel rows (C contiguous floats) rather than per
// element through the shared bodies; the backward adds the taps in the bodies' order, so results are identical.
void tap_gather_forward(Context&, const TapList& taps, const float* x, float* cols, int B, int H, int W, int C) {
  DG_REQUIRE(taps.count > 0 && taps.count <= TapList::kMaxTaps, "tap_gather: ", taps.count, " taps (1..",
             TapList::kMaxTaps, " allowed)");
  const int T = taps.count;
  parallel_for(int64_t(B) * H * W, 64, [=](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      const int64_t b = n / (int64_t(H) * W);
      const int i = int((n / W) % H), j = int(n % W);
      float* out = cols + n * int64_t(T) * C;
      for (int t = 0; t < T; ++t, out += C) {
        const int ii = i + taps.dy[t], jj = j + taps.dx[t];
        if (ii >= 0 && ii < H && jj >= 0 && jj < W) {
          const float* src = x + ((b * H + ii) * W + jj) * C;
          for (int c = 0; c < C; ++c) out[c] = src[c];
        } else {
          for (int c = 0; c < C; ++c) out[c] = 0.0f;
        }
      }
    }
  });
}

void tap_gather_backward(Context&, const TapList& taps, const float* dcols, float* dx, int B, int H, int W, int C) {
  const int T = taps.count;
  parallel_for(int64_t(B) * H * W, 64, [=](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      const int64_t b = n / (int64_t(H) * W);
      const int r = int((n / W) % H), j = int(n % W);
      float* d = dx + n * C;
      for (int c = 0; c < C; ++c) d[c] = 0.0f;
      for (int t = 0; t < T; ++t) {
        const int oi = r - taps.dy[t], oj = j - taps.dx[t];  // the output position whose tap t reads (r, j)
        if (oi < 0 || oi >= H || oj < 0 || oj >= W) continue;
        const float* g = dcols + ((b * H + oi) * W + oj) * int64_t(T) * C + int64_t(t) * C;
        for (int c = 0; c < C; ++c) d[c] += g[c];
      }
    }
  });
}

namespace {

// The gated activation on AVX-512 (kernels/cpu/avx512.h's tanh and sigmoid), one position's C channels at a time
// with the row's tail through a masked vector: each element is computed the same way wherever a piece starts.
__attribute__((target("avx512f"))) void gated_forward_rows(const float* x, const float* cond, float* y, int P, int C,
                                                           int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; ++n) {
    const float* xa = x + n * 2 * C;
    const float* cb = cond ? cond + (n / P) * 2 * C : nullptr;
    for (int c = 0; c < C; c += 16) {
      const __mmask16 m = tail_mask(C - c);
      __m512 a = _mm512_maskz_loadu_ps(m, xa + c), g = _mm512_maskz_loadu_ps(m, xa + C + c);
      if (cb) {
        a = _mm512_add_ps(a, _mm512_maskz_loadu_ps(m, cb + c));
        g = _mm512_add_ps(g, _mm512_maskz_loadu_ps(m, cb + C + c));
      }
      _mm512_mask_storeu_ps(y + n * C + c, m, _mm512_mul_ps(avx512::tanh(a), avx512::sigmoid(g)));
    }
  }
}

// The backward pass of one image b on AVX-512: the expressions of gated_backward below, dcond summed over p in
// increasing order in each lane.
__attribute__((target("avx512f"))) void gated_backward_image(const float* x, const float* cond, const float* dy,
                                                             float* dx, float* dcond, int64_t b, int P, int C) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int c = 0; c < C; c += 16) {
    const __mmask16 m = tail_mask(C - c);
    const __m512 ca = cond ? _mm512_maskz_loadu_ps(m, cond + b * 2 * C + c) : _mm512_setzero_ps();
    const __m512 cg = cond ? _mm512_maskz_loadu_ps(m, cond + b * 2 * C + C + c) : _mm512_setzero_ps();
    __m512 sa = _mm512_setzero_ps(), sg_sum = _mm512_setzero_ps();
    for (int p = 0; p < P; ++p) {
      const int64_t n = b * P + p;
      const float* xr = x + n * 2 * C;
      const __m512 t = avx512::tanh(_mm512_add_ps(_mm512_maskz_loadu_ps(m, xr + c), ca));
      const __m512 sg = avx512::sigmoid(_mm512_add_ps(_mm512_maskz_loadu_ps(m, xr + C + c), cg));
      const __m512 g = _mm512_maskz_loadu_ps(m, dy + n * C + c);
      const __m512 da = _mm512_mul_ps(_mm512_mul_ps(g, _mm512_sub_ps(one, _mm512_mul_ps(t, t))), sg);
      const __m512 dg = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(g, t), sg), _mm512_sub_ps(one, sg));
      _mm512_mask_storeu_ps(dx + n * 2 * C + c, m, da);
      _mm512_mask_storeu_ps(dx + n * 2 * C + C + c, m, dg);
      sa = _mm512_add_ps(sa, da);
      sg_sum = _mm512_add_ps(sg_sum, dg);
    }
    if (dcond) {
      _mm512_mask_storeu_ps(dcond + b * 2 * C + c, m, sa);
      _mm512_mask_storeu_ps(dcond + b * 2 * C + C + c, m, sg_sum);
    }
  }
}

}  // namespace

void gated_forward(Context&, const float* x, const float* cond, float* y, int B, int P, int C) {
  if (cpu_has_avx512f()) {
    parallel_for(int64_t(B) * P, std::max(1, 8192 / std::max(1, C)),
                 [=](int64_t n0, int64_t n1) { gated_forward_rows(x, cond, y, P, C, n0, n1); });
    return;
  }
  const GatedForwardBody body{x, cond, y, P, C};
  parallel_for(int64_t(B) * P * C, 8192, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) body(i);
  });
}

// Per position and channel both halves at once (one tanh and one sigmoid per pair, where the per-(b, j) body
// evaluates each twice); dcond sums positions in increasing p like the body, with the same expressions, so the
// results are identical.
void gated_backward(Context&, const float* x, const float* cond, const float* dy, float* dx, float* dcond, int B, int P,
                    int C) {
  if (cpu_has_avx512f()) {
    parallel_for(B, 4, [=](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) gated_backward_image(x, cond, dy, dx, dcond, b, P, C);
    });
    return;
  }
  parallel_for(B, 4, [=](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const float* cb = cond ? cond + b * 2 * C : nullptr;
      float* db = dcond ? dcond + b * 2 * C : nullptr;
      if (db)
        for (int j = 0; j < 2 * C; ++j) db[j] = 0.0f;
      for (int p = 0; p < P; ++p) {
        const int64_t n = b * P + p;
        const float* xr = x + n * 2 * C;
        const float* g = dy + n * C;
        float* dr = dx + n * 2 * C;
        for (int c = 0; c < C; ++c) {
          const float t = tanhf(xr[c] + (cb ? cb[c] : 0.0f)), sg = gated_sigmoid(xr[C + c] + (cb ? cb[C + c] : 0.0f));
          const float da = g[c] * (1.0f - t * t) * sg, dg = g[c] * t * sg * (1.0f - sg);
          dr[c] = da;
          dr[C + c] = dg;
          if (db) {
            db[c] += da;
            db[C + c] += dg;
          }
        }
      }
    }
  });
}

void sample_codes(Context&, const float* logits, int32_t* codes, int B, int P, int K, int pos, float temperature,
                  uint64_t seed, int64_t first) {
  DG_REQUIRE(temperature > 0.0f, "--temperature: expected a positive number, got ", temperature);
  DG_REQUIRE(pos >= 0 && pos < P, "sample_codes: position ", pos, " outside the grid of ", P);
  const SampleCodesBody body{logits, codes, P, K, pos, 1.0f / temperature, seed, first};
  parallel_for(B, 64, [=](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) body(b);
  });
}

}  // namespace dg::cpu
