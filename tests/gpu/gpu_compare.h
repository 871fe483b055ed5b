// GPU comparison helpers: run an op on a CUDA context over copies of host inputs and fetch results,
// so each test can compare against the CPU reference by relative error.
#pragma once
#include <vector>

#include "runtime/tensor.h"
#include "tests/test_util.h"

namespace dg::test {

// Device copy of a host vector, for a CUDA context.
inline Tensor upload(Context& ctx, const std::vector<float>& h) {
  return Tensor::from_host(ctx, {int64_t(h.size())}, h.data());
}
template <typename T>
inline Tensor upload_raw(Context& ctx, const std::vector<T>& h, DType dt) {
  Tensor t = Tensor::empty(ctx, {int64_t(h.size())}, dt);
  copy_to_device(ctx, t.raw(), h.data(), h.size() * sizeof(T));
  return t;
}
inline std::vector<float> download(Context& ctx, const Tensor& t) { return t.to_host(ctx); }

}  // namespace dg::test
