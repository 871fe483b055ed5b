// Tensors: a shape, a dtype and a device, over memory from the context's pool (or a view into a slab).
// fp32 is the only compute dtype today; DType leaves room for bf16.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "runtime/context.h"

namespace dg {

enum class DType { F32, BF16, I32, U8 };
size_t dtype_size(DType t);
const char* dtype_name(DType t);

using Shape = std::vector<int64_t>;
int64_t numel(const Shape& s);
std::string shape_str(const Shape& s);

class Tensor {
 public:
  Tensor() = default;
  // Fresh (uninitialised) memory from ctx's pool.
  static Tensor empty(Context& ctx, Shape shape, DType dtype = DType::F32);
  static Tensor zeros(Context& ctx, Shape shape, DType dtype = DType::F32);
  // Copies host data onto ctx's device.
  static Tensor from_host(Context& ctx, Shape shape, const float* host);
  // A view of memory owned elsewhere (a slab); keeps `owner` alive.
  static Tensor view(std::shared_ptr<Block> owner, void* ptr, Shape shape, Device dev, DType dtype = DType::F32);

  float* f32() const { return static_cast<float*>(ptr_); }
  void* raw() const { return ptr_; }
  template <typename T>
  T* as() const { return static_cast<T*>(ptr_); }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_.at(i < 0 ? shape_.size() + i : i); }
  int rank() const { return int(shape_.size()); }
  int64_t numel() const { return dg::numel(shape_); }
  size_t bytes() const { return size_t(numel()) * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  bool defined() const { return ptr_ != nullptr; }
  // Same memory, another shape of equal element count.
  Tensor reshape(Shape s) const;
  // Rows [begin, end) of the leading dimension, sharing memory.
  Tensor slice_rows(int64_t begin, int64_t end) const;
  std::vector<float> to_host(Context& ctx) const;

 private:
  std::shared_ptr<Block> block_;
  void* ptr_ = nullptr;
  Shape shape_;
  DType dtype_ = DType::F32;
  Device device_ = Device::CPU;
};

}  // namespace dg
