// Ops of the gated PixelCNN prior over the VQ-VAE's code grid, all on channel-last rows ([B * H * W, C], one row
// per grid position in raster order): the masked convolution's input gathering (a list of tap offsets, so a
// vertical or horizontal stack's mask is the list of taps it keeps; the GEMM with the weights is the gemm op), the
// gated activation tanh(a) * sigmoid(b) with an optional per-image conditioning bias, and drawing a code at one
// grid position from tempered softmax logits.
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

// Tap offsets (row, column) of a masked convolution; output position (i, j) reads input (i + dy, j + dx).
struct TapList {
  static constexpr int kMaxTaps = 64;
  int count = 0;
  int8_t dy[kMaxTaps] = {};
  int8_t dx[kMaxTaps] = {};
};

// cols [B * H * W, T * C] (overwritten): cols[(b, i, j), t * C + c] = x[(b, i + dy_t, j + dx_t), c], or 0 where
// the tap falls outside the H x W grid. x [B * H * W, C].
DG_DECLARE_OP(tap_gather_forward, (Context & ctx, const TapList& taps, const float* x, float* cols, int B, int H, int W, int C),
              (taps, x, cols, B, H, W, C))
// dx [B * H * W, C] (overwritten) = sum over taps of the dcols entries that read it (fixed tap order).
DG_DECLARE_OP(tap_gather_backward,
              (Context & ctx, const TapList& taps, const float* dcols, float* dx, int B, int H, int W, int C),
              (taps, dcols, dx, B, H, W, C))

// Gated activation: x [B * P, 2C] (a = first C columns, b = last C), cond [B, 2C] or null (added to every
// position of image b): y [B * P, C] = tanh(a + cond_a) * sigmoid(b + cond_b) (overwritten).
DG_DECLARE_OP(gated_forward, (Context & ctx, const float* x, const float* cond, float* y, int B, int P, int C),
              (x, cond, y, B, P, C))
// dx [B * P, 2C] (overwritten); dcond [B, 2C] (overwritten, may be null) = dx summed over positions in increasing p.
DG_DECLARE_OP(gated_backward,
              (Context & ctx, const float* x, const float* cond, const float* dy, float* dx, float* dcond, int B, int P,
               int C),
              (x, cond, dy, dx, dcond, B, P, C))

// Draws codes[b * P + pos] for every image b from softmax(logits[b, :] / temperature) (K classes; logits [B, K], the
// prior's prediction at position pos of each image) by inverting the CDF at
// u = philox_uniform(seed, kPurposePriorSample, (first + b) * P + pos, 0). Other entries of codes are left alone.
// temperature > 0.
DG_DECLARE_OP(sample_codes,
              (Context & ctx, const float* logits, int32_t* codes, int B, int P, int K, int pos, float temperature,
               uint64_t seed, int64_t first),
              (logits, codes, B, P, K, pos, temperature, seed, first))

}  // namespace dg
