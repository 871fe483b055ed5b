// Short CPU training runs on real MNIST through train_model: each kind reaches a loose quality bound, a resumed
// run equals an uninterrupted one bit for bit, the run folder holds what users expect, and generated samples do
// not depend on the batch they are generated in.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "models/checkpoint.h"
#include "models/trainer.h"
#include "runtime/image_io.h"
#include "tests/e2e/e2e_util.h"

namespace fs = std::filesystem;

namespace dg {
namespace {

using e2e::run_training;

// One short run per kind, trained once per process and shared by the tests that need a trained model.
struct SharedRun {
  std::unique_ptr<e2e::TempDir> dir;
  TrainResult result;
};
const SharedRun& trained(const std::string& kind, const std::string& data) {
  static std::map<std::string, SharedRun> runs;
  auto it = runs.find(kind);
  if (it != runs.end()) return it->second;
  SharedRun r;
  r.dir = std::make_unique<e2e::TempDir>("shared-" + kind);
  TrainOptions o;
  o.kind = kind;
  o.data_dir = data;
  o.out = (r.dir->path / "run").string();
  o.seed = 3;
  if (kind == "ae") {
    o.epochs = 2;
    o.train_images = 20000;
    o.test_images = 5000;
  } else if (kind == "vae") {
    o.epochs = 2;
    o.train_images = 20000;
    o.test_images = 5000;
  } else if (kind == "classifier") {
    // Narrower than the evaluator, and a higher learning rate: the kind's cosine schedule decays it to 0 within
    // this one short epoch.
    o.overrides = {{"channels", "16,32"}, {"hidden", "64"}};
    o.epochs = 1;
    o.train_images = 12800;
    o.test_images = 2000;
    o.lr = 3e-3f;
  }
  r.result = run_training(o);
  return runs.emplace(kind, std::move(r)).first->second;
}

TEST(TrainE2E, AutoencoderReconstructs) {
  DG_REQUIRE_MNIST(data);
  const TrainResult& r = trained("ae", data).result;
  // Observed: mse 0.0285 on 5000 test images after 2 epochs on 20000 images (312 steps; 0.023 after a full
  // epoch of 60000). Predicting the mean image scores about 0.067, a constant 0.5 about 0.2. Bound: 0.04.
  EXPECT_LT(metric(r.final_test, "mse"), 0.04);
}

TEST(TrainE2E, VaeLowersNelbo) {
  DG_REQUIRE_MNIST(data);
  const TrainResult& r = trained("vae", data).result;
  // Observed: nelbo 176.2 nats (kl 6.2) on 5000 test images after 2 epochs on 20000 images (312 steps, the
  // default cosine decay squeezed into them; 152.4 with a constant rate); 543 = 784 ln 2 for a decoder that knows
  // nothing. Bound: 195.
  EXPECT_LT(metric(r.final_test, "nelbo"), 195.0);
  EXPECT_GT(metric(r.final_test, "kl"), 2.0);  // the latent is used, not collapsed to the prior
}

TEST(TrainE2E, ClassifierLearns) {
  DG_REQUIRE_MNIST(data);
  const TrainResult& r = trained("classifier", data).result;
  // Observed: accuracy 0.8975 on 2000 test images after 1 epoch on 12800 images (100 steps); chance is 0.1.
  // Bound: 0.8.
  EXPECT_GT(metric(r.final_test, "accuracy"), 0.8);
}

TEST(TrainE2E, RunFolderHoldsConfigCheckpointsMetricsAndSamples) {
  DG_REQUIRE_MNIST(data);
  const SharedRun& sr = trained("vae", data);
  const fs::path run = sr.result.run_dir;
  ASSERT_TRUE(fs::exists(run / "config.json"));
  {
    std::ifstream in(run / "config.json");
    const nlohmann::json c = nlohmann::json::parse(in);
    EXPECT_EQ(c.at("model"), "vae");
    EXPECT_EQ(c.at("train").at("epochs"), 2);
    EXPECT_TRUE(c.at("config").contains("latent"));
  }
  std::string latest;
  {
    std::ifstream in(run / "checkpoints" / "latest");
    ASSERT_TRUE(in) << "checkpoints/latest is missing";
    std::getline(in, latest);
  }
  const std::string expect = "step-" + std::to_string(sr.result.steps) + ".safetensors";
  EXPECT_EQ(latest, expect);
  EXPECT_TRUE(fs::exists(run / "checkpoints" / expect));
  // One checkpoint per epoch, the default keeps both.
  EXPECT_TRUE(fs::exists(run / "checkpoints" / ("step-" + std::to_string(sr.result.steps / 2) + ".safetensors")));

  std::ifstream metrics(run / "metrics.jsonl");
  ASSERT_TRUE(metrics);
  std::string line;
  int train_lines = 0, test_lines = 0;
  while (std::getline(metrics, line)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    for (const char* key : {"step", "epoch", "split", "images_per_s"}) EXPECT_TRUE(j.contains(key)) << key << " in " << line;
    EXPECT_GT(j.value("images_per_s", 0.0), 0.0) << line;
    if (j.value("split", "") == "train") {
      ++train_lines;
      EXPECT_TRUE(j.contains("loss")) << line;
    }
    if (j.value("split", "") == "test") {
      ++test_lines;
      EXPECT_TRUE(j.contains("nelbo")) << line;
    }
  }
  EXPECT_GE(train_lines, 2);
  EXPECT_EQ(test_lines, 2);
  for (int e : {1, 2}) {
    const fs::path png = run / "samples" / ("epoch-" + std::to_string(e) + ".png");
    ASSERT_TRUE(fs::exists(png)) << png;
    const GrayImage g = read_png_gray(png.string());
    EXPECT_GE(g.rows, 8 * 28);
    EXPECT_GE(g.cols, 8 * 28);
  }
}

// Generation depends on (seed, sample index) only: sample i is the same digit in a batch of 1 or of 64.
void expect_generate_batch_independent(const std::string& kind, const std::string& data) {
  const SharedRun& sr = trained(kind, data);
  Context ctx(Device::CPU);
  LoadedModel lm = load_checkpoint(ctx, sr.result.run_dir);
  const int n = 64;
  const uint64_t seed = 11;
  const std::vector<float> batch = lm.model->generate(ctx, 0, n, seed, nullptr).to_host(ctx);
  for (int i : {0, 1, 17, 63}) {
    const std::vector<float> one = lm.model->generate(ctx, i, 1, seed, nullptr).to_host(ctx);
    ASSERT_EQ(one.size(), size_t(784));
    double max_diff = 0;
    for (size_t p = 0; p < 784; ++p) max_diff = std::max(max_diff, double(std::fabs(one[p] - batch[size_t(i) * 784 + p])));
    // Same latent noise; only the GEMM's summation order may differ between batch sizes.
    EXPECT_LT(max_diff, 1e-5) << kind << " sample " << i;
  }
  // A different seed gives different digits.
  const std::vector<float> other = lm.model->generate(ctx, 0, 1, seed + 1, nullptr).to_host(ctx);
  EXPECT_NE(std::vector<float>(batch.begin(), batch.begin() + 784), other);
}

TEST(TrainE2E, AutoencoderSampleDoesNotDependOnBatch) {
  DG_REQUIRE_MNIST(data);
  expect_generate_batch_independent("ae", data);
}

TEST(TrainE2E, VaeSampleDoesNotDependOnBatch) {
  DG_REQUIRE_MNIST(data);
  expect_generate_batch_independent("vae", data);
}

// Training for 2 epochs straight and training 1 epoch then resuming to 2 give the same parameters, bit for bit.
TEST(TrainE2E, ResumedVaeEqualsUninterruptedRun) {
  DG_REQUIRE_MNIST(data);
  e2e::TempDir dir("resume");
  TrainOptions o;
  o.kind = "vae";
  o.overrides = {{"hidden", "64"}, {"latent", 8}, {"kl_warmup", 1.5}, {"binarize", true}};  // warm-up and binarization depend on the position
  o.data_dir = data;
  o.train_images = 2000;
  o.test_images = 500;
  o.batch = 100;
  o.seed = 21;

  // A 2-epoch run, straight and stopped after its first epoch (the learning-rate schedule spans both) and resumed.
  o.epochs = 2;
  const auto [a, b] = e2e::straight_and_resumed(o, dir.path);
  EXPECT_EQ(a.steps, b.steps);

  Context ctx(Device::CPU);
  LoadedModel la = load_checkpoint(ctx, a.run_dir, true), lb = load_checkpoint(ctx, b.run_dir, true);
  EXPECT_EQ(la.meta.position.step, lb.meta.position.step);
  EXPECT_EQ(la.meta.position.epoch, 2);
  EXPECT_EQ(lb.meta.position.epoch, 2);
  auto sa = la.model->param_stores(), sb = lb.model->param_stores();
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_EQ(sa[i].second->params().to_host(ctx), sb[i].second->params().to_host(ctx)) << "parameters differ";
    EXPECT_EQ(sa[i].second->adam_m().to_host(ctx), sb[i].second->adam_m().to_host(ctx)) << "adam_m differs";
    EXPECT_EQ(sa[i].second->adam_v().to_host(ctx), sb[i].second->adam_v().to_host(ctx)) << "adam_v differs";
    EXPECT_EQ(sa[i].second->adam_steps(), sb[i].second->adam_steps());
  }
  EXPECT_EQ(a.final_test, b.final_test);
}

}  // namespace
}  // namespace dg
