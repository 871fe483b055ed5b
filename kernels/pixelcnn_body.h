// Per-index bodies of the PixelCNN prior's ops (kernels/pixelcnn.h), shared by the CPU reference and the CUDA
// launchers.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/hd.h"
#include "kernels/pixelcnn.h"
#include "runtime/philox.h"

namespace dg {

// One column element per index over B * H * W * T * C.
struct TapGatherForwardBody {
  TapList taps; const float* x; float* cols; int H, W, C;
  DG_HD void operator()(int64_t i) const {
    const int TC = taps.count * C;
    const int64_t n = i / TC;
    const int tc = int(i % TC), t = tc / C, c = tc % C;
    const int j = int(n % W), r = int((n / W) % H);
    const int64_t b = n / (int64_t(W) * H);
    const int ii = r + taps.dy[t], jj = j + taps.dx[t];
    cols[i] = (ii >= 0 && ii < H && jj >= 0 && jj < W) ? x[((b * H + ii) * W + jj) * C + c] : 0.0f;
  }
};

// One input element per index over B * H * W * C: gathers the column entries that read it, taps in order.
struct TapGatherBackwardBody {
  TapList taps; const float* dcols; float* dx; int H, W, C;
  DG_HD void operator()(int64_t i) const {
    const int c = int(i % C);
    const int64_t n = i / C;
    const int j = int(n % W), r = int((n / W) % H);
    const int64_t b = n / (int64_t(W) * H);
    const int TC = taps.count * C;
    float s = 0.0f;
    for (int t = 0; t < taps.count; ++t) {
      const int oi = r - taps.dy[t], oj = j - taps.dx[t];  // the output position whose tap t reads (r, j)
      if (oi >= 0 && oi < H && oj >= 0 && oj < W) s += dcols[((b * H + oi) * W + oj) * TC + t * C + c];
    }
    dx[i] = s;
  }
};

DG_HD float gated_sigmoid(float v) { return 1.0f / (1.0f + expf(-v)); }

// One output element y[n, c] per index over B * P * C.
struct GatedForwardBody {
  const float* x; const float* cond; float* y; int P, C;
  DG_HD void operator()(int64_t i) const {
    const int64_t n = i / C;
    const int c = int(i % C);
    const int64_t b = n / P;
    float a = x[n * 2 * C + c], g = x[n * 2 * C + C + c];
    if (cond) {
      a += cond[b * 2 * C + c];
      g += cond[b * 2 * C + C + c];
    }
    y[i] = tanhf(a) * gated_sigmoid(g);
  }
};

// One (b, j) per index over B * 2C: dx[b * P + p, j] for every p, and dcond[b, j] as their sum in increasing p.
struct GatedBackwardBody {
  const float* x; const float* cond; const float* dy; float* dx; float* dcond; int P, C;
  DG_HD void operator()(int64_t i) const {
    const int64_t b = i / (2 * C);
    const int j = int(i % (2 * C)), c = j % C;
    float ca = 0.0f, cg = 0.0f;
    if (cond) {
      ca = cond[b * 2 * C + c];
      cg = cond[b * 2 * C + C + c];
    }
    float s = 0.0f;
    for (int p = 0; p < P; ++p) {
      const int64_t n = b * P + p;
      const float t = tanhf(x[n * 2 * C + c] + ca), sg = gated_sigmoid(x[n * 2 * C + C + c] + cg);
      const float g = dy[n * C + c];
      const float d = j < C ? g * (1.0f - t * t) * sg : g * t * sg * (1.0f - sg);
      dx[n * 2 * C + j] = d;
      s += d;
    }
    if (dcond) dcond[i] = s;
  }
};

// One image b per index: inverse-CDF draw over the K tempered probabilities, in increasing k.
struct SampleCodesBody {
  const float* logits; int32_t* codes; int P, K, pos; float inv_t; uint64_t seed; int64_t first;
  DG_HD void operator()(int64_t b) const {
    const float* row = logits + b * K;
    float mx = row[0];
    for (int k = 1; k < K; ++k) mx = row[k] > mx ? row[k] : mx;
    float total = 0.0f;
    for (int k = 0; k < K; ++k) total += expf((row[k] - mx) * inv_t);
    const float u = philox_uniform(seed, kPurposePriorSample, uint64_t((first + b) * P + pos), 0) * total;
    float acc = 0.0f;
    int32_t pick = K - 1;  // rounding can leave u above the last partial sum
    for (int k = 0; k < K; ++k) {
      acc += expf((row[k] - mx) * inv_t);
      if (u <= acc) {
        pick = k;
        break;
      }
    }
    codes[b * P + pos] = pick;
  }
};

}  // namespace dg
