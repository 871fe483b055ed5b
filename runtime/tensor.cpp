// Tensor construction, shapes and host copies.
#include "runtime/tensor.h"

#include <sstream>

#include "runtime/error.h"

namespace dg {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::BF16: return 2;
    case DType::I32: return 4;
    case DType::U8: return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::BF16: return "BF16";
    case DType::I32: return "I32";
    case DType::U8: return "U8";
  }
  return "?";
}

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}

Tensor Tensor::empty(Context& ctx, Shape shape, DType dtype) {
  Tensor t;
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  t.device_ = ctx.device();
  t.block_ = std::make_shared<Block>(ctx.pool().allocate(t.bytes()));
  t.ptr_ = t.block_->get();
  return t;
}

Tensor Tensor::zeros(Context& ctx, Shape shape, DType dtype) {
  Tensor t = empty(ctx, std::move(shape), dtype);
  fill_zero(ctx, t.ptr_, t.bytes());
  return t;
}

Tensor Tensor::from_host(Context& ctx, Shape shape, const float* host) {
  Tensor t = empty(ctx, std::move(shape));
  copy_to_device(ctx, t.ptr_, host, t.bytes());
  return t;
}

Tensor Tensor::view(std::shared_ptr<Block> owner, void* ptr, Shape shape, Device dev, DType dtype) {
  Tensor t;
  t.block_ = std::move(owner);
  t.ptr_ = ptr;
  t.shape_ = std::move(shape);
  t.device_ = dev;
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::reshape(Shape s) const {
  DG_REQUIRE(dg::numel(s) == numel(), "reshape ", shape_str(shape_), " to ", shape_str(s), ": element counts differ");
  Tensor t = *this;
  t.shape_ = std::move(s);
  return t;
}

Tensor Tensor::slice_rows(int64_t begin, int64_t end) const {
  DG_REQUIRE(rank() >= 1 && 0 <= begin && begin <= end && end <= shape_[0], "slice_rows [", begin, ", ", end,
             ") out of range for ", shape_str(shape_));
  Tensor t = *this;
  const int64_t row = numel() / (shape_[0] ? shape_[0] : 1);
  t.ptr_ = static_cast<char*>(ptr_) + size_t(begin * row) * dtype_size(dtype_);
  t.shape_[0] = end - begin;
  return t;
}

std::vector<float> Tensor::to_host(Context& ctx) const {
  DG_REQUIRE(dtype_ == DType::F32, "to_host: expected an F32 tensor, got ", dtype_name(dtype_));
  std::vector<float> h(static_cast<size_t>(numel()));
  copy_to_host(ctx, h.data(), ptr_, bytes());
  return h;
}

}  // namespace dg
