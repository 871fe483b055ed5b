// One-hot encoding on CUDA against the CPU reference (every element compared exactly), and the zero row the
// kernel writes for a label outside [0, K) where the CPU reference would reject it.
#include "kernels/one_hot.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

TEST(OneHotGpu, MatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int B = 1000, K = 10;
  std::vector<int32_t> labels(B);
  for (int b = 0; b < B; ++b) labels[b] = (b * 7 + b / 3) % K;
  std::vector<float> y(size_t(B) * K);
  one_hot(cpu, labels.data(), y.data(), B, K);
  Tensor gl = test::upload_raw(gpu, labels, DType::I32);
  Tensor gy = test::upload(gpu, std::vector<float>(y.size(), 5.0f));  // stale contents are overwritten
  one_hot(gpu, gl.as<int32_t>(), gy.f32(), B, K);
  // 0 and 1 are exact: equality, no tolerance.
  EXPECT_EQ(test::download(gpu, gy), y);

  const std::vector<int32_t> bad = {3, K, -1};
  Tensor gb = test::upload_raw(gpu, bad, DType::I32);
  Tensor gy2 = Tensor::empty(gpu, {3 * K});
  one_hot(gpu, gb.as<int32_t>(), gy2.f32(), 3, K);
  const std::vector<float> got = test::download(gpu, gy2);
  for (int k = 0; k < K; ++k) {
    EXPECT_EQ(got[size_t(k)], k == 3 ? 1.0f : 0.0f);
    EXPECT_EQ(got[size_t(K + k)], 0.0f);
    EXPECT_EQ(got[size_t(2 * K + k)], 0.0f);
  }
}

}  // namespace
}  // namespace dg
