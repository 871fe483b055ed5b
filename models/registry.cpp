// The model registry and the defaults shared by every kind.
#include <sstream>

#include "models/model.h"
#include "runtime/error.h"

namespace dg {

double metric(const Metrics& m, const std::string& name) {
  for (const auto& kv : m)
    if (kv.first == name) return kv.second;
  fail("internal: metric '", name, "' not reported");
}

Tensor Model::generate(Context&, int64_t, int, uint64_t, const int32_t*) {
  fail("model kind '", kind(), "' does not generate images");
}

Tensor Model::restyle(Context&, const Tensor&, const int32_t*, const int32_t*) {
  fail("model kind '", kind(), "' is not conditional on a label, so it cannot restyle digits");
}

Tensor Model::encode(Context&, const Tensor&, const Tensor&) {
  fail("model kind '", kind(), "' has no latent space to encode into");
}

Tensor Model::classify(Context&, const Tensor&) { fail("model kind '", kind(), "' is not a classifier"); }

void Model::set_sampling_temperature(float t) {
  DG_REQUIRE(t == 1.0f, "--temperature: model kind '", kind(), "' has no autoregressive prior to temper");
}

Tensor Model::reconstruct(Context&, const Tensor&, const int32_t*) {
  fail("model kind '", kind(), "' does not reconstruct its input");
}

void Model::set_sampling(const nlohmann::json& settings) {
  DG_REQUIRE(settings.empty(), "model kind '", kind(), "' has no diffusion sampler; --sampler, --sample-steps, --eta, "
             "--guidance, --no-ema and --no-cuda-graph are for ddpm checkpoints");
}

Tensor Model::trajectory(Context&, uint64_t, int64_t, int, int) {
  fail("model kind '", kind(), "' has no denoising trajectory (--trajectory is for ddpm checkpoints)");
}

Tensor Model::features(Context&, const Tensor&) {
  fail("model kind '", kind(), "' has no feature layer (the evaluator is a classifier checkpoint)");
}

void Model::importance_log_likelihood(Context&, const Batch&, int64_t, int, uint64_t, double*, double*) {
  fail("model kind '", kind(), "' has no encoder posterior to importance-sample a likelihood with");
}

const HostTensor* find_state(const std::vector<HostTensor>& tensors, const std::string& name) {
  for (const HostTensor& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

void load_state_tensor(Context& ctx, const std::vector<HostTensor>& tensors, const std::string& name, Tensor& dst,
                       const std::string& what) {
  const HostTensor* t = find_state(tensors, name);
  DG_REQUIRE(t, "checkpoint: missing state/", name, " (", what, ")");
  DG_REQUIRE(int64_t(t->data.size()) == dst.numel(), "checkpoint state/", name, ": expected ", dst.numel(),
             " values, got ", t->data.size());
  copy_to_device(ctx, dst.raw(), t->data.data(), t->data.size() * sizeof(float));
}

const std::vector<ModelKind>& model_registry() {
  static const std::vector<ModelKind> kinds = {autoencoder_kind(), vae_kind(), classifier_kind(),
                                                     cvae_kind(), gan_kind(), vqvae_kind(), ddpm_kind()};
  return kinds;
}

const ModelKind& find_model_kind(const std::string& name) {
  std::ostringstream known;
  for (const auto& k : model_registry()) {
    if (k.name == name) return k;
    known << (known.tellp() > 0 ? ", " : "") << k.name;
  }
  fail("unknown model kind '", name, "': expected one of ", known.str());
}

nlohmann::json merge_config(const ModelKind& kind, const nlohmann::json& overrides) {
  nlohmann::json c = kind.defaults;
  for (auto it = overrides.begin(); it != overrides.end(); ++it) {
    DG_REQUIRE(c.contains(it.key()), "model kind '", kind.name, "' has no setting '", it.key(), "'");
    c[it.key()] = it.value();
  }
  return c;
}

std::vector<int> int_list(const nlohmann::json& v, const std::string& key) {
  std::vector<int> out;
  if (v.is_number_integer()) return {v.get<int>()};
  if (v.is_array()) {
    for (const auto& e : v) out.push_back(e.get<int>());
    return out;
  }
  DG_REQUIRE(v.is_string(), "setting '", key, "': expected a list of integers like 512,256");
  std::stringstream ss(v.get<std::string>());
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      const int x = std::stoi(item, &used);
      DG_REQUIRE(used == item.size() && x > 0, "");
      out.push_back(x);
    } catch (...) {
      fail("setting '", key, "': expected positive integers separated by commas, got '", v.get<std::string>(), "'");
    }
  }
  DG_REQUIRE(!out.empty(), "setting '", key, "': empty list");
  return out;
}

}  // namespace dg
