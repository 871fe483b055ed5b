// The vector-quantization and layout ops on CUDA against their CPU references: nearest codes (GEMM + norms +
// argmin), the straight-through backward, code sums, the EMA update, dead-code restarts, channels last/first.
#include "kernels/gemm.h"
#include "kernels/layout.h"
#include "kernels/rowwise_dot.h"
#include "kernels/vq.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

std::vector<int32_t> download_i32(Context& ctx, const Tensor& t) {
  std::vector<int32_t> h(size_t(t.numel()));
  copy_to_host(ctx, h.data(), t.raw(), h.size() * sizeof(int32_t));
  return h;
}

TEST(VqGpu, MatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int N = 6272, D = 16, K = 128;
  const auto ze = test::random_vec(size_t(N) * D, 1), cb = test::random_vec(size_t(K) * D, 2);
  // Nearest codes from the same distances (the GEMM itself is tested elsewhere): identical choices.
  std::vector<float> dots(size_t(N) * K), norms(K), mind(N);
  gemm(cpu, Transpose::No, Transpose::Yes, N, K, D, 1.0f, ze.data(), cb.data(), 0.0f, dots.data());
  rowwise_dot_forward(cpu, cb.data(), cb.data(), norms.data(), K, D);
  std::vector<int32_t> idx(N);
  vq_nearest(cpu, dots.data(), norms.data(), idx.data(), mind.data(), N, K);
  Tensor gdots = test::upload(gpu, dots), gnorms = test::upload(gpu, norms), gze = test::upload(gpu, ze);
  Tensor gidx = Tensor::empty(gpu, {N}, DType::I32), gmind = Tensor::empty(gpu, {N});
  vq_nearest(gpu, gdots.f32(), gnorms.f32(), gidx.as<int32_t>(), gmind.f32(), N, K);
  EXPECT_EQ(download_i32(gpu, gidx), idx);
  EXPECT_EQ(test::download(gpu, gmind), mind);
  // Straight-through backward.
  const auto dzq = test::random_vec(size_t(N) * D, 3), zq = test::random_vec(size_t(N) * D, 4);
  std::vector<float> dze(dzq.size());
  vq_straight_through_backward(cpu, dzq.data(), ze.data(), zq.data(), dze.data(), int64_t(dze.size()), 0.3f);
  Tensor gdzq = test::upload(gpu, dzq), gzq = test::upload(gpu, zq), gdze = Tensor::empty(gpu, {N, D});
  vq_straight_through_backward(gpu, gdzq.f32(), gze.f32(), gzq.f32(), gdze.f32(), gdze.numel(), 0.3f);
  EXPECT_LT(test::rel_error(test::download(gpu, gdze), dze), 1e-6);
  // Code sums (same order of additions: equal bit for bit) and the EMA update.
  std::vector<float> counts(K), sums(size_t(K) * D);
  vq_code_sums(cpu, idx.data(), ze.data(), counts.data(), sums.data(), N, D, K);
  Tensor gcounts = Tensor::empty(gpu, {K}), gsums = Tensor::empty(gpu, {K, D});
  vq_code_sums(gpu, gidx.as<int32_t>(), gze.f32(), gcounts.f32(), gsums.f32(), N, D, K);
  EXPECT_EQ(test::download(gpu, gcounts), counts);
  EXPECT_EQ(test::download(gpu, gsums), sums);
  auto ema_count = test::random_vec(K, 5, 0.0f, 5.0f), ema_sum = test::random_vec(size_t(K) * D, 6);
  std::vector<float> book = cb;
  Tensor gec = test::upload(gpu, ema_count), ges = test::upload(gpu, ema_sum), gbook = test::upload(gpu, cb);
  vq_ema_update(cpu, counts.data(), sums.data(), ema_count.data(), ema_sum.data(), book.data(), K, D, 0.99f, 1e-5f);
  vq_ema_update(gpu, gcounts.f32(), gsums.f32(), gec.f32(), ges.f32(), gbook.f32(), K, D, 0.99f, 1e-5f);
  EXPECT_LT(test::rel_error(test::download(gpu, gec), ema_count), 1e-6);
  EXPECT_LT(test::rel_error(test::download(gpu, gbook), book), 1e-5);
  // Restarts: idle counters near the threshold so that some codes restart.
  std::vector<float> idle(K), restarted(K);
  for (int k = 0; k < K; ++k) idle[size_t(k)] = float(k % 5);
  std::vector<float> zero_counts(K, 0.0f);
  for (int k = 0; k < K; k += 3) zero_counts[size_t(k)] = 1.0f;
  Tensor gidle = test::upload(gpu, idle), gzc = test::upload(gpu, zero_counts), grest = Tensor::empty(gpu, {K});
  vq_dead_code_restart(cpu, zero_counts.data(), idle.data(), ze.data(), book.data(), ema_count.data(), ema_sum.data(),
                       restarted.data(), N, D, K, 4, 77, 9);
  vq_dead_code_restart(gpu, gzc.f32(), gidle.f32(), gze.f32(), gbook.f32(), gec.f32(), ges.f32(), grest.f32(), N, D, K, 4,
                       77, 9);
  EXPECT_EQ(test::download(gpu, grest), restarted);
  EXPECT_EQ(test::download(gpu, gidle), idle);
  EXPECT_LT(test::rel_error(test::download(gpu, gbook), book), 1e-5);
}

TEST(LayoutGpu, MatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const int B = 9, C = 16, S = 49;
  const auto x = test::random_vec(size_t(B) * C * S, 7);
  std::vector<float> rows(x.size()), back(x.size());
  channels_last(cpu, x.data(), rows.data(), B, C, S);
  channels_first(cpu, rows.data(), back.data(), B, C, S);
  Tensor gx = test::upload(gpu, x), gr = Tensor::empty(gpu, {B * S, C}), gb = Tensor::empty(gpu, {B, C, S});
  channels_last(gpu, gx.f32(), gr.f32(), B, C, S);
  channels_first(gpu, gr.f32(), gb.f32(), B, C, S);
  EXPECT_EQ(test::download(gpu, gr), rows);
  EXPECT_EQ(test::download(gpu, gb), back);
}

}  // namespace
}  // namespace dg
