// Embedding lookup on CUDA against the CPU reference, with repeated ids and accumulation into dtable.
#include "kernels/embedding.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

// Same float operations in the same order on both sides (shared per-index bodies, no multiply-adds to fuse),
// so results should agree exactly; 1e-6 leaves room for nothing but rounding.
constexpr double kTol = 1e-6;

TEST(EmbeddingGpu, MatchesCpuReferenceAndAccumulates) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int V = 10, D = 128, B = 257;
  std::vector<int32_t> ids(B);
  for (int b = 0; b < B; ++b) ids[b] = (b * 7 + b / 3) % V;  // every id repeats
  const auto table = test::random_vec(size_t(V) * D, 1), dy = test::random_vec(size_t(B) * D, 2);
  const auto d0 = test::random_vec(size_t(V) * D, 3);
  std::vector<float> y(size_t(B) * D), dtable = d0;
  embedding_forward(cpu, table.data(), ids.data(), y.data(), B, V, D);
  embedding_backward(cpu, dy.data(), ids.data(), dtable.data(), B, V, D);
  Tensor gt = test::upload(gpu, table), gdy = test::upload(gpu, dy), gdt = test::upload(gpu, d0);
  Tensor gids = test::upload_raw(gpu, ids, DType::I32);
  Tensor gy = Tensor::empty(gpu, {int64_t(y.size())});
  embedding_forward(gpu, gt.f32(), gids.as<int32_t>(), gy.f32(), B, V, D);
  embedding_backward(gpu, gdy.f32(), gids.as<int32_t>(), gdt.f32(), B, V, D);
  EXPECT_EQ(test::download(gpu, gy), y);
  EXPECT_LT(test::rel_error(test::download(gpu, gdt), dtable), kTol);
}

}  // namespace
}  // namespace dg
