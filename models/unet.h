// The diffusion model's U-Net for 28x28x1 digits: GroupNorm layer, residual blocks with a timestep/label embedding
// added into every block, and the U-Net itself (levels at 28, 14 and 7 pixels, one skip connection per level,
// stride-2 convolutions down, nearest upsampling + a convolution to the finer level's width up). Explicit forward and backward passes.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/layers.h"

namespace dg {

// Group normalisation of [B, C, H, W] in G groups; parameters "<name>.weight" (Ones) and "<name>.bias" (Zeros).
class GroupNorm : public Layer {
 public:
  GroupNorm(ParamStore& ps, const std::string& name, int C, int groups, float eps = 1e-5f);
  Tensor forward(Context& ctx, const Tensor& x, const StepInfo& si) override;
  Tensor backward(Context& ctx, const Tensor& dy, bool need_dx) override;
  // The group count used for C channels: the largest of 32, 16, 8, 4, 2 that divides C with at least 4 channels
  // per group, else 1 (64 -> 16, 16 -> 4, 8 -> 2).
  static int groups_for(int C);

 private:
  ParamStore& ps_;
  int C_, G_, w_, b_;
  float eps_;
  Tensor x_, mean_, inv_std_;  // input [B, C, H, W], statistics [B, G]
};

// x -> GN -> SiLU -> conv3x3 (cin -> cout) -> + Linear(e)[b, c] -> GN -> SiLU -> conv3x3 -> + skip(x), where skip is
// the identity (cin == cout) or a 1x1 convolution, and e [B, E] is the activated time/label embedding.
class ResBlock {
 public:
  ResBlock(ParamStore& ps, const std::string& name, int cin, int cout, int emb);
  Tensor forward(Context& ctx, const Tensor& x, const Tensor& e);
  // Returns dx; adds the embedding's gradient into de [B, E].
  Tensor backward(Context& ctx, const Tensor& dy, Tensor& de);

 private:
  int cin_, cout_;
  GroupNorm gn1_, gn2_;
  ActivationLayer act1_, act2_;
  Conv2d conv1_, conv2_;
  Linear emb_proj_;
  std::unique_ptr<Conv2d> skip_;
};

// Single-head self-attention over the H * W positions: y = x + proj(V softmax(Q^T K / sqrt(C))^T), with Q, K, V
// from a 1x1 convolution of GN(x) (C -> 3C) and proj a 1x1 convolution (C -> C). Used at 7x7 (49 positions).
class AttentionBlock {
 public:
  AttentionBlock(ParamStore& ps, const std::string& name, int C);
  Tensor forward(Context& ctx, const Tensor& x);
  Tensor backward(Context& ctx, const Tensor& dy);

 private:
  int C_;
  GroupNorm gn_;
  Conv2d qkv_, proj_;
  Tensor qkv_out_, p_;  // [B, 3C, H, W], attention weights [B, N, N]
};

struct UNetSpec {
  std::vector<int> channels;  // widths at 28, 14 and 7 pixels
  int blocks = 1;             // residual blocks per level (down and up)
  int classes = 10;           // labels 0..classes-1, and `classes` is the null label (classifier-free guidance)
  bool attention = false;     // a self-attention block after the middle residual block (7x7)
};

class UNet {
 public:
  UNet(ParamStore& ps, const std::string& name, const UNetSpec& spec);
  // Predicted noise [B, 1, 28, 28] for x [B, 1, 28, 28] at timesteps t (device int32 [B]) with labels y (device
  // int32 [B], 0..classes). Saves what backward needs; makes no host round trip (CUDA-graph capturable).
  Tensor forward(Context& ctx, const Tensor& x, const Tensor& t, const Tensor& y);
  // Accumulates every parameter gradient for the output gradient dout [B, 1, 28, 28].
  void backward(Context& ctx, const Tensor& dout);
  int embedding_width() const { return emb_; }

 private:
  UNetSpec spec_;
  ParamStore& ps_;
  int emb_ = 0;
  int label_table_ = -1;
  // Time embedding MLP.
  std::unique_ptr<Linear> temb0_, temb1_;
  ActivationLayer temb_act0_{"unet.temb.silu0", Activation::SiLU}, temb_act1_{"unet.temb.silu1", Activation::SiLU};
  std::unique_ptr<Conv2d> conv_in_;
  std::vector<std::vector<std::unique_ptr<ResBlock>>> down_, up_;
  std::vector<std::unique_ptr<Conv2d>> downsample_, upconv_;
  std::vector<std::unique_ptr<UpsampleNearest>> upsample_;
  std::unique_ptr<ResBlock> mid_;
  std::unique_ptr<AttentionBlock> mid_attn_;
  std::unique_ptr<GroupNorm> out_gn_;
  ActivationLayer out_act_{"unet.out.silu", Activation::SiLU};
  std::unique_ptr<Conv2d> out_conv_;
  // Saved for backward.
  Tensor y_, e_;                 // labels, activated embedding [B, E]
  std::vector<int> up_in_ch_;    // channels of the tensor entering up level l before the concat
};

}  // namespace dg
