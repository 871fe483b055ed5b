// A model's parameters, gradients and Adam moments: each one slab in device memory, carved into named
// tensors in registration order. One Adam kernel runs over the whole slab; a checkpoint is one copy per slab.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/elementwise_math.h"
#include "runtime/tensor.h"

namespace dg {

enum class Init {
  Zeros,
  Ones,
  UniformFanIn,  // U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as PyTorch's default for Linear and Conv
  Normal002,     // N(0, 0.02^2), the DCGAN convention
};

struct ParamSpec {
  std::string name;  // e.g. "encoder.fc0.weight"
  Shape shape;
  Init init;
  int64_t fan_in;
  int64_t offset;  // in floats, within each slab
};

class ParamStore {
 public:
  // Registers a tensor before finalize(); returns its index.
  int add(const std::string& name, Shape shape, Init init, int64_t fan_in = 1);
  // Allocates the slabs on ctx's device and initialises parameters from Philox(seed, kPurposeInit, element,
  // tensor index), on the host, so CPU and GPU start from identical weights.
  void finalize(Context& ctx, uint64_t seed);
  bool finalized() const { return count_ > 0 || specs_.empty(); }

  float* param(int i) const { return params_.f32() + specs_.at(i).offset; }
  float* grad(int i) const { return grads_.f32() + specs_.at(i).offset; }
  const std::vector<ParamSpec>& specs() const { return specs_; }
  int64_t count() const { return count_; }  // total floats

  Tensor& params() { return params_; }
  Tensor& grads() { return grads_; }
  Tensor& adam_m() { return m_; }
  Tensor& adam_v() { return v_; }
  int64_t adam_steps() const { return adam_steps_; }
  void set_adam_steps(int64_t s) { adam_steps_ = s; }

  void zero_grad(Context& ctx);
  // One Adam update over the slab (increments the step counter first).
  void adam_step(Context& ctx, const AdamConfig& cfg);

 private:
  std::vector<ParamSpec> specs_;
  int64_t count_ = 0;
  Tensor params_, grads_, m_, v_;  // each [count]
  int64_t adam_steps_ = 0;
};

}  // namespace dg
