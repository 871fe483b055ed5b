// Checkpoint save/load on top of the safetensors reader and writer.
#include "models/checkpoint.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "runtime/error.h"
#include "runtime/safetensors.h"

namespace fs = std::filesystem;

namespace dg {
namespace {

StTensor f32_tensor(const std::string& name, const Shape& shape, const float* data) {
  StTensor t;
  t.name = name;
  t.dtype = "F32";
  t.shape = shape;
  t.bytes.resize(size_t(numel(shape)) * 4);
  std::memcpy(t.bytes.data(), data, t.bytes.size());
  return t;
}

StTensor i64_tensor(const std::string& name, int64_t v) {
  StTensor t;
  t.name = name;
  t.dtype = "I64";
  t.shape = {1};
  t.bytes.resize(8);
  std::memcpy(t.bytes.data(), &v, 8);
  return t;
}

int64_t get_i64(const StFile& f, const std::string& name, const std::string& path) {
  auto it = f.tensors.find(name);
  DG_REQUIRE(it != f.tensors.end(), path, ": tensor '", name, "' is missing");
  DG_REQUIRE(it->second.dtype == "I64" && numel(it->second.shape) == 1, path, ": tensor '", name,
             "': expected I64 [1]");
  int64_t v;
  std::memcpy(&v, f.data.data() + it->second.begin, 8);
  return v;
}

std::string meta_at(const StFile& f, const std::string& key, const std::string& path) {
  auto it = f.metadata.find(key);
  DG_REQUIRE(it != f.metadata.end(), path, ": __metadata__ has no '", key, "' entry");
  return it->second;
}

}  // namespace

void save_checkpoint(Context& ctx, Model& model, const CheckpointMeta& meta, const std::string& path,
                     bool with_optimizer) {
  std::vector<StTensor> out;
  for (auto& [prefix, ps] : model.param_stores()) {
    const std::vector<float> p = ps->params().to_host(ctx);
    std::vector<float> m, v;
    if (with_optimizer) {
      m = ps->adam_m().to_host(ctx);
      v = ps->adam_v().to_host(ctx);
    }
    for (const ParamSpec& s : ps->specs()) {
      out.push_back(f32_tensor(prefix + s.name, s.shape, p.data() + s.offset));
      if (with_optimizer) {
        out.push_back(f32_tensor("optim/adam_m/" + prefix + s.name, s.shape, m.data() + s.offset));
        out.push_back(f32_tensor("optim/adam_v/" + prefix + s.name, s.shape, v.data() + s.offset));
      }
    }
    if (with_optimizer) out.push_back(i64_tensor("optim/" + prefix + "steps", ps->adam_steps()));
  }
  for (const HostTensor& t : model.extra_state(ctx)) out.push_back(f32_tensor("state/" + t.name, t.shape, t.data.data()));
  out.push_back(i64_tensor("train/step", meta.position.step));
  out.push_back(i64_tensor("train/epoch", meta.position.epoch));
  std::map<std::string, std::string> md = {
      {"format", kCheckpointFormat},
      {"format_version", std::to_string(kCheckpointVersion)},
      {"model_kind", meta.kind},
      {"step", std::to_string(meta.position.step)},
      {"epoch", std::to_string(meta.position.epoch)},
      {"config", meta.config.dump()},
      {"train_config", meta.train.dump()},
      {"optimizer", with_optimizer ? "adam" : "none"},
  };
  save_safetensors(path, out, md);
}

static LoadedModel load_file(Context& ctx, const std::string& path, bool need_optimizer) {
  const StFile f = load_safetensors(path);
  DG_REQUIRE(meta_at(f, "format", path) == kCheckpointFormat, path, ": __metadata__.format: expected '",
             kCheckpointFormat, "'");
  const std::string version = meta_at(f, "format_version", path);
  DG_REQUIRE(version == std::to_string(kCheckpointVersion), path, ": __metadata__.format_version: expected ",
             kCheckpointVersion, ", got '", version, "'");
  LoadedModel lm;
  lm.path = path;
  lm.meta.kind = meta_at(f, "model_kind", path);
  try {
    lm.meta.config = nlohmann::json::parse(meta_at(f, "config", path));
    lm.meta.train = nlohmann::json::parse(meta_at(f, "train_config", path));
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": __metadata__.config is not valid JSON: ", e.what());
  }
  const ModelKind& kind = find_model_kind(lm.meta.kind);
  try {
    lm.model = kind.create(ctx, merge_config(kind, lm.meta.config), 0);
  } catch (const Error& e) {
    fail(path, ": __metadata__.config: ", e.what());
  }
  const bool has_optimizer = meta_at(f, "optimizer", path) == "adam";
  DG_REQUIRE(has_optimizer || !need_optimizer, path, ": holds no optimizer state (weights only), so training cannot resume from it");
  for (auto& [prefix, ps] : lm.model->param_stores()) {
    std::vector<float> p(size_t(ps->count()), 0.0f), m, v;
    if (has_optimizer) {
      m.assign(p.size(), 0.0f);
      v.assign(p.size(), 0.0f);
    }
    for (const ParamSpec& s : ps->specs()) {
      const std::vector<float> w = get_f32(f, prefix + s.name, s.shape);
      std::copy(w.begin(), w.end(), p.begin() + s.offset);
      if (has_optimizer) {
        const std::vector<float> mm = get_f32(f, "optim/adam_m/" + prefix + s.name, s.shape);
        const std::vector<float> vv = get_f32(f, "optim/adam_v/" + prefix + s.name, s.shape);
        std::copy(mm.begin(), mm.end(), m.begin() + s.offset);
        std::copy(vv.begin(), vv.end(), v.begin() + s.offset);
      }
    }
    copy_to_device(ctx, ps->params().raw(), p.data(), p.size() * 4);
    if (has_optimizer) {
      copy_to_device(ctx, ps->adam_m().raw(), m.data(), m.size() * 4);
      copy_to_device(ctx, ps->adam_v().raw(), v.data(), v.size() * 4);
      ps->set_adam_steps(get_i64(f, "optim/" + prefix + "steps", path));
    }
  }
  std::vector<HostTensor> extra;
  for (const auto& [name, info] : f.tensors) {
    if (name.rfind("state/", 0) != 0) continue;
    extra.push_back({name.substr(6), info.shape, get_f32(f, name, info.shape)});
  }
  lm.model->load_extra_state(ctx, extra);
  lm.meta.position.step = get_i64(f, "train/step", path);
  lm.meta.position.epoch = get_i64(f, "train/epoch", path);
  return lm;
}

std::vector<std::pair<int64_t, std::string>> list_step_checkpoints(const std::string& checkpoints_dir) {
  std::vector<std::pair<int64_t, std::string>> found;
  if (!fs::is_directory(checkpoints_dir)) return found;
  for (const auto& e : fs::directory_iterator(checkpoints_dir)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("step-", 0) == 0 && e.path().extension() == ".safetensors")
      found.push_back({std::atoll(n.substr(5).c_str()), e.path().string()});
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::string resolve_checkpoint_path(const std::string& file_or_run) {
  DG_REQUIRE(fs::exists(file_or_run), "--checkpoint ", file_or_run, ": no such file or folder");
  if (!fs::is_directory(file_or_run)) return file_or_run;
  const fs::path dir = fs::path(file_or_run) / "checkpoints";
  std::ifstream latest(dir / "latest");
  std::string name;
  if (latest && std::getline(latest, name) && !name.empty() && fs::exists(dir / name)) return (dir / name).string();
  // No usable name file: the newest step-N file.
  const auto found = list_step_checkpoints(dir.string());
  DG_REQUIRE(!found.empty(), file_or_run, ": no checkpoints under ", dir.string());
  return found.back().second;
}

LoadedModel load_checkpoint(Context& ctx, const std::string& file_or_run, bool need_optimizer) {
  const std::string first = resolve_checkpoint_path(file_or_run);
  if (!fs::is_directory(file_or_run)) return load_file(ctx, first, need_optimizer);
  // A run folder: the latest checkpoint, falling back to older ones that load (a damaged newest file loses one
  // epoch, not the run).
  std::string first_error;
  try {
    return load_file(ctx, first, need_optimizer);
  } catch (const Error& e) {
    first_error = e.what();
  }
  const auto candidates = list_step_checkpoints((fs::path(file_or_run) / "checkpoints").string());
  for (auto it = candidates.rbegin(); it != candidates.rend(); ++it) {
    if (it->second == first) continue;
    try {
      LoadedModel lm = load_file(ctx, it->second, need_optimizer);
      std::fprintf(stderr, "warning: %s\n  using the older checkpoint %s\n", first_error.c_str(), it->second.c_str());
      return lm;
    } catch (const Error&) {
    }
  }
  fail(first_error);
}

}  // namespace dg
