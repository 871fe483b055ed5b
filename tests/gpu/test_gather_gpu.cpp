// Gather, axpby and fill on CUDA against the CPU reference (exact: no rounding differs).
#include "kernels/gather.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

TEST(GatherGpu, MatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int N = 1000, P = 784, B = 128;
  std::vector<uint8_t> images(size_t(N) * P), labels(N);
  for (size_t i = 0; i < images.size(); ++i) images[i] = uint8_t((i * 2654435761u) >> 24);
  for (int i = 0; i < N; ++i) labels[i] = uint8_t(i % 10);
  std::vector<int32_t> idx(B);
  for (int b = 0; b < B; ++b) idx[b] = (b * 7919) % N;
  std::vector<float> out(size_t(B) * P);
  std::vector<int32_t> lab(B);
  gather_images(cpu, images.data(), idx.data(), out.data(), B, P);
  gather_labels(cpu, labels.data(), idx.data(), lab.data(), B);

  Tensor gimg = test::upload_raw(gpu, images, DType::U8), glab = test::upload_raw(gpu, labels, DType::U8);
  Tensor gidx = test::upload_raw(gpu, idx, DType::I32);
  Tensor gout = Tensor::empty(gpu, {B, P}), glo = Tensor::empty(gpu, {B}, DType::I32);
  gather_images(gpu, gimg.as<uint8_t>(), gidx.as<int32_t>(), gout.f32(), B, P);
  gather_labels(gpu, glab.as<uint8_t>(), gidx.as<int32_t>(), glo.as<int32_t>(), B);
  EXPECT_EQ(test::download(gpu, gout), out);
  std::vector<int32_t> lab_gpu(B);
  copy_to_host(gpu, lab_gpu.data(), glo.raw(), B * sizeof(int32_t));
  EXPECT_EQ(lab_gpu, lab);
}

TEST(AxpbyFillGpu, MatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int n = 100003;
  const auto x = test::random_vec(n, 1), y0 = test::random_vec(n, 2);
  for (float beta : {0.0f, 1.0f, -0.5f}) {
    std::vector<float> y = y0;
    axpby(cpu, 0.75f, x.data(), beta, y.data(), n);
    Tensor gx = test::upload(gpu, x), gy = test::upload(gpu, y0);
    axpby(gpu, 0.75f, gx.f32(), beta, gy.f32(), n);
    // The device may fuse alpha * x + beta * y into one FMA: one rounding fewer.
    EXPECT_LT(test::rel_error(test::download(gpu, gy), y), 1e-6) << beta;
  }
  std::vector<float> f(n);
  fill(cpu, f.data(), 3.25f, n);
  Tensor gf = Tensor::empty(gpu, {n});
  fill(gpu, gf.f32(), 3.25f, n);
  EXPECT_EQ(test::download(gpu, gf), f);
}

}  // namespace
}  // namespace dg
