// Settings that shrink any registered kind to a few channels and units, by setting name, for tests that run every
// kind of the registry (checkpoint round trips, the evaluation harness): the defaults of some kinds are GPU sized.
#pragma once
#include <nlohmann/json.hpp>

#include "models/model.h"

namespace dg::test {

inline nlohmann::json small_config_overrides(const ModelKind& kind) {
  nlohmann::json small = nlohmann::json::object();
  if (kind.defaults.contains("hidden")) small["hidden"] = "16";
  if (kind.defaults.contains("channels")) small["channels"] = "4,8";
  if (kind.defaults.contains("latent")) small["latent"] = 3;
  if (kind.defaults.contains("blocks")) small["blocks"] = 1;
  if (kind.defaults.contains("attention")) small["attention"] = false;
  return small;
}

}  // namespace dg::test
