// The ddpm kind end to end on real MNIST (CPU): a short run of a tiny U-Net brings the noise-prediction loss well
// below that of predicting zero noise (1.0), writes a sample grid, and a resumed run (weights, Adam moments and the
// EMA) equals an uninterrupted one bit for bit; the CLI samples from the run with DDIM and guidance and writes a
// trajectory strip.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "models/checkpoint.h"
#include "tests/e2e/e2e_util.h"

namespace fs = std::filesystem;

namespace dg {
namespace {

TrainOptions tiny_ddpm_run(const std::string& data, const fs::path& out, int epochs) {
  TrainOptions o;
  o.kind = "ddpm";
  o.overrides = {{"channels", "8,16,16"}, {"blocks", 1}, {"timesteps", 100}};
  o.data_dir = data;
  o.out = out.string();
  o.seed = 4;
  o.epochs = epochs;
  o.batch = 32;
  o.lr = 2e-3f;
  o.train_images = 1536;
  o.test_images = 256;
  return o;
}

TEST(DdpmE2e, ShortRunLearnsToPredictNoiseAndResumesExactly) {
  DG_REQUIRE_MNIST(data);
  e2e::TempDir dir("ddpm");
  const TrainResult full = e2e::run_training(tiny_ddpm_run(data, dir.path / "full", 2));
  // Predicting zero noise scores 1.0; the tiny U-Net gets well below after 96 steps (measured: see
  // docs/diffusion.md).
  EXPECT_LT(metric(full.final_test, "loss"), 0.35);
  EXPECT_TRUE(fs::exists(dir.path / "full" / "samples" / "epoch-2.png"));

  TrainOptions first = tiny_ddpm_run(data, dir.path / "split", 2);
  first.stop_after_epochs = 1;
  e2e::run_training(first);
  TrainOptions rest = tiny_ddpm_run(data, dir.path / "split", 2);
  rest.resume = true;
  e2e::run_training(rest);
  Context ctx(Device::CPU);
  LoadedModel a = load_checkpoint(ctx, (dir.path / "full").string()), b = load_checkpoint(ctx, (dir.path / "split").string());
  EXPECT_EQ(a.model->param_stores()[0].second->params().to_host(ctx),
            b.model->param_stores()[0].second->params().to_host(ctx));
  EXPECT_EQ(a.model->extra_state(ctx)[0].data, b.model->extra_state(ctx)[0].data);  // the EMA

  // The command line: guided DDIM samples of one digit, and a trajectory strip.
  const fs::path png = dir.path / "fours.png", traj = dir.path / "traj.png";
  const std::string cmd = std::string(DIGITGEN_CLI) + " sample --device cpu --checkpoint " + (dir.path / "full").string() +
                          " --sampler ddim --sample-steps 10 --label 4 --guidance 2.0 --n 8 --out " + png.string() +
                          " --trajectory " + traj.string() + " > /dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  EXPECT_TRUE(fs::exists(png));
  EXPECT_TRUE(fs::exists(traj));
  const std::string bad = std::string(DIGITGEN_CLI) + " sample --device cpu --checkpoint " + (dir.path / "full").string() +
                          " --sample-steps 500 --n 2 --out " + png.string() + " 2> /dev/null";
  EXPECT_NE(std::system(bad.c_str()), 0) << "more DDIM steps than timesteps must be refused";
}

}  // namespace
}  // namespace dg
