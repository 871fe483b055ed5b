// The VQ-VAE end to end on real MNIST (CPU): a short run (autoencoder, then prior) reconstructs test digits within
// an MSE bound with a healthy codebook (perplexity above a floor, restarts reported), `sample --temperature` draws
// digits from the prior, `reconstruct` writes input/reconstruction pairs with MSE and PSNR, and `--stage prior`
// trains a conditional prior alone on the run's autoencoder.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "models/checkpoint.h"
#include "models/trainer.h"
#include "runtime/idx.h"
#include "tests/e2e/e2e_util.h"

namespace fs = std::filesystem;

namespace dg {
namespace {

using e2e::run_cli;
using Cli = e2e::CliResult;

// One short run, shared by the checks below: 1 autoencoder epoch and 1 prior epoch on 6400 images in batches of 32
// (200 steps each; about 18 s on the loaded 2-core CPU).
struct Trained {
  std::unique_ptr<e2e::TempDir> dir;
  TrainResult result;
};
const Trained& trained(const std::string& data) {
  static Trained t;
  if (t.dir) return t;
  t.dir = std::make_unique<e2e::TempDir>("vqvae");
  TrainOptions o;
  o.kind = "vqvae";
  o.overrides = {{"channels", "16,32"}, {"codebook_size", 64}, {"dead_after", 10}, {"prior_epochs", 1},
                 {"prior_channels", 16}, {"prior_layers", 2}, {"prior_head", 32}};
  o.data_dir = data;
  o.out = (t.dir->path / "run").string();
  o.seed = 3;
  o.epochs = 1;
  o.lr = 2e-3f;
  o.batch = 32;
  o.train_images = 6400;
  o.test_images = 1000;
  t.result = e2e::run_training(o);
  return t;
}

void check_reconstruction_and_codebook(const Trained& t) {
  const Metrics& m = t.result.final_test;
  // Observed (seed 3): test mse 0.0112 (psnr 19.5 dB), prior_nll 140.9 nats per grid (uniform: 49 ln 64 = 203.8).
  // An autoencoder that outputs the mean digit has mse about 0.067. Bounds: mse 0.02, psnr 17 dB, prior_nll 190.
  EXPECT_LT(metric(m, "mse"), 0.02);
  EXPECT_GT(metric(m, "psnr"), 17.0);
  EXPECT_LT(metric(m, "prior_nll"), 190.0);
  // Codebook health from the last autoencoder line of metrics.jsonl.
  std::ifstream in(fs::path(t.result.run_dir) / "metrics.jsonl");
  nlohmann::json last;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.at("split") == "train" && j.contains("perplexity")) last = j;
  }
  ASSERT_FALSE(last.is_null()) << "no codebook metrics in metrics.jsonl";
  std::printf("[ e2e      ] last autoencoder window: perplexity %.2f, codes used %.1f, restarts total %.0f\n",
              last.at("perplexity").get<double>(), last.at("codes_used").get<double>(),
              last.at("restarts_total").get<double>());
  // Observed: perplexity 43.0 and 63.2 codes used per batch of 32 digits (of 64 codes) in the last window, 192
  // restarts in all. Floors: perplexity 20, codes used 40.
  EXPECT_GT(last.at("perplexity").get<double>(), 20.0);
  EXPECT_GT(last.at("codes_used").get<double>(), 40.0);
  EXPECT_GT(last.at("restarts_total").get<double>(), 0.0);
  EXPECT_TRUE(last.contains("restarts"));
}

void check_sample_and_reconstruct_commands(const Trained& t, const std::string& data) {
  const std::string run = t.result.run_dir, d = t.dir->path.string();
  Cli s = run_cli("sample --checkpoint " + run + " --n 20 --temperature 0.8 --out " + d + "/s.idx --device cpu");
  ASSERT_EQ(s.status, 0) << s.output;
  const IdxImages imgs = read_idx_images(d + "/s.idx");
  EXPECT_EQ(imgs.count, 20);
  int lit = 0;
  for (uint8_t px : imgs.pixels) lit += px > 128;
  EXPECT_GT(lit, 20 * 15) << "samples are blank";  // an MNIST digit lights about 100-150 of 784 pixels
  EXPECT_LT(lit, 20 * 400) << "samples are saturated";
  const Cli bad = run_cli("sample --checkpoint " + run + " --n 2 --temperature 0 --out " + d + "/x.png --device cpu");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("--temperature"), std::string::npos) << bad.output;
  const Cli r = run_cli("reconstruct --checkpoint " + run + " --input " + data + "/t10k-images-idx3-ubyte --out " + d +
                        "/pairs.idx --device cpu");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("psnr"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("perplexity"), std::string::npos) << r.output;
  EXPECT_EQ(read_idx_images(d + "/pairs.idx").count, 10000);
}

void check_stage_prior(const Trained& t, const std::string& data) {
  const std::string d = t.dir->path.string();
  const Cli c = run_cli("train --stage prior --checkpoint " + t.result.run_dir + " --conditional --prior-epochs 1 " +
                        "--train-images 1280 --test-images 200 --data " + data + " --out " + d + "/prior --device cpu");
  ASSERT_EQ(c.status, 0) << c.output;
  EXPECT_NE(c.output.find("prior_nll"), std::string::npos) << c.output;
  const Cli s = run_cli("sample --checkpoint " + d + "/prior --label 7 --n 4 --out " + d + "/sevens.png --device cpu");
  EXPECT_EQ(s.status, 0) << s.output;
  EXPECT_TRUE(fs::exists(d + "/sevens.png"));
  const Cli u = run_cli("sample --checkpoint " + t.result.run_dir + " --label 7 --n 4 --out " + d + "/x.png --device cpu");
  EXPECT_NE(u.status, 0);
  EXPECT_NE(u.output.find("not conditional"), std::string::npos) << u.output;
}

// One test, so that ctest (a process per test) trains the shared run once: about 13 s on a quiet 2-core CPU.
TEST(VqVaeE2E, TrainSampleReconstructAndTrainAConditionalPrior) {
  DG_REQUIRE_MNIST(data);
  const Trained& t = trained(data);
  {
    SCOPED_TRACE("reconstruction error and codebook health");
    check_reconstruction_and_codebook(t);
  }
  {
    SCOPED_TRACE("sample --temperature and reconstruct");
    check_sample_and_reconstruct_commands(t, data);
  }
  {
    SCOPED_TRACE("train --stage prior --conditional");
    check_stage_prior(t, data);
  }
}

// A run stopped after its autoencoder epoch and resumed (so the prior epoch runs in the second invocation) ends with
// the same weights, optimizer state, codebook state and test metrics as an uninterrupted one. About 4 s.
TEST(VqVaeE2E, ResumeAcrossTheStageBoundaryEqualsAnUninterruptedRun) {
  DG_REQUIRE_MNIST(data);
  e2e::TempDir dir("vqvae-resume");
  TrainOptions o;
  o.kind = "vqvae";
  o.overrides = {{"channels", "8,16"}, {"codebook_size", 16}, {"code_dim", 4}, {"dead_after", 3},
                 {"prior_epochs", 1}, {"prior_channels", 8}, {"prior_layers", 1}, {"prior_head", 16},
                 {"conditional", true}};
  o.data_dir = data;
  o.train_images = 640;
  o.test_images = 200;
  o.batch = 64;
  o.seed = 5;
  o.epochs = 1;
  const auto [a, b] = e2e::straight_and_resumed(o, dir.path);
  EXPECT_EQ(a.steps, 20);
  EXPECT_EQ(a.steps, b.steps);
  Context ctx(Device::CPU);
  LoadedModel la = load_checkpoint(ctx, a.run_dir, true), lb = load_checkpoint(ctx, b.run_dir, true);
  ASSERT_EQ(la.model->param_stores().size(), 3u);
  EXPECT_GT(la.model->param_stores()[2].second->adam_steps(), 0);  // the prior trained, in the resumed invocation for b
  e2e::expect_same_training_state(ctx, *la.model, *lb.model);
  EXPECT_EQ(a.final_test, b.final_test);
}

}  // namespace
}  // namespace dg
