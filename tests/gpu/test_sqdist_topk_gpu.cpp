// sqdist_topk on CUDA against the CPU reference on the same dots block (bit for bit: both merge in the same order
// with the same arithmetic), merged over two blocks.
#include <limits>

#include "kernels/sqdist_topk.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

TEST(SqdistTopkGpu, MatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int M = 300, N = 513, k = 4;
  const auto dots = test::random_vec(size_t(N) * M, 1), qn = test::random_vec(size_t(M), 2, 1.0f, 3.0f);
  const auto rn = test::random_vec(size_t(N), 3, 1.0f, 3.0f);
  std::vector<float> best(size_t(M) * k, std::numeric_limits<float>::infinity());
  std::vector<int32_t> idx(size_t(M) * k, -1);
  Tensor gd = test::upload(gpu, dots), gq = test::upload(gpu, qn), gr = test::upload(gpu, rn);
  Tensor gb = test::upload(gpu, best), gi = test::upload_raw(gpu, idx, DType::I32);
  const int half = N / 2;
  for (int part = 0; part < 2; ++part) {
    const int j0 = part ? half : 0, nb = part ? N - half : half;
    sqdist_topk(cpu, dots.data() + size_t(j0) * M, qn.data(), rn.data() + j0, M, nb, k, j0, best.data(), idx.data());
    sqdist_topk(gpu, gd.f32() + size_t(j0) * M, gq.f32(), gr.f32() + j0, M, nb, k, j0, gb.f32(), gi.as<int32_t>());
  }
  EXPECT_EQ(test::download(gpu, gb), best);
  std::vector<int32_t> gidx(idx.size());
  copy_to_host(gpu, gidx.data(), gi.raw(), gidx.size() * sizeof(int32_t));
  EXPECT_EQ(gidx, idx);
}

}  // namespace
}  // namespace dg
