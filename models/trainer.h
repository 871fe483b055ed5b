// The training loop shared by every model kind: run folder, device data, per-epoch shuffle, progress line,
// metrics.jsonl, per-epoch test evaluation, sample grids and checkpoints, resume.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "models/model.h"

namespace dg {

struct TrainOptions {
  std::string kind;                     // model kind (ignored with resume: read from the run)
  nlohmann::json overrides = nlohmann::json::object();  // architecture settings given on the command line
  // Training settings; negative / empty means "the kind's default" (or the run's, when resuming).
  int epochs = -1;
  int batch = -1;
  float lr = -1.0f;
  float beta1 = -1.0f, beta2 = -1.0f;  // negative: the kind's default (TrainDefaults)
  float weight_decay = 0.0f;
  uint64_t seed = 1;
  std::string device = "auto";
  std::string data_dir;                 // MNIST folder
  std::string out;                      // run folder
  bool resume = false;
  bool sync_debug = false;
  bool tf32 = false;
  int64_t profile_begin = -1, profile_end = -1;  // --profile-steps A:B
  int64_t train_images = 0;             // use only the first N training images (0 = all)
  int64_t test_images = 0;              // evaluate on the first N test images (0 = all)
  int keep_checkpoints = 2;
  int stop_after_epochs = 0;            // end this invocation after N epochs (0 = run to the end); --resume continues
  bool quiet = false;                   // no progress line (tests)
};

struct TrainResult {
  Metrics final_test;        // test metrics after the last epoch
  double seconds = 0;        // wall time of the training loop
  double images_per_s = 0;   // training throughput
  int64_t steps = 0;
  std::string run_dir;
};

TrainResult train_model(const TrainOptions& opt);

// Evaluates `model` on a dataset in batches; returns per-image means (accuracy as a fraction), plus psnr
// derived from mse where the model reports mse.
Metrics evaluate(Context& ctx, Model& model, DeviceDataset& data, int64_t limit = 0);

// A duration for progress lines: "42s", "3m41s", "1h05m".
std::string format_duration(double seconds);

}  // namespace dg
