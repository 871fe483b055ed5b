// The ddpm kind end to end on real MNIST (CPU): a short run of a tiny U-Net brings the noise-prediction loss well
// below that of predicting zero noise (1.0) and writes a sample grid; the CLI samples from the run with DDIM and
// guidance, writes a trajectory strip, refuses more DDIM steps than the model has timesteps, and evaluates with
// sampler flags (recorded in the result).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

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

TEST(DdpmE2e, ShortRunLearnsToPredictNoiseAndSamplesFromTheCli) {
  DG_REQUIRE_MNIST(data);
  e2e::TempDir dir("ddpm");
  const TrainResult full = e2e::run_training(tiny_ddpm_run(data, dir.path / "full", 1));
  // Predicting zero noise scores 1.0 (an untrained U-Net about 1.1); 48 steps of the tiny U-Net reach about 0.23
  // (docs/diffusion.md). Resuming is the trainer's, tested with the other kinds; the EMA's part of the checkpoint is
  // tests/cpu/test_ddpm.cpp's EmaIsSavedAndRestored.
  EXPECT_LT(metric(full.final_test, "loss"), 0.35);
  EXPECT_TRUE(fs::exists(dir.path / "full" / "samples" / "epoch-1.png"));

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

  // `digitgen eval` takes the same sampler flags and records them with the result.
  const fs::path json = dir.path / "eval.json";
  const e2e::CliResult ev = e2e::run_cli("eval --device cpu --checkpoint " + (dir.path / "full").string() +
                                         " --n 20 --metrics sampling,classes --sample-steps 5 --guidance 1.5 --out " +
                                         json.string());
  ASSERT_EQ(ev.status, 0) << ev.output;
  std::ifstream in(json);
  const nlohmann::json e = nlohmann::json::parse(in);
  EXPECT_EQ(e.at("sampling_settings").at("guidance").get<double>(), 1.5);
  EXPECT_EQ(e.at("sampling_settings").at("sample_steps").get<int>(), 5);
  EXPECT_EQ(e.at("metrics").at("sampling").at("n").get<int>(), 20);
}

}  // namespace
}  // namespace dg
