// Layer forward and backward passes, written in terms of the ops in kernels/.
#include "models/layers.h"

#include "kernels/activation.h"
#include "kernels/batchnorm.h"
#include "kernels/bias.h"
#include "kernels/concat.h"
#include "kernels/dropout.h"
#include "kernels/gemm.h"
#include "kernels/upsample.h"
#include "runtime/error.h"
#include "runtime/nvtx.h"

namespace dg {

// ---- Linear ----
Linear::Linear(ParamStore& ps, const std::string& name, int in, int out)
    : Layer(name), ps_(ps), in_(in), out_(out) {
  w_ = ps.add(name + ".weight", {out, in}, Init::UniformFanIn, in);
  b_ = ps.add(name + ".bias", {out}, Init::UniformFanIn, in);
}

Tensor Linear::forward(Context& ctx, const Tensor& x, const StepInfo&) {
  NvtxRange r(name_ + "/forward");
  const int B = int(x.dim(0));
  DG_REQUIRE(x.numel() == int64_t(B) * in_, name_, ": expected input [B, ", in_, "], got ", shape_str(x.shape()));
  x_ = x;
  Tensor y = Tensor::empty(ctx, {B, out_});
  gemm(ctx, Transpose::No, Transpose::Yes, B, out_, in_, 1.0f, x.f32(), ps_.param(w_), 0.0f, y.f32());
  bias_forward(ctx, y.f32(), ps_.param(b_), B, out_, 1);
  return y;
}

Tensor Linear::backward(Context& ctx, const Tensor& dy, bool need_dx) {
  NvtxRange r(name_ + "/backward");
  const int B = int(dy.dim(0));
  // dW += dy^T x ; db += sum_b dy ; dx = dy W
  gemm(ctx, Transpose::Yes, Transpose::No, out_, in_, B, 1.0f, dy.f32(), x_.f32(), 1.0f, ps_.grad(w_));
  bias_backward(ctx, dy.f32(), ps_.grad(b_), B, out_, 1, Grad::Accumulate);
  Tensor dx;
  if (need_dx) {
    dx = Tensor::empty(ctx, x_.shape());
    gemm(ctx, Transpose::No, Transpose::No, B, in_, out_, 1.0f, dy.f32(), ps_.param(w_), 0.0f, dx.f32());
  }
  x_ = Tensor();
  return dx;
}

// ---- Conv2d ----
Conv2d::Conv2d(ParamStore& ps, const std::string& name, int cin, int cout, int k, int stride, int pad)
    : Layer(name), ps_(ps), cin_(cin), cout_(cout), k_(k), stride_(stride), pad_(pad) {
  w_ = ps.add(name + ".weight", {cout, cin, k, k}, Init::UniformFanIn, int64_t(cin) * k * k);
  b_ = ps.add(name + ".bias", {cout}, Init::UniformFanIn, int64_t(cin) * k * k);
}

Tensor Conv2d::forward(Context& ctx, const Tensor& x, const StepInfo&) {
  NvtxRange r(name_ + "/forward");
  DG_REQUIRE(x.rank() == 4 && x.dim(1) == cin_, name_, ": expected input [B, ", cin_, ", H, W], got ",
             shape_str(x.shape()));
  g_ = ConvGeom{int(x.dim(0)), cin_, int(x.dim(2)), int(x.dim(3)), cout_, k_, stride_, pad_};
  x_ = x;
  Tensor y = Tensor::empty(ctx, {g_.B, cout_, g_.Ho(), g_.Wo()});
  conv2d_forward(ctx, g_, x.f32(), ps_.param(w_), y.f32());
  bias_forward(ctx, y.f32(), ps_.param(b_), g_.B, cout_, g_.Ho() * g_.Wo());
  return y;
}

Tensor Conv2d::backward(Context& ctx, const Tensor& dy, bool need_dx) {
  NvtxRange r(name_ + "/backward");
  conv2d_backward_filter(ctx, g_, x_.f32(), dy.f32(), ps_.grad(w_), Grad::Accumulate);
  bias_backward(ctx, dy.f32(), ps_.grad(b_), g_.B, cout_, g_.Ho() * g_.Wo(), Grad::Accumulate);
  Tensor dx;
  if (need_dx) {
    dx = Tensor::empty(ctx, x_.shape());
    conv2d_backward_data(ctx, g_, dy.f32(), ps_.param(w_), dx.f32());
  }
  x_ = Tensor();
  return dx;
}

// ---- ConvTranspose2d ----
ConvTranspose2d::ConvTranspose2d(ParamStore& ps, const std::string& name, int cin, int cout, int k, int stride,
                                 int pad)
    : Layer(name), ps_(ps), cin_(cin), cout_(cout), k_(k), stride_(stride), pad_(pad) {
  // PyTorch's fan-in for ConvTranspose2d weights [cin, cout, k, k] is cout * k * k.
  w_ = ps.add(name + ".weight", {cin, cout, k, k}, Init::UniformFanIn, int64_t(cout) * k * k);
  b_ = ps.add(name + ".bias", {cout}, Init::UniformFanIn, int64_t(cout) * k * k);
}

Tensor ConvTranspose2d::forward(Context& ctx, const Tensor& x, const StepInfo&) {
  NvtxRange r(name_ + "/forward");
  DG_REQUIRE(x.rank() == 4 && x.dim(1) == cin_, name_, ": expected input [B, ", cin_, ", H, W], got ",
             shape_str(x.shape()));
  const int h = int(x.dim(2)), w = int(x.dim(3));
  const int H = (h - 1) * stride_ - 2 * pad_ + k_, W = (w - 1) * stride_ - 2 * pad_ + k_;
  // The geometry of the forward convolution this transposes: [B, cout, H, W] -> [B, cin, h, w].
  g_ = ConvGeom{int(x.dim(0)), cout_, H, W, cin_, k_, stride_, pad_};
  DG_REQUIRE(g_.Ho() == h && g_.Wo() == w, name_, ": input ", h, "x", w, " does not invert to ", H, "x", W);
  x_ = x;
  Tensor y = Tensor::empty(ctx, {g_.B, cout_, H, W});
  conv_transpose2d_forward(ctx, g_, x.f32(), ps_.param(w_), y.f32());
  bias_forward(ctx, y.f32(), ps_.param(b_), g_.B, cout_, H * W);
  return y;
}

Tensor ConvTranspose2d::backward(Context& ctx, const Tensor& dy, bool need_dx) {
  NvtxRange r(name_ + "/backward");
  conv_transpose2d_backward_filter(ctx, g_, x_.f32(), dy.f32(), ps_.grad(w_), Grad::Accumulate);
  bias_backward(ctx, dy.f32(), ps_.grad(b_), g_.B, cout_, g_.H * g_.W, Grad::Accumulate);
  Tensor dx;
  if (need_dx) {
    dx = Tensor::empty(ctx, x_.shape());
    conv_transpose2d_backward_data(ctx, g_, dy.f32(), ps_.param(w_), dx.f32());
  }
  x_ = Tensor();
  return dx;
}

// ---- Activation ----
ActivationLayer::ActivationLayer(const std::string& name, Activation act, float alpha)
    : Layer(name), act_(act), alpha_(alpha) {}

Tensor ActivationLayer::forward(Context& ctx, const Tensor& x, const StepInfo&) {
  NvtxRange r(name_ + "/forward");
  x_ = x;
  y_ = Tensor::empty(ctx, x.shape());
  activation_forward(ctx, act_, alpha_, x.f32(), y_.f32(), x.numel());
  return y_;
}

Tensor ActivationLayer::backward(Context& ctx, const Tensor& dy, bool need_dx) {
  NvtxRange r(name_ + "/backward");
  Tensor dx;
  if (need_dx) {
    dx = Tensor::empty(ctx, x_.shape());
    activation_backward(ctx, act_, alpha_, x_.f32(), y_.f32(), dy.f32(), dx.f32(), x_.numel());
  }
  x_ = y_ = Tensor();
  return dx;
}

// ---- Pooling ----
MaxPool2d::MaxPool2d(const std::string& name, int k, int stride) : Layer(name), k_(k), stride_(stride) {}

Tensor MaxPool2d::forward(Context& ctx, const Tensor& x, const StepInfo&) {
  NvtxRange r(name_ + "/forward");
  DG_REQUIRE(x.rank() == 4, name_, ": expected NCHW input, got ", shape_str(x.shape()));
  in_shape_ = x.shape();
  g_ = PoolGeom{int(x.dim(0) * x.dim(1)), int(x.dim(2)), int(x.dim(3)), k_, stride_};
  Tensor y = Tensor::empty(ctx, {x.dim(0), x.dim(1), g_.Ho(), g_.Wo()});
  argmax_ = Tensor::empty(ctx, y.shape(), DType::I32);
  maxpool2d_forward(ctx, g_, x.f32(), y.f32(), argmax_.as<int32_t>());
  return y;
}

Tensor MaxPool2d::backward(Context& ctx, const Tensor& dy, bool need_dx) {
  NvtxRange r(name_ + "/backward");
  Tensor dx;
  if (need_dx) {
    dx = Tensor::empty(ctx, in_shape_);
    maxpool2d_backward(ctx, g_, dy.f32(), argmax_.as<int32_t>(), dx.f32());
  }
  argmax_ = Tensor();
  return dx;
}

AvgPool2d::AvgPool2d(const std::string& name, int k, int stride) : Layer(name), k_(k), stride_(stride) {}

Tensor AvgPool2d::forward(Context& ctx, const Tensor& x, const StepInfo&) {
  NvtxRange r(name_ + "/forward");
  DG_REQUIRE(x.rank() == 4, name_, ": expected NCHW input, got ", shape_str(x.shape()));
  in_shape_ = x.shape();
  g_ = PoolGeom{int(x.dim(0) * x.dim(1)), int(x.dim(2)), int(x.dim(3)), k_, stride_};
  Tensor y = Tensor::empty(ctx, {x.dim(0), x.dim(1), g_.Ho(), g_.Wo()});
  avgpool2d_forward(ctx, g_, x.f32(), y.f32());
  return y;
}

Tensor AvgPool2d::backward(Context& ctx, const Tensor& dy, bool need_dx) {
  NvtxRange r(name_ + "/backward");
  Tensor dx;
  if (need_dx) {
    dx = Tensor::empty(ctx, in_shape_);
    avgpool2d_backward(ctx, g_, dy.f32(), dx.f32());
  }
  return dx;
}

// ---- Upsample ----
UpsampleNearest::UpsampleNearest(const std::string& name, int factor) : Layer(name), f_(factor) {}

Tensor UpsampleNearest::forward(Context& ctx, const Tensor& x, const StepInfo&) {
  NvtxRange r(name_ + "/forward");
  DG_REQUIRE(x.rank() == 4, name_, ": expected NCHW input, got ", shape_str(x.shape()));
  in_shape_ = x.shape();
  Tensor y = Tensor::empty(ctx, {x.dim(0), x.dim(1), x.dim(2) * f_, x.dim(3) * f_});
  upsample_nearest_forward(ctx, x.f32(), y.f32(), int(x.dim(0) * x.dim(1)), int(x.dim(2)), int(x.dim(3)), f_);
  return y;
}

Tensor UpsampleNearest::backward(Context& ctx, const Tensor& dy, bool need_dx) {
  NvtxRange r(name_ + "/backward");
  Tensor dx;
  if (need_dx) {
    dx = Tensor::empty(ctx, in_shape_);
    upsample_nearest_backward(ctx, dy.f32(), dx.f32(), int(in_shape_[0] * in_shape_[1]), int(in_shape_[2]),
                              int(in_shape_[3]), f_);
  }
  return dx;
}

// ---- Dropout ----
Dropout::Dropout(const std::string& name, float p, uint32_t layer_id) : Layer(name), p_(p), layer_id_(layer_id) {}

Tensor Dropout::forward(Context& ctx, const Tensor& x, const StepInfo& si) {
  active_ = si.train && p_ > 0.0f;
  if (!active_) return x;
  NvtxRange r(name_ + "/forward");
  seed_ = si.seed;
  step_ = si.step + (layer_id_ << 24);
  Tensor y = Tensor::empty(ctx, x.shape());
  dropout_forward(ctx, x.f32(), y.f32(), x.numel(), p_, seed_, step_);
  return y;
}

Tensor Dropout::backward(Context& ctx, const Tensor& dy, bool need_dx) {
  if (!active_ || !need_dx) return need_dx ? dy : Tensor();
  NvtxRange r(name_ + "/backward");
  Tensor dx = Tensor::empty(ctx, dy.shape());
  dropout_backward(ctx, dy.f32(), dx.f32(), dy.numel(), p_, seed_, step_);
  return dx;
}

// ---- BatchNorm2d ----
BatchNorm2d::BatchNorm2d(Context& ctx, ParamStore& ps, const std::string& name, int C, float eps, float momentum)
    : Layer(name), ps_(ps), C_(C), eps_(eps), momentum_(momentum) {
  w_ = ps.add(name + ".weight", {C}, Init::Ones);
  b_ = ps.add(name + ".bias", {C}, Init::Zeros);
  running_mean_ = Tensor::zeros(ctx, {C});
  const std::vector<float> ones(static_cast<size_t>(C), 1.0f);
  running_var_ = Tensor::from_host(ctx, {C}, ones.data());
}

Tensor BatchNorm2d::forward(Context& ctx, const Tensor& x, const StepInfo& si) {
  NvtxRange r(name_ + "/forward");
  DG_REQUIRE((x.rank() == 4 || x.rank() == 2) && x.dim(1) == C_, name_, ": expected input [B, ", C_,
             ", H, W] or [B, ", C_, "], got ", shape_str(x.shape()));
  B_ = int(x.dim(0));
  HW_ = x.rank() == 4 ? int(x.dim(2) * x.dim(3)) : 1;
  train_ = si.train;
  x_ = x;
  Tensor y = Tensor::empty(ctx, x.shape());
  if (train_) {
    // As PyTorch: one value per channel has no variance to normalise by (and no unbiased estimate).
    DG_REQUIRE(int64_t(B_) * HW_ > 1, name_, ": training needs more than one value per channel, got ",
               shape_str(x.shape()));
    mean_ = Tensor::empty(ctx, {C_});
    inv_std_ = Tensor::empty(ctx, {C_});
    batchnorm_forward_train(ctx, x.f32(), ps_.param(w_), ps_.param(b_), y.f32(), mean_.f32(), inv_std_.f32(),
                            running_mean_.f32(), running_var_.f32(), B_, C_, HW_, eps_, momentum_);
  } else {
    batchnorm_forward_infer(ctx, x.f32(), ps_.param(w_), ps_.param(b_), running_mean_.f32(), running_var_.f32(),
                            y.f32(), B_, C_, HW_, eps_);
  }
  return y;
}

Tensor BatchNorm2d::backward(Context& ctx, const Tensor& dy, bool need_dx) {
  NvtxRange r(name_ + "/backward");
  Tensor dx;
  if (need_dx) dx = Tensor::empty(ctx, x_.shape());
  if (train_)
    batchnorm_backward_train(ctx, x_.f32(), dy.f32(), ps_.param(w_), mean_.f32(), inv_std_.f32(),
                             need_dx ? dx.f32() : nullptr, ps_.grad(w_), ps_.grad(b_), B_, C_, HW_, Grad::Accumulate);
  else
    batchnorm_backward_infer(ctx, x_.f32(), dy.f32(), ps_.param(w_), running_mean_.f32(), running_var_.f32(),
                             need_dx ? dx.f32() : nullptr, ps_.grad(w_), ps_.grad(b_), B_, C_, HW_, eps_,
                             Grad::Accumulate);
  x_ = mean_ = inv_std_ = Tensor();
  return dx;
}

std::vector<std::pair<std::string, Tensor*>> BatchNorm2d::state() {
  return {{name_ + ".running_mean", &running_mean_}, {name_ + ".running_var", &running_var_}};
}

// ---- Reshape ----
Reshape::Reshape(const std::string& name, Shape per_sample) : Layer(name), per_sample_(std::move(per_sample)) {}

Tensor Reshape::forward(Context&, const Tensor& x, const StepInfo&) {
  in_shape_ = x.shape();
  Shape s = {x.dim(0)};
  s.insert(s.end(), per_sample_.begin(), per_sample_.end());
  return x.reshape(s);
}

Tensor Reshape::backward(Context&, const Tensor& dy, bool need_dx) { return need_dx ? dy.reshape(in_shape_) : Tensor(); }

// ---- Sequential ----
// ---- ConcatInput ----
ConcatInput::ConcatInput(const std::string& name, int extra) : Layer(name), extra_(extra) {}

Tensor ConcatInput::forward(Context& ctx, const Tensor& x, const StepInfo&) {
  NvtxRange r(name_ + "/forward");
  const int B = int(x.dim(0));
  DG_REQUIRE(c_.defined() && c_.numel() == int64_t(B) * extra_, name_, ": expected a side input [", B, ", ", extra_,
             "] set before forward, got ", c_.defined() ? shape_str(c_.shape()) : std::string("none"));
  in_shape_ = x.shape();
  const int F = int(x.numel() / B);
  Tensor y = Tensor::empty(ctx, {B, F + extra_});
  concat_channels_forward(ctx, x.f32(), c_.f32(), y.f32(), B, F, extra_, 1);
  return y;
}

Tensor ConcatInput::backward(Context& ctx, const Tensor& dy, bool need_dx) {
  NvtxRange r(name_ + "/backward");
  Tensor dx;
  if (need_dx) {
    dx = Tensor::empty(ctx, in_shape_);
    const int B = int(in_shape_[0]);
    concat_channels_backward(ctx, dy.f32(), dx.f32(), nullptr, B, int(dx.numel() / B), extra_, 1);
  }
  return dx;
}

Tensor Sequential::forward(Context& ctx, const Tensor& x, const StepInfo& si) {
  Tensor h = x;
  for (auto& l : layers_) h = l->forward(ctx, h, si);
  return h;
}

Tensor Sequential::backward(Context& ctx, const Tensor& dy, bool need_dx) {
  Tensor g = dy;
  for (size_t i = layers_.size(); i-- > 0;) g = layers_[i]->backward(ctx, g, need_dx || i > 0);
  return g;
}

std::vector<std::pair<std::string, Tensor*>> Sequential::state() {
  std::vector<std::pair<std::string, Tensor*>> all;
  for (auto& l : layers_)
    for (auto& s : l->state()) all.push_back(s);
  return all;
}

}  // namespace dg
