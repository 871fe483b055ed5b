// The gated PixelCNN prior (see pixelcnn.h): forward, explicit backward and raster-order sampling.
#include "models/pixelcnn.h"

#include "kernels/embedding.h"
#include "kernels/gather.h"
#include "runtime/error.h"
#include "runtime/nvtx.h"

namespace dg {

TapList PixelCnnPrior::vertical_taps(int kernel, bool first) {
  const int c = kernel / 2;
  TapList t;
  for (int dy = -c; dy <= (first ? -1 : 0); ++dy)
    for (int dx = -c; dx <= c; ++dx) {
      DG_REQUIRE(t.count < TapList::kMaxTaps, "pixelcnn: kernel ", kernel, " has too many taps");
      t.dy[t.count] = int8_t(dy);
      t.dx[t.count] = int8_t(dx);
      ++t.count;
    }
  return t;
}

TapList PixelCnnPrior::horizontal_taps(int kernel, bool first) {
  const int c = kernel / 2;
  TapList t;
  for (int dx = -c; dx <= (first ? -1 : 0); ++dx) {
    t.dy[t.count] = 0;
    t.dx[t.count] = int8_t(dx);
    ++t.count;
  }
  return t;
}

PixelCnnPrior::PixelCnnPrior(ParamStore& ps, const std::string& prefix, const PixelCnnSpec& spec)
    : ps_(ps), spec_(spec) {
  DG_REQUIRE(spec.kernel >= 3 && spec.kernel % 2 == 1 && spec.kernel <= 7, "--prior-kernel: expected 3, 5 or 7, got ",
             spec.kernel);
  DG_REQUIRE(spec.layers >= 1, "--prior-layers: expected at least 1, got ", spec.layers);
  DG_REQUIRE(spec.channels > 0, "--prior-channels: expected a positive width, got ", spec.channels);
  DG_REQUIRE(spec.codes > 1, "pixelcnn: expected at least 2 codes, got ", spec.codes);
  const int C = spec.channels;
  embed_ = ps.add(prefix + "embed", {spec.codes, C}, Init::Normal002);
  auto linear = [&](const std::string& name, int in, int out) {
    linears_.push_back(std::make_unique<Linear>(ps, prefix + name, in, out));
    return linears_.back().get();
  };
  for (int l = 0; l < spec.layers; ++l) {
    GatedLayer g;
    const std::string n = "l" + std::to_string(l);
    g.vtaps = vertical_taps(spec.kernel, l == 0);
    g.htaps = horizontal_taps(spec.kernel, l == 0);
    g.v = linear(n + ".v", g.vtaps.count * C, 2 * C);
    g.h = linear(n + ".h", g.htaps.count * C, 2 * C);
    g.vh = linear(n + ".vh", 2 * C, 2 * C);
    g.out = linear(n + ".out", C, C);
    if (spec.conditional) {
      g.v_label = ps.add(prefix + n + ".v_label", {10, 2 * C}, Init::Zeros);
      g.h_label = ps.add(prefix + n + ".h_label", {10, 2 * C}, Init::Zeros);
    }
    layers_.push_back(g);
  }
  head_.add<ActivationLayer>(prefix + "head.relu0", Activation::ReLU);
  head_.add<Linear>(ps, prefix + "head0", C, spec.head);
  head_.add<ActivationLayer>(prefix + "head.relu1", Activation::ReLU);
  head_.add<Linear>(ps, prefix + "head1", spec.head, spec.codes);
}

Tensor PixelCnnPrior::forward(Context& ctx, const Tensor& codes, const Tensor& labels) {
  const int64_t N = codes.numel();
  DG_REQUIRE(N % positions() == 0, "pixelcnn: ", N, " codes is not a whole number of ", spec_.height, "x",
             spec_.width, " grids");
  Tensor e = Tensor::empty(ctx, {N, spec_.channels});
  embedding_forward(ctx, ps_.param(embed_), codes.as<int32_t>(), e.f32(), int(N), spec_.codes, spec_.channels);
  Tensor logits = forward_embedded(ctx, e, labels);
  codes_ = codes;
  return logits;
}

Tensor PixelCnnPrior::forward_embedded(Context& ctx, const Tensor& e, const Tensor& labels) {
  Tensor h = forward_trunk(ctx, e, labels);
  NvtxRange r("prior/head");
  return head_.forward(ctx, h, StepInfo{});
}

Tensor PixelCnnPrior::forward_trunk(Context& ctx, const Tensor& e, const Tensor& labels, int rows) {
  NvtxRange r("prior/forward");
  DG_REQUIRE(rows >= 0 && rows <= spec_.height, "pixelcnn: ", rows, " rows of a grid of ", spec_.height);
  const int C = spec_.channels, H = rows > 0 ? rows : spec_.height, W = spec_.width, P = H * W;
  const int64_t N = e.dim(0);
  const int B = int(N / P);
  DG_REQUIRE(e.rank() == 2 && e.dim(1) == C && N == int64_t(B) * P, "pixelcnn: expected input [B * ", P, ", ", C,
             "], got ", shape_str(e.shape()));
  DG_REQUIRE(!spec_.conditional || (labels.defined() && labels.numel() == B), "pixelcnn: a conditional prior needs ",
             B, " labels");
  codes_ = Tensor();
  labels_ = labels;
  batch_ = B;
  const StepInfo si;
  Tensor v = e, h = e;
  for (size_t l = 0; l < layers_.size(); ++l) {
    GatedLayer& g = layers_[l];
    const bool last = l + 1 == layers_.size();
    if (spec_.conditional) {
      g.vcond = Tensor::empty(ctx, {B, 2 * C});
      g.hcond = Tensor::empty(ctx, {B, 2 * C});
      embedding_forward(ctx, ps_.param(g.v_label), labels.as<int32_t>(), g.vcond.f32(), B, 10, 2 * C);
      embedding_forward(ctx, ps_.param(g.h_label), labels.as<int32_t>(), g.hcond.f32(), B, 10, 2 * C);
    }
    const float* vc = spec_.conditional ? g.vcond.f32() : nullptr;
    const float* hc = spec_.conditional ? g.hcond.f32() : nullptr;
    // Vertical stack.
    Tensor vcols = Tensor::empty(ctx, {N, int64_t(g.vtaps.count) * C});
    tap_gather_forward(ctx, g.vtaps, v.f32(), vcols.f32(), B, H, W, C);
    g.vpre = g.v->forward(ctx, vcols, si);
    Tensor vnext;
    if (!last) {  // the last layer's vertical output feeds nothing
      vnext = Tensor::empty(ctx, {N, C});
      gated_forward(ctx, g.vpre.f32(), vc, vnext.f32(), B, P, C);
    }
    // Horizontal stack, fed by the vertical pre-activation at the same position.
    Tensor hcols = Tensor::empty(ctx, {N, int64_t(g.htaps.count) * C});
    tap_gather_forward(ctx, g.htaps, h.f32(), hcols.f32(), B, H, W, C);
    g.hpre = g.h->forward(ctx, hcols, si);
    Tensor link = g.vh->forward(ctx, g.vpre, si);
    axpby(ctx, 1.0f, link.f32(), 1.0f, g.hpre.f32(), g.hpre.numel());
    Tensor hg = Tensor::empty(ctx, {N, C});
    gated_forward(ctx, g.hpre.f32(), hc, hg.f32(), B, P, C);
    Tensor hout = g.out->forward(ctx, hg, si);
    // Residual from layer 1 on; layer 0's input is the position's own code, which must not reach its output.
    if (l > 0) axpby(ctx, 1.0f, h.f32(), 1.0f, hout.f32(), hout.numel());
    v = vnext;
    h = hout;
  }
  return h;
}

Tensor PixelCnnPrior::backward(Context& ctx, const Tensor& dlogits) {
  NvtxRange r("prior/backward");
  const int C = spec_.channels, H = spec_.height, W = spec_.width, P = positions(), B = batch_;
  const int64_t N = int64_t(B) * P;
  Tensor dh = head_.backward(ctx, dlogits, true);
  Tensor dv;  // gradient reaching the vertical output of the layer being processed (none for the last layer)
  for (size_t li = layers_.size(); li-- > 0;) {
    GatedLayer& g = layers_[li];
    const float* vc = spec_.conditional ? g.vcond.f32() : nullptr;
    const float* hc = spec_.conditional ? g.hcond.f32() : nullptr;
    Tensor dcond = spec_.conditional ? Tensor::empty(ctx, {B, 2 * C}) : Tensor();
    // Horizontal stack.
    Tensor dhg = g.out->backward(ctx, dh, true);
    Tensor dhpre = Tensor::empty(ctx, {N, 2 * C});
    gated_backward(ctx, g.hpre.f32(), hc, dhg.f32(), dhpre.f32(), spec_.conditional ? dcond.f32() : nullptr, B, P, C);
    if (spec_.conditional)
      embedding_backward(ctx, dcond.f32(), labels_.as<int32_t>(), ps_.grad(g.h_label), B, 10, 2 * C);
    Tensor dhcols = g.h->backward(ctx, dhpre, true);
    Tensor dvpre = g.vh->backward(ctx, dhpre, true);
    Tensor dh_in = Tensor::empty(ctx, {N, C});
    tap_gather_backward(ctx, g.htaps, dhcols.f32(), dh_in.f32(), B, H, W, C);
    if (li > 0) axpby(ctx, 1.0f, dh.f32(), 1.0f, dh_in.f32(), dh_in.numel());
    // Vertical stack.
    if (dv.defined()) {
      Tensor dgate = Tensor::empty(ctx, {N, 2 * C});
      gated_backward(ctx, g.vpre.f32(), vc, dv.f32(), dgate.f32(), spec_.conditional ? dcond.f32() : nullptr, B, P, C);
      if (spec_.conditional)
        embedding_backward(ctx, dcond.f32(), labels_.as<int32_t>(), ps_.grad(g.v_label), B, 10, 2 * C);
      axpby(ctx, 1.0f, dgate.f32(), 1.0f, dvpre.f32(), dvpre.numel());
    }
    Tensor dvcols = g.v->backward(ctx, dvpre, true);
    Tensor dv_in = Tensor::empty(ctx, {N, C});
    tap_gather_backward(ctx, g.vtaps, dvcols.f32(), dv_in.f32(), B, H, W, C);
    g.vpre = g.hpre = g.vcond = g.hcond = Tensor();
    dh = dh_in;
    dv = dv_in;
  }
  // Layer 0 read the embedding through both stacks.
  axpby(ctx, 1.0f, dv.f32(), 1.0f, dh.f32(), dh.numel());
  if (codes_.defined())
    embedding_backward(ctx, dh.f32(), codes_.as<int32_t>(), ps_.grad(embed_), int(N), spec_.codes, C);
  codes_ = labels_ = Tensor();
  return dh;
}

Tensor PixelCnnPrior::sample(Context& ctx, int B, const Tensor& labels, float temperature, uint64_t seed,
                             int64_t first) {
  NvtxRange r("prior/sample");
  DG_REQUIRE(temperature > 0.0f, "--temperature: expected a positive number, got ", temperature);
  const int P = positions(), C = spec_.channels, H = spec_.height, W = spec_.width;
  const int64_t N = int64_t(B) * P;
  Tensor codes = Tensor::zeros(ctx, {N}, DType::I32);
  Tensor e = Tensor::empty(ctx, {N, C});
  // Row gathers (embedding lookups of rows): for grid row r, the positions of rows 0..r of every image
  // (b * P + q, q < (r + 1) W), and for position pos the row of each image's truncated grid that holds it.
  std::vector<int64_t> grid_offset(size_t(H) + 1, 0);
  for (int r = 0; r < H; ++r) grid_offset[size_t(r) + 1] = grid_offset[size_t(r)] + int64_t(B) * (r + 1) * W;
  std::vector<int32_t> ids(size_t(grid_offset[size_t(H)]) + size_t(P) * B);
  for (int r = 0; r < H; ++r)
    for (int b = 0; b < B; ++b)
      for (int q = 0; q < (r + 1) * W; ++q)
        ids[size_t(grid_offset[size_t(r)] + int64_t(b) * (r + 1) * W + q)] = int32_t(int64_t(b) * P + q);
  const int64_t head_base = grid_offset[size_t(H)];
  for (int pos = 0; pos < P; ++pos)
    for (int b = 0; b < B; ++b)
      ids[size_t(head_base + int64_t(pos) * B + b)] = int32_t(int64_t(b) * (pos / W + 1) * W + pos);
  Tensor id_t = Tensor::empty(ctx, {int64_t(ids.size())}, DType::I32);
  copy_to_device(ctx, id_t.raw(), ids.data(), ids.size() * sizeof(int32_t));
  Tensor et = Tensor::empty(ctx, {N, C});
  Tensor hb = Tensor::empty(ctx, {B, C});
  for (int pos = 0; pos < P; ++pos) {
    const int r = pos / W, nr = B * (r + 1) * W;
    embedding_forward(ctx, ps_.param(embed_), codes.as<int32_t>(), e.f32(), int(N), spec_.codes, C);
    Tensor rows_e = et.slice_rows(0, nr);
    embedding_forward(ctx, e.f32(), id_t.as<int32_t>() + grid_offset[size_t(r)], rows_e.f32(), nr, int(N), C);
    Tensor h = forward_trunk(ctx, rows_e, labels, r + 1);
    embedding_forward(ctx, h.f32(), id_t.as<int32_t>() + head_base + int64_t(pos) * B, hb.f32(), B, nr, C);
    Tensor logits = head_.forward(ctx, hb, StepInfo{});
    sample_codes(ctx, logits.f32(), codes.as<int32_t>(), B, P, spec_.codes, pos, temperature, seed, first);
  }
  codes_ = labels_ = Tensor();
  for (GatedLayer& g : layers_) g.vpre = g.hpre = g.vcond = g.hcond = Tensor();
  return codes;
}

}  // namespace dg
