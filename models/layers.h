// Layers with explicit forward and backward: forward saves what backward needs; backward accumulates
// parameter gradients (into the model's gradient slab) and returns the input gradient (overwritten).
// Activations are NCHW (images) or [B, features] (vectors).
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kernels/conv.h"
#include "kernels/elementwise_math.h"
#include "kernels/pool.h"
#include "models/params.h"
#include "runtime/tensor.h"

namespace dg {

// What a forward pass needs to know beyond its input: training or inference, and the Philox (seed, step)
// for its randomness (dropout).
struct StepInfo {
  bool train = false;
  uint64_t seed = 0;
  uint32_t step = 0;
};

class Layer {
 public:
  explicit Layer(std::string name) : name_(std::move(name)) {}
  virtual ~Layer() = default;
  virtual Tensor forward(Context& ctx, const Tensor& x, const StepInfo& si) = 0;
  // need_dx = false lets the first layer of a network skip its input gradient.
  virtual Tensor backward(Context& ctx, const Tensor& dy, bool need_dx) = 0;
  // Non-trainable state that checkpoints must keep (BatchNorm2d's running statistics), by name. It is not in
  // any ParamStore, so a model holding such layers saves and restores it through Model::extra_state and
  // Model::load_extra_state (Sequential::state() collects it from a whole network).
  virtual std::vector<std::pair<std::string, Tensor*>> state() { return {}; }
  const std::string& name() const { return name_; }

 protected:
  std::string name_;  // "<model>/<layer>", used for NVTX ranges
};

class Linear : public Layer {
 public:
  // weight [out, in], bias [out]
  Linear(ParamStore& ps, const std::string& name, int in, int out);
  Tensor forward(Context& ctx, const Tensor& x, const StepInfo& si) override;
  Tensor backward(Context& ctx, const Tensor& dy, bool need_dx) override;

 private:
  ParamStore& ps_;
  int in_, out_, w_, b_;
  Tensor x_;  // [B, in]
};

class Conv2d : public Layer {
 public:
  // weight [cout, cin, k, k], bias [cout]
  Conv2d(ParamStore& ps, const std::string& name, int cin, int cout, int k, int stride, int pad);
  Tensor forward(Context& ctx, const Tensor& x, const StepInfo& si) override;
  Tensor backward(Context& ctx, const Tensor& dy, bool need_dx) override;

 private:
  ParamStore& ps_;
  int cin_, cout_, k_, stride_, pad_, w_, b_;
  ConvGeom g_;
  Tensor x_;  // [B, cin, H, W]
};

class ConvTranspose2d : public Layer {
 public:
  // [B, cin, h, w] -> [B, cout, (h-1)*stride - 2*pad + k, ...]; weight [cin, cout, k, k] (PyTorch layout), bias [cout]
  ConvTranspose2d(ParamStore& ps, const std::string& name, int cin, int cout, int k, int stride, int pad);
  Tensor forward(Context& ctx, const Tensor& x, const StepInfo& si) override;
  Tensor backward(Context& ctx, const Tensor& dy, bool need_dx) override;

 private:
  ParamStore& ps_;
  int cin_, cout_, k_, stride_, pad_, w_, b_;
  ConvGeom g_;
  Tensor x_;
};

class ActivationLayer : public Layer {
 public:
  ActivationLayer(const std::string& name, Activation act, float alpha = 0.0f);
  Tensor forward(Context& ctx, const Tensor& x, const StepInfo& si) override;
  Tensor backward(Context& ctx, const Tensor& dy, bool need_dx) override;

 private:
  Activation act_;
  float alpha_;
  Tensor x_, y_;
};

class MaxPool2d : public Layer {
 public:
  MaxPool2d(const std::string& name, int k, int stride);
  Tensor forward(Context& ctx, const Tensor& x, const StepInfo& si) override;
  Tensor backward(Context& ctx, const Tensor& dy, bool need_dx) override;

 private:
  int k_, stride_;
  PoolGeom g_;
  Shape in_shape_;
  Tensor argmax_;
};

class AvgPool2d : public Layer {
 public:
  AvgPool2d(const std::string& name, int k, int stride);
  Tensor forward(Context& ctx, const Tensor& x, const StepInfo& si) override;
  Tensor backward(Context& ctx, const Tensor& dy, bool need_dx) override;

 private:
  int k_, stride_;
  PoolGeom g_;
  Shape in_shape_;
};

class UpsampleNearest : public Layer {
 public:
  UpsampleNearest(const std::string& name, int factor);
  Tensor forward(Context& ctx, const Tensor& x, const StepInfo& si) override;
  Tensor backward(Context& ctx, const Tensor& dy, bool need_dx) override;

 private:
  int f_;
  Shape in_shape_;
};

class Dropout : public Layer {
 public:
  // layer_id separates the masks of different dropout layers drawn at the same step.
  Dropout(const std::string& name, float p, uint32_t layer_id);
  Tensor forward(Context& ctx, const Tensor& x, const StepInfo& si) override;
  Tensor backward(Context& ctx, const Tensor& dy, bool need_dx) override;

 private:
  float p_;
  uint32_t layer_id_;
  bool active_ = false;
  uint64_t seed_ = 0;
  uint32_t step_ = 0;
};

// Batch normalisation of [B, C, H, W] or [B, C] per channel. Parameters "<name>.weight" (gamma, Ones) and
// "<name>.bias" (beta, Zeros); StepInfo.train picks batch statistics (and updates the running ones) or the
// running statistics. The running statistics "<name>.running_mean" (zeros) and "<name>.running_var" (ones)
// are device tensors owned here and reported by state(): models must save them through Model::extra_state.
class BatchNorm2d : public Layer {
 public:
  BatchNorm2d(Context& ctx, ParamStore& ps, const std::string& name, int C, float eps = 1e-5f,
              float momentum = 0.1f);
  Tensor forward(Context& ctx, const Tensor& x, const StepInfo& si) override;
  Tensor backward(Context& ctx, const Tensor& dy, bool need_dx) override;
  std::vector<std::pair<std::string, Tensor*>> state() override;
  Tensor& running_mean() { return running_mean_; }
  Tensor& running_var() { return running_var_; }

 private:
  ParamStore& ps_;
  int C_, w_, b_;
  float eps_, momentum_;
  Tensor running_mean_, running_var_;  // [C]
  bool train_ = false;                 // which statistics the last forward used
  int B_ = 0, HW_ = 0;
  Tensor x_, mean_, inv_std_;  // input, and the batch statistics [C] of a training forward
};

// Reinterprets [B, ...] as [B, shape...]; no copy.
class Reshape : public Layer {
 public:
  Reshape(const std::string& name, Shape per_sample);
  Tensor forward(Context& ctx, const Tensor& x, const StepInfo& si) override;
  Tensor backward(Context& ctx, const Tensor& dy, bool need_dx) override;

 private:
  Shape per_sample_;
  Shape in_shape_;
};

// Appends a side input c [B, C] (set with set_input before each forward; conditioning such as a one-hot label)
// to the features x [B, F]: y = [x, c] of shape [B, F + C]. Backward returns dx only; the side input is data, so
// its gradient is not formed.
class ConcatInput : public Layer {
 public:
  ConcatInput(const std::string& name, int extra);
  void set_input(const Tensor& c) { c_ = c; }
  Tensor forward(Context& ctx, const Tensor& x, const StepInfo& si) override;
  Tensor backward(Context& ctx, const Tensor& dy, bool need_dx) override;

 private:
  int extra_;
  Tensor c_;
  Shape in_shape_;
};

// Layers applied in order.
class Sequential {
 public:
  template <typename L, typename... Args>
  L* add(Args&&... args) {
    auto l = std::make_unique<L>(std::forward<Args>(args)...);
    L* raw = l.get();
    layers_.push_back(std::move(l));
    return raw;
  }
  Tensor forward(Context& ctx, const Tensor& x, const StepInfo& si);
  Tensor backward(Context& ctx, const Tensor& dy, bool need_dx);
  // Every layer's state() in order.
  std::vector<std::pair<std::string, Tensor*>> state();
  bool empty() const { return layers_.empty(); }

 private:
  std::vector<std::unique_ptr<Layer>> layers_;
};

}  // namespace dg
