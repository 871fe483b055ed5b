// Philox on the device draws the numbers the host draws: checked through the ops that consume them on the GPU
// (binarize and dropout compare a uniform with a threshold, reparam turns pairs into normals), against the
// host-side philox.h functions evaluated here in the test, across 32-bit index and step boundaries.
#include <cmath>
#include <cstdint>

#include "kernels/binarize.h"
#include "kernels/dropout.h"
#include "kernels/reparam.h"
#include "runtime/philox.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

// Index bases that exercise both counter words of the index (the high word goes to counter word 1).
const uint64_t kIndexBases[] = {0, 12345, (uint64_t(1) << 32) - 1000, uint64_t(0x0000000500000000ull)};

TEST(PhiloxGpu, BinarizeOnDeviceMatchesHostUniformsBitForBit) {
  DG_GPU_TEST_GUARD();
  Context gpu(Device::CUDA);
  const int n = 4099;  // not a multiple of 4: a partial Philox block at the end
  // Thresholds spread over (0, 1), so the output bit shows on which side of each threshold the uniform fell.
  const std::vector<float> x = test::random_vec(n, 21, 0.0f, 1.0f);
  Tensor gx = test::upload(gpu, x), gy = Tensor::empty(gpu, {n});
  for (uint64_t seed : {uint64_t(0), uint64_t(7), uint64_t(0xfedcba9876543210ull)})
    for (uint64_t base : kIndexBases)
      for (uint32_t step : {0u, 3u, 0xffffffffu}) {
        binarize(gpu, gx.f32(), gy.f32(), n, seed, base, step);
        const std::vector<float> y = test::download(gpu, gy);
        int64_t mismatches = 0;
        for (int i = 0; i < n; ++i) {
          const float expect = philox_uniform(seed, kPurposeBinarize, base + uint64_t(i), step) <= x[size_t(i)] ? 1.0f : 0.0f;
          mismatches += (y[size_t(i)] != expect);
        }
        EXPECT_EQ(mismatches, 0) << "seed " << seed << " base " << base << " step " << step;
      }
}

TEST(PhiloxGpu, DropoutMaskOnDeviceMatchesHostUniforms) {
  DG_GPU_TEST_GUARD();
  Context gpu(Device::CUDA);
  const int n = 10007;
  const std::vector<float> ones(n, 1.0f);
  Tensor gx = test::upload(gpu, ones), gy = Tensor::empty(gpu, {n});
  for (float p : {0.1f, 0.5f, 0.9f})
    for (uint32_t step : {0u, 41u, (1u << 24) | 5u}) {
      dropout_forward(gpu, gx.f32(), gy.f32(), n, p, 2024, step);
      const std::vector<float> y = test::download(gpu, gy);
      int64_t mismatches = 0;
      for (int i = 0; i < n; ++i) {
        const bool keep = philox_uniform(2024, kPurposeDropout, uint64_t(i), step) > p;
        mismatches += ((y[size_t(i)] != 0.0f) != keep);
      }
      EXPECT_EQ(mismatches, 0) << "p " << p << " step " << step;
    }
}

// Normals go through logf / sinf / cosf, whose last bit may differ between the device and the host libm, so the
// bound is a few float ulps of the value (1e-5 relative, as the reparam op test).
TEST(PhiloxGpu, ReparamNoiseOnDeviceMatchesHostNormals) {
  DG_GPU_TEST_GUARD();
  Context gpu(Device::CUDA);
  const int n = 8191;
  const std::vector<float> zeros(n, 0.0f);
  Tensor gmu = test::upload(gpu, zeros), glv = test::upload(gpu, zeros);
  Tensor geps = Tensor::empty(gpu, {n}), gz = Tensor::empty(gpu, {n});
  for (uint64_t base : kIndexBases) {
    reparam_forward(gpu, gmu.f32(), glv.f32(), geps.f32(), gz.f32(), n, 31337, base, 17);
    const std::vector<float> eps = test::download(gpu, geps);
    std::vector<float> host(n);
    for (int i = 0; i < n; ++i) host[size_t(i)] = philox_normal(31337, kPurposeReparam, base + uint64_t(i), 17);
    EXPECT_LT(test::rel_error(eps, host), 1e-5) << "base " << base;
    EXPECT_EQ(test::download(gpu, gz), eps) << "z = 0 + exp(0) * eps";
  }
}

}  // namespace
}  // namespace dg
