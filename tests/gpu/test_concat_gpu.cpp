// Channel concatenation on CUDA against the CPU reference, including a skipped (null) gradient output.
#include "kernels/concat.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

TEST(ConcatGpu, MatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int B = 5, Ca = 3, Cb = 7, S = 49;
  const auto a = test::random_vec(size_t(B) * Ca * S, 1), b = test::random_vec(size_t(B) * Cb * S, 2);
  const auto dy = test::random_vec(size_t(B) * (Ca + Cb) * S, 3);
  std::vector<float> y(dy.size()), da(a.size()), db(b.size());
  concat_channels_forward(cpu, a.data(), b.data(), y.data(), B, Ca, Cb, S);
  concat_channels_backward(cpu, dy.data(), da.data(), db.data(), B, Ca, Cb, S);
  Tensor ga = test::upload(gpu, a), gb = test::upload(gpu, b), gdy = test::upload(gpu, dy);
  Tensor gy = Tensor::empty(gpu, {int64_t(y.size())});
  Tensor gda = Tensor::empty(gpu, {int64_t(a.size())}), gdb = Tensor::empty(gpu, {int64_t(b.size())});
  concat_channels_forward(gpu, ga.f32(), gb.f32(), gy.f32(), B, Ca, Cb, S);
  concat_channels_backward(gpu, gdy.f32(), gda.f32(), gdb.f32(), B, Ca, Cb, S);
  EXPECT_EQ(test::download(gpu, gy), y);
  EXPECT_EQ(test::download(gpu, gda), da);
  EXPECT_EQ(test::download(gpu, gdb), db);
  // A null output is skipped, the other still written.
  Tensor gdb2 = Tensor::zeros(gpu, {int64_t(b.size())});
  concat_channels_backward(gpu, gdy.f32(), nullptr, gdb2.f32(), B, Ca, Cb, S);
  EXPECT_EQ(test::download(gpu, gdb2), db);
}

}  // namespace
}  // namespace dg
