// U-Net layers and network (see unet.h), written in terms of the ops in kernels/.
#include "models/unet.h"

#include <cmath>

#include "kernels/bias.h"
#include "kernels/concat.h"
#include "kernels/diffusion.h"
#include "kernels/embedding.h"
#include "kernels/gather.h"
#include "kernels/gemm.h"
#include "kernels/groupnorm.h"
#include "kernels/softmax.h"
#include "runtime/error.h"
#include "runtime/nvtx.h"

namespace dg {

// ---- GroupNorm ----
GroupNorm::GroupNorm(ParamStore& ps, const std::string& name, int C, int groups, float eps)
    : Layer(name), ps_(ps), C_(C), G_(groups), eps_(eps) {
  DG_REQUIRE(groups > 0 && C % groups == 0, name, ": ", C, " channels do not split into ", groups, " groups");
  w_ = ps.add(name + ".weight", {C}, Init::Ones);
  b_ = ps.add(name + ".bias", {C}, Init::Zeros);
}

// At least 4 channels per group: a per-channel shift (the time/label embedding added before gn2) survives the
// normalisation only through its differences within a group; with 1 channel per group it would vanish entirely.
int GroupNorm::groups_for(int C) {
  for (int g : {32, 16, 8, 4, 2})
    if (C % g == 0 && C / g >= 4) return g;
  return 1;
}

Tensor GroupNorm::forward(Context& ctx, const Tensor& x, const StepInfo&) {
  NvtxRange r(name_ + "/forward");
  DG_REQUIRE(x.rank() == 4 && x.dim(1) == C_, name_, ": expected input [B, ", C_, ", H, W], got ", shape_str(x.shape()));
  const int B = int(x.dim(0)), HW = int(x.dim(2) * x.dim(3));
  x_ = x;
  mean_ = Tensor::empty(ctx, {B, G_});
  inv_std_ = Tensor::empty(ctx, {B, G_});
  Tensor y = Tensor::empty(ctx, x.shape());
  groupnorm_forward(ctx, x.f32(), ps_.param(w_), ps_.param(b_), y.f32(), mean_.f32(), inv_std_.f32(), B, C_, HW, G_,
                    eps_);
  return y;
}

Tensor GroupNorm::backward(Context& ctx, const Tensor& dy, bool need_dx) {
  NvtxRange r(name_ + "/backward");
  const int B = int(x_.dim(0)), HW = int(x_.dim(2) * x_.dim(3));
  Tensor dx;
  if (need_dx) dx = Tensor::empty(ctx, x_.shape());
  groupnorm_backward(ctx, x_.f32(), dy.f32(), ps_.param(w_), mean_.f32(), inv_std_.f32(), need_dx ? dx.f32() : nullptr,
                     ps_.grad(w_), ps_.grad(b_), B, C_, HW, G_, Grad::Accumulate);
  x_ = mean_ = inv_std_ = Tensor();
  return dx;
}

// ---- ResBlock ----
ResBlock::ResBlock(ParamStore& ps, const std::string& name, int cin, int cout, int emb)
    : cin_(cin),
      cout_(cout),
      gn1_(ps, name + ".gn1", cin, GroupNorm::groups_for(cin)),
      gn2_(ps, name + ".gn2", cout, GroupNorm::groups_for(cout)),
      act1_(name + ".silu1", Activation::SiLU),
      act2_(name + ".silu2", Activation::SiLU),
      conv1_(ps, name + ".conv1", cin, cout, 3, 1, 1),
      conv2_(ps, name + ".conv2", cout, cout, 3, 1, 1),
      emb_proj_(ps, name + ".emb", emb, cout) {
  if (cin != cout) skip_ = std::make_unique<Conv2d>(ps, name + ".skip", cin, cout, 1, 1, 0);
}

Tensor ResBlock::forward(Context& ctx, const Tensor& x, const Tensor& e) {
  const StepInfo si;
  const int B = int(x.dim(0)), HW = int(x.dim(2) * x.dim(3));
  Tensor h = conv1_.forward(ctx, act1_.forward(ctx, gn1_.forward(ctx, x, si), si), si);
  const Tensor ep = emb_proj_.forward(ctx, e, si);  // [B, cout]
  bias_forward(ctx, h.f32(), ep.f32(), 1, B * cout_, HW);  // h[b, c, :] += ep[b, c]
  h = conv2_.forward(ctx, act2_.forward(ctx, gn2_.forward(ctx, h, si), si), si);
  const Tensor s = skip_ ? skip_->forward(ctx, x, si) : x;
  axpby(ctx, 1.0f, s.f32(), 1.0f, h.f32(), h.numel());
  return h;
}

Tensor ResBlock::backward(Context& ctx, const Tensor& dy, Tensor& de) {
  const int B = int(dy.dim(0)), HW = int(dy.dim(2) * dy.dim(3));
  Tensor dh = gn2_.backward(ctx, act2_.backward(ctx, conv2_.backward(ctx, dy, true), true), true);
  Tensor dep = Tensor::empty(ctx, {B, cout_});
  bias_backward(ctx, dh.f32(), dep.f32(), 1, B * cout_, HW, Grad::Overwrite);  // dep[b, c] = sum_i dh[b, c, i]
  const Tensor demb = emb_proj_.backward(ctx, dep, true);
  axpby(ctx, 1.0f, demb.f32(), 1.0f, de.f32(), de.numel());
  Tensor dx = gn1_.backward(ctx, act1_.backward(ctx, conv1_.backward(ctx, dh, true), true), true);
  if (skip_) {
    const Tensor ds = skip_->backward(ctx, dy, true);
    axpby(ctx, 1.0f, ds.f32(), 1.0f, dx.f32(), dx.numel());
  } else {
    axpby(ctx, 1.0f, dy.f32(), 1.0f, dx.f32(), dx.numel());
  }
  return dx;
}

// ---- AttentionBlock ----
AttentionBlock::AttentionBlock(ParamStore& ps, const std::string& name, int C)
    : C_(C),
      gn_(ps, name + ".gn", C, GroupNorm::groups_for(C)),
      qkv_(ps, name + ".qkv", C, 3 * C, 1, 1, 0),
      proj_(ps, name + ".proj", C, C, 1, 1, 0) {}

Tensor AttentionBlock::forward(Context& ctx, const Tensor& x) {
  const StepInfo si;
  const int B = int(x.dim(0)), N = int(x.dim(2) * x.dim(3)), C = C_;
  qkv_out_ = qkv_.forward(ctx, gn_.forward(ctx, x, si), si);  // [B, 3C, N]: Q, K, V, each [C, N]
  p_ = Tensor::empty(ctx, {B, N, N});
  Tensor o = Tensor::empty(ctx, x.shape());
  for (int b = 0; b < B; ++b) {  // S = Q^T K [N, N]
    const float* q = qkv_out_.f32() + int64_t(b) * 3 * C * N;
    gemm(ctx, Transpose::Yes, Transpose::No, N, N, C, 1.0f, q, q + int64_t(C) * N, 0.0f, p_.f32() + int64_t(b) * N * N);
  }
  softmax_rows_forward(ctx, p_.f32(), p_.f32(), int64_t(B) * N, N, 1.0f / std::sqrt(float(C)));
  for (int b = 0; b < B; ++b) {  // O = V P^T [C, N]
    const float* v = qkv_out_.f32() + int64_t(b) * 3 * C * N + 2 * int64_t(C) * N;
    gemm(ctx, Transpose::No, Transpose::Yes, C, N, N, 1.0f, v, p_.f32() + int64_t(b) * N * N, 0.0f,
         o.f32() + int64_t(b) * C * N);
  }
  Tensor y = proj_.forward(ctx, o, si);
  axpby(ctx, 1.0f, x.f32(), 1.0f, y.f32(), y.numel());
  return y;
}

Tensor AttentionBlock::backward(Context& ctx, const Tensor& dy) {
  const int B = int(dy.dim(0)), N = int(dy.dim(2) * dy.dim(3)), C = C_;
  const Tensor dout = proj_.backward(ctx, dy, true);  // dO [B, C, N]
  Tensor dqkv = Tensor::empty(ctx, qkv_out_.shape());
  Tensor dp = Tensor::empty(ctx, {B, N, N});
  for (int b = 0; b < B; ++b) {
    const float* v = qkv_out_.f32() + int64_t(b) * 3 * C * N + 2 * int64_t(C) * N;
    const float* dob = dout.f32() + int64_t(b) * C * N;
    float* dv = dqkv.f32() + int64_t(b) * 3 * C * N + 2 * int64_t(C) * N;
    gemm(ctx, Transpose::No, Transpose::No, C, N, N, 1.0f, dob, p_.f32() + int64_t(b) * N * N, 0.0f, dv);  // dO P
    gemm(ctx, Transpose::Yes, Transpose::No, N, N, C, 1.0f, dob, v, 0.0f, dp.f32() + int64_t(b) * N * N);  // dO^T V
  }
  softmax_rows_backward(ctx, p_.f32(), dp.f32(), dp.f32(), int64_t(B) * N, N, 1.0f / std::sqrt(float(C)));  // dS
  for (int b = 0; b < B; ++b) {
    const float* q = qkv_out_.f32() + int64_t(b) * 3 * C * N;
    const float* ds = dp.f32() + int64_t(b) * N * N;
    float* dq = dqkv.f32() + int64_t(b) * 3 * C * N;
    gemm(ctx, Transpose::No, Transpose::Yes, C, N, N, 1.0f, q + int64_t(C) * N, ds, 0.0f, dq);  // dQ = K dS^T
    gemm(ctx, Transpose::No, Transpose::No, C, N, N, 1.0f, q, ds, 0.0f, dq + int64_t(C) * N);   // dK = Q dS
  }
  Tensor dx = gn_.backward(ctx, qkv_.backward(ctx, dqkv, true), true);
  axpby(ctx, 1.0f, dy.f32(), 1.0f, dx.f32(), dx.numel());
  qkv_out_ = p_ = Tensor();
  return dx;
}

// ---- UNet ----
UNet::UNet(ParamStore& ps, const std::string& name, const UNetSpec& spec) : spec_(spec), ps_(ps) {
  DG_REQUIRE(spec.channels.size() == 3, "--channels: the ddpm U-Net takes three widths (28, 14 and 7 pixels) like "
             "32,64,64, got ", spec.channels.size());
  DG_REQUIRE(spec.blocks >= 1, "--blocks: expected at least 1 residual block per level, got ", spec.blocks);
  const std::vector<int>& ch = spec.channels;
  DG_REQUIRE(ch[0] % 2 == 0, "--channels: the first width sets the sinusoidal embedding size and must be even, got ",
             ch[0]);
  emb_ = 4 * ch[0];
  temb0_ = std::make_unique<Linear>(ps, name + ".temb.fc0", ch[0], emb_);
  temb1_ = std::make_unique<Linear>(ps, name + ".temb.fc1", emb_, emb_);
  // U(-1, 1) (fan-in 1): label rows as large as the time embedding from the start, so the label is heard early.
  label_table_ = ps.add(name + ".label_embed", {spec.classes + 1, emb_}, Init::UniformFanIn, 1);
  conv_in_ = std::make_unique<Conv2d>(ps, name + ".conv_in", 1, ch[0], 3, 1, 1);
  int c = ch[0];
  down_.resize(3);
  for (int l = 0; l < 3; ++l) {
    for (int k = 0; k < spec.blocks; ++k) {
      down_[size_t(l)].push_back(std::make_unique<ResBlock>(
          ps, name + ".down" + std::to_string(l) + "." + std::to_string(k), c, ch[size_t(l)], emb_));
      c = ch[size_t(l)];
    }
    if (l < 2)
      downsample_.push_back(std::make_unique<Conv2d>(ps, name + ".downsample" + std::to_string(l), c, c, 3, 2, 1));
  }
  mid_ = std::make_unique<ResBlock>(ps, name + ".mid", c, c, emb_);
  if (spec.attention) mid_attn_ = std::make_unique<AttentionBlock>(ps, name + ".mid_attn", c);
  up_.resize(3);
  up_in_ch_.assign(3, 0);
  for (int l = 2; l >= 0; --l) {
    up_in_ch_[size_t(l)] = c;
    for (int k = 0; k < spec.blocks; ++k) {
      const int cin = k == 0 ? c + ch[size_t(l)] : ch[size_t(l)];
      up_[size_t(l)].push_back(std::make_unique<ResBlock>(
          ps, name + ".up" + std::to_string(l) + "." + std::to_string(k), cin, ch[size_t(l)], emb_));
    }
    c = ch[size_t(l)];
    if (l > 0) {  // up to the next level's resolution and width
      upsample_.push_back(std::make_unique<UpsampleNearest>(name + ".upsample" + std::to_string(l), 2));
      upconv_.push_back(
          std::make_unique<Conv2d>(ps, name + ".upconv" + std::to_string(l), c, ch[size_t(l - 1)], 3, 1, 1));
      c = ch[size_t(l - 1)];
    }
  }
  out_gn_ = std::make_unique<GroupNorm>(ps, name + ".out_gn", c, GroupNorm::groups_for(c));
  out_conv_ = std::make_unique<Conv2d>(ps, name + ".conv_out", c, 1, 3, 1, 1);
}

Tensor UNet::forward(Context& ctx, const Tensor& x, const Tensor& t, const Tensor& y) {
  NvtxRange r("ddpm/unet/forward");
  const StepInfo si;
  const std::vector<int>& ch = spec_.channels;
  DG_REQUIRE(x.rank() == 4 && x.dim(1) == 1 && x.dim(2) == 28 && x.dim(3) == 28,
             "ddpm: expected images [B, 1, 28, 28], got ", shape_str(x.shape()));
  const int B = int(x.dim(0));
  // Embedding: MLP(sinusoid(t)) + label_embed[y], then SiLU (shared by every block's projection).
  Tensor sin_t = Tensor::empty(ctx, {B, ch[0]});
  timestep_embedding(ctx, t.as<int32_t>(), sin_t.f32(), B, ch[0]);
  Tensor e = temb1_->forward(ctx, temb_act0_.forward(ctx, temb0_->forward(ctx, sin_t, si), si), si);
  Tensor le = Tensor::empty(ctx, {B, emb_});
  embedding_forward(ctx, ps_.param(label_table_), y.as<int32_t>(), le.f32(), B, spec_.classes + 1, emb_);
  axpby(ctx, 1.0f, le.f32(), 1.0f, e.f32(), e.numel());
  y_ = y;
  e_ = temb_act1_.forward(ctx, e, si);

  Tensor h = conv_in_->forward(ctx, x, si);
  std::vector<Tensor> skips(3);
  for (int l = 0; l < 3; ++l) {
    for (auto& blk : down_[size_t(l)]) h = blk->forward(ctx, h, e_);
    skips[size_t(l)] = h;
    if (l < 2) h = downsample_[size_t(l)]->forward(ctx, h, si);
  }
  h = mid_->forward(ctx, h, e_);
  if (mid_attn_) h = mid_attn_->forward(ctx, h);
  int up_i = 0;
  for (int l = 2; l >= 0; --l) {
    const Tensor& s = skips[size_t(l)];
    const int S = int(s.dim(2) * s.dim(3)), ca = int(h.dim(1)), cb = int(s.dim(1));
    Tensor cat = Tensor::empty(ctx, {B, ca + cb, s.dim(2), s.dim(3)});
    concat_channels_forward(ctx, h.f32(), s.f32(), cat.f32(), B, ca, cb, S);
    h = cat;
    for (auto& blk : up_[size_t(l)]) h = blk->forward(ctx, h, e_);
    if (l > 0) {
      h = upconv_[size_t(up_i)]->forward(ctx, upsample_[size_t(up_i)]->forward(ctx, h, si), si);
      ++up_i;
    }
  }
  return out_conv_->forward(ctx, out_act_.forward(ctx, out_gn_->forward(ctx, h, si), si), si);
}

void UNet::backward(Context& ctx, const Tensor& dout) {
  NvtxRange r("ddpm/unet/backward");
  const std::vector<int>& ch = spec_.channels;
  const int B = int(dout.dim(0));
  Tensor de = Tensor::zeros(ctx, {B, emb_});
  Tensor dh = out_gn_->backward(ctx, out_act_.backward(ctx, out_conv_->backward(ctx, dout, true), true), true);
  std::vector<Tensor> dskips(3);
  int up_i = int(upsample_.size()) - 1;
  for (int l = 0; l < 3; ++l) {
    if (l > 0) {
      dh = upsample_[size_t(up_i)]->backward(ctx, upconv_[size_t(up_i)]->backward(ctx, dh, true), true);
      --up_i;
    }
    auto& blocks = up_[size_t(l)];
    for (int k = int(blocks.size()) - 1; k >= 0; --k) dh = blocks[size_t(k)]->backward(ctx, dh, de);
    const int ca = up_in_ch_[size_t(l)], cb = ch[size_t(l)];
    const int S = int(dh.dim(2) * dh.dim(3));
    Tensor da = Tensor::empty(ctx, {B, ca, dh.dim(2), dh.dim(3)});
    dskips[size_t(l)] = Tensor::empty(ctx, {B, cb, dh.dim(2), dh.dim(3)});
    concat_channels_backward(ctx, dh.f32(), da.f32(), dskips[size_t(l)].f32(), B, ca, cb, S);
    dh = da;
  }
  if (mid_attn_) dh = mid_attn_->backward(ctx, dh);
  dh = mid_->backward(ctx, dh, de);
  for (int l = 2; l >= 0; --l) {
    if (l < 2) dh = downsample_[size_t(l)]->backward(ctx, dh, true);
    axpby(ctx, 1.0f, dskips[size_t(l)].f32(), 1.0f, dh.f32(), dh.numel());
    auto& blocks = down_[size_t(l)];
    for (int k = int(blocks.size()) - 1; k >= 0; --k) dh = blocks[size_t(k)]->backward(ctx, dh, de);
  }
  conv_in_->backward(ctx, dh, false);

  // Embedding: through the shared SiLU, into the label table and the time MLP.
  Tensor dpre = temb_act1_.backward(ctx, de, true);
  embedding_backward(ctx, dpre.f32(), y_.as<int32_t>(), ps_.grad(label_table_), B, spec_.classes + 1, emb_);
  temb0_->backward(ctx, temb_act0_.backward(ctx, temb1_->backward(ctx, dpre, true), true), false);
  y_ = e_ = Tensor();
}

}  // namespace dg
