// The vqvae kind as a whole on tiny settings: codebook health on a batch of identical digits (one code in use,
// perplexity 1, every other code restarted once it has been idle for dead_after steps), the prior stage training
// the prior only, generation and reconstruction shapes, and a checkpoint round trip that keeps the codebook state.
#include <filesystem>

#include "models/checkpoint.h"
#include "models/model.h"
#include "tests/test_util.h"

namespace dg {
namespace {

nlohmann::json tiny_config() {
  return {{"channels", "4,8"}, {"codebook_size", 12}, {"code_dim", 3}, {"dead_after", 2}, {"prior_channels", 4},
          {"prior_layers", 1}, {"prior_kernel", 3}, {"prior_head", 8}, {"prior_epochs", 1}};
}

Batch identical_batch(Context& ctx, int B) {
  const auto img = test::random_vec(28 * 28, 3, 0.0f, 1.0f);
  std::vector<float> x;
  for (int b = 0; b < B; ++b) x.insert(x.end(), img.begin(), img.end());
  Batch batch;
  batch.images = Tensor::from_host(ctx, {B, 1, 28, 28}, x.data());
  std::vector<int32_t> l(size_t(B), 3);
  batch.labels = Tensor::empty(ctx, {B}, DType::I32);
  copy_to_device(ctx, batch.labels.raw(), l.data(), l.size() * sizeof(int32_t));
  return batch;
}

// A batch of identical digits has at most 49 distinct encoder outputs (one per grid position), so with 64 codes at
// least 15 codes go unused every step; after dead_after steps they are re-seeded (the op-level test
// Vq.DeadCodeRestartOnIdenticalInputs checks the exact restarts when every vector is the same).
TEST(VqVae, IdenticalInputsRestartUnusedCodes) {
  Context ctx(Device::CPU);
  const ModelKind& kind = find_model_kind("vqvae");
  nlohmann::json over = tiny_config();
  over["codebook_size"] = 64;
  const nlohmann::json cfg = merge_config(kind, over);
  auto model = kind.create(ctx, cfg, 1);
  ASSERT_EQ(model->total_epochs(1), 2);  // one autoencoder epoch, then one prior epoch
  const Batch batch = identical_batch(ctx, 4);
  OptimConfig oc;
  std::vector<Metrics> steps;
  for (int s = 0; s < 6; ++s) {
    oc.step = s;
    steps.push_back(model->train_step(ctx, batch, StepInfo{true, 7, uint32_t(s)}, oc));
  }
  for (const Metrics& m : steps) {
    EXPECT_GE(metric(m, "codes_used"), 1.0);
    EXPECT_LE(metric(m, "codes_used"), 49.0);
    EXPECT_LE(metric(m, "perplexity"), 49.0 + 1e-9);
  }
  EXPECT_EQ(metric(steps[0], "restarts"), 0.0);  // the first step's seeding of every code is not a restart
  EXPECT_GE(metric(steps[1], "restarts"), 15.0);  // idle through steps 0 and 1
  EXPECT_GE(metric(steps[5], "restarts_total"), 15.0);
  // The prior stage trains the prior only: the reconstruction does not change while the prior's loss is reported.
  const Tensor before = model->reconstruct(ctx, batch.images, nullptr);
  oc.epoch = 1;
  const Metrics pm = model->train_step(ctx, batch, StepInfo{true, 7, 6}, oc);
  EXPECT_GT(metric(pm, "prior_nll"), 0.0);
  EXPECT_EQ(model->reconstruct(ctx, batch.images, nullptr).to_host(ctx), before.to_host(ctx));
  const Metrics stats = model->take_reconstruct_stats();
  EXPECT_LE(metric(stats, "codes_used"), 49.0);
  EXPECT_EQ(metric(stats, "codebook_size"), 64.0);
  // Generation: images in [0, 1], sample i depends only on (seed, i).
  const std::vector<float> g = model->generate(ctx, 0, 3, 5, nullptr).to_host(ctx);
  const std::vector<float> g1 = model->generate(ctx, 1, 2, 5, nullptr).to_host(ctx);
  ASSERT_EQ(g.size(), size_t(3 * 784));
  for (float v : g) ASSERT_TRUE(v >= 0.0f && v <= 1.0f);
  EXPECT_EQ(std::vector<float>(g.begin() + 784, g.end()), g1);
}

TEST(VqVae, CheckpointKeepsCodebookStateAndStagePriorLoadsTheAutoencoder) {
  Context ctx(Device::CPU);
  const ModelKind& kind = find_model_kind("vqvae");
  nlohmann::json over = tiny_config();
  over["codebook_update"] = "loss";
  auto model = kind.create(ctx, merge_config(kind, over), 1);
  const Batch batch = identical_batch(ctx, 4);
  OptimConfig oc;
  for (int s = 0; s < 3; ++s) {
    oc.step = s;
    model->train_step(ctx, batch, StepInfo{true, 7, uint32_t(s)}, oc);
  }
  const auto dir = std::filesystem::temp_directory_path() / ("digitgen-vqvae-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "m.safetensors").string();
  save_checkpoint(ctx, *model, CheckpointMeta{"vqvae", model->config(), {{"epochs", 1}}, {}}, path);
  LoadedModel lm = load_checkpoint(ctx, path);
  EXPECT_EQ(lm.model->reconstruct(ctx, batch.images, nullptr).to_host(ctx),
            model->reconstruct(ctx, batch.images, nullptr).to_host(ctx));
  const auto a = model->extra_state(ctx), b = lm.model->extra_state(ctx);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].data, b[i].data) << a[i].name;
  // --stage prior: a fresh model whose autoencoder and codebook come from the checkpoint; a mismatched codebook
  // size is an error naming the setting.
  nlohmann::json prior_cfg = lm.meta.config;
  prior_cfg["stage"] = "prior";
  prior_cfg["autoencoder"] = path;
  prior_cfg["conditional"] = true;
  auto staged = kind.create(ctx, merge_config(kind, prior_cfg), 99);
  EXPECT_EQ(staged->total_epochs(5), 1);  // only the prior's epochs
  EXPECT_TRUE(staged->conditional());
  EXPECT_EQ(staged->reconstruct(ctx, batch.images, nullptr).to_host(ctx),
            model->reconstruct(ctx, batch.images, nullptr).to_host(ctx));
  prior_cfg["codebook_size"] = 13;
  try {
    kind.create(ctx, merge_config(kind, prior_cfg), 99);
    ADD_FAILURE() << "a codebook size mismatch was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("codebook_size"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace dg
