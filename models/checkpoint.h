// Checkpoints: a model's parameters, optimizer moments and counters, extra state and training position in one
// safetensors file, with the model kind, format version, step and configs in __metadata__. Saved atomically.
// A run folder resolves to its latest valid checkpoint.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "models/model.h"

namespace dg {

constexpr const char* kCheckpointFormat = "digitgen-checkpoint";
constexpr int kCheckpointVersion = 1;

struct TrainPosition {
  int64_t step = 0;   // optimisation steps completed
  int64_t epoch = 0;  // epochs completed
};

struct CheckpointMeta {
  std::string kind;
  nlohmann::json config;  // the model's architecture config
  nlohmann::json train;   // the training settings (epochs, batch, lr, seed, ...)
  TrainPosition position;
};

// with_optimizer = false writes weights and extra state only (for published inference weights).
void save_checkpoint(Context& ctx, Model& model, const CheckpointMeta& meta, const std::string& path,
                     bool with_optimizer = true);

struct LoadedModel {
  CheckpointMeta meta;
  std::unique_ptr<Model> model;
  std::string path;  // the file actually read
};

// Loads a checkpoint file, or the latest valid checkpoint of a run folder. With need_optimizer, a file without
// optimizer state is an error (resuming needs it).
LoadedModel load_checkpoint(Context& ctx, const std::string& file_or_run, bool need_optimizer = false);
// The checkpoint file a run folder or file path stands for (a run folder: checkpoints/latest, else the newest
// step-N file that loads).
std::string resolve_checkpoint_path(const std::string& file_or_run);
// The step-N.safetensors files of a run's checkpoints folder, oldest first, with their step numbers.
std::vector<std::pair<int64_t, std::string>> list_step_checkpoints(const std::string& checkpoints_dir);

}  // namespace dg
