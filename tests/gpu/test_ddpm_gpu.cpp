// The ddpm sampler on CUDA: the captured-and-replayed CUDA graph gives the same digits as the eager per-step loop,
// and both match the CPU sampler (same weights, same Philox noise).
#include "models/model.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

TEST(DdpmGpu, GraphReplayEqualsEagerLoopAndCpu) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const ModelKind& k = find_model_kind("ddpm");
  const nlohmann::json cfg = merge_config(k, {{"channels", "16,32,32"}, {"blocks", 1}, {"timesteps", 100}});
  auto mc = k.create(cpu, cfg, 5), mg = k.create(gpu, cfg, 5);
  const std::vector<int32_t> lab = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 4, 4};
  for (const char* sampler : {"ddpm", "ddim"}) {
    SCOPED_TRACE(sampler);
    const nlohmann::json s = {{"sampler", sampler}, {"sample_steps", 20}, {"eta", 0.5}, {"guidance", 2.0}};
    mc->set_sampling(s);
    mg->set_sampling(s);
    mg->set_sampling({{"cuda_graph", true}});
    const std::vector<float> graph = mg->generate(gpu, 3, 12, 21, lab.data()).to_host(gpu);
    mg->set_sampling({{"cuda_graph", false}});
    const std::vector<float> eager = mg->generate(gpu, 3, 12, 21, lab.data()).to_host(gpu);
    EXPECT_EQ(graph, eager);  // the same kernels in the same order
    const std::vector<float> ref = mc->generate(cpu, 3, 12, 21, lab.data()).to_host(cpu);
    EXPECT_LT(test::rel_error(graph, ref), 5e-3);
  }
}

}  // namespace
}  // namespace dg
