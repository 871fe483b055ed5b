// The gated PixelCNN prior over a grid of discrete codes (the VQ-VAE's 7x7 code grid): an embedding of each code,
// `layers` gated layers with a vertical stack (taps in the rows above, so no blind spot) and a horizontal stack
// (taps to the left in the same row, fed by the vertical stack at the same position), optionally conditioned on the
// digit label, and a per-position head giving logits over the K codes. Masked convolutions are tap lists
// (kernels/pixelcnn.h) followed by a GEMM: with kernel size k and c = k / 2, the first layer's vertical taps are rows
// -c..-1 and columns -c..c, its horizontal taps columns -c..-1 of the same row (the position itself is never read);
// later layers add row 0 to the vertical taps and column 0 to the horizontal ones, which read only features that
// already exclude the position. The prediction at a position depends only on positions before it in raster order.
#pragma once
#include <string>
#include <vector>

#include "kernels/pixelcnn.h"
#include "models/layers.h"

namespace dg {

struct PixelCnnSpec {
  int codes = 128;       // K
  int height = 7, width = 7;
  int channels = 32;     // C, the width of both stacks
  int layers = 3;
  int kernel = 5;        // odd
  int head = 64;         // hidden width of the per-position head
  bool conditional = false;  // per-layer label embeddings added before each gate
};

class PixelCnnPrior {
 public:
  // Registers parameters "<prefix>embed", "<prefix>l<i>.{v,h,vh,out}.{weight,bias}", "<prefix>l<i>.{v,h}_label"
  // (conditional) and "<prefix>head{0,1}.{weight,bias}" in ps.
  PixelCnnPrior(ParamStore& ps, const std::string& prefix, const PixelCnnSpec& spec);
  const PixelCnnSpec& spec() const { return spec_; }
  int positions() const { return spec_.height * spec_.width; }

  // codes [B * P] int32 (device), labels [B] int32 (device; used when conditional) -> logits [B * P, K].
  Tensor forward(Context& ctx, const Tensor& codes, const Tensor& labels);
  // The same from embedded inputs e [B * P, C] (the causality test differentiates with respect to e).
  Tensor forward_embedded(Context& ctx, const Tensor& e, const Tensor& labels);
  // Accumulates parameter gradients from dlogits [B * P, K]; returns de [B * P, C] (the embedding-table gradient is
  // accumulated too when the last forward started from codes).
  Tensor backward(Context& ctx, const Tensor& dlogits);
  // Draws B code grids position by position in raster order (for each position the gated layers over the rows down
  // to its own, the head only at the position): grid b is sample first + b of `seed` (kernels/pixelcnn.h
  // sample_codes). Returns codes [B * P] int32.
  Tensor sample(Context& ctx, int B, const Tensor& labels, float temperature, uint64_t seed, int64_t first);

  // The gated layers without the head: features [B * P, C] of embedded inputs e [B * P, C]. With rows > 0 the grids
  // are only their first `rows` rows (e [B * rows * W, C]): no tap reads a lower row, so those rows' features equal
  // the full grid's (sampling uses this to skip the rows below the one it draws).
  Tensor forward_trunk(Context& ctx, const Tensor& e, const Tensor& labels, int rows = 0);

  // The tap lists of layer l (exposed for the tests).
  static TapList vertical_taps(int kernel, bool first);
  static TapList horizontal_taps(int kernel, bool first);

 private:
  struct GatedLayer {
    Linear* v = nullptr;   // [Tv * C] -> [2C]
    Linear* h = nullptr;   // [Th * C] -> [2C]
    Linear* vh = nullptr;  // vertical pre-activation [2C] -> horizontal [2C]
    Linear* out = nullptr; // gated horizontal [C] -> [C]
    int v_label = -1, h_label = -1;  // label tables [10, 2C] (conditional)
    TapList vtaps, htaps;
    Tensor vpre, hpre, vcond, hcond;  // saved by forward
  };
  ParamStore& ps_;
  PixelCnnSpec spec_;
  int embed_ = -1;  // [K, C]
  std::vector<std::unique_ptr<Linear>> linears_;
  std::vector<GatedLayer> layers_;
  Sequential head_;
  Tensor codes_, labels_;  // saved by forward
  int batch_ = 0;
};

}  // namespace dg
