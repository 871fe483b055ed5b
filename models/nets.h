// Encoder and decoder stacks shared by the autoencoder family (AE, VAE and later the CVAE):
// MLP or convolutional, depth and widths from the config.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/layers.h"

namespace dg {

struct NetSpec {
  std::string arch;           // "mlp" or "conv"
  std::vector<int> hidden;    // fully connected widths, e.g. {512, 256}
  std::vector<int> channels;  // conv widths at 14x14 and 7x7, e.g. {32, 64} (conv only)
  int extra_inputs = 0;       // extra features concatenated to the flattened input (conditioning; MLP only)
};

// Appends layers mapping images [B, 1, 28, 28] to features [B, F]; returns F.
int build_encoder(Sequential& net, ParamStore& ps, const std::string& prefix, const NetSpec& spec);
// Appends layers mapping [B, in] to logits [B, 1, 28, 28] (hidden widths used in reverse order).
void build_decoder(Sequential& net, ParamStore& ps, const std::string& prefix, const NetSpec& spec, int in);

NetSpec net_spec_from_config(const nlohmann::json& c);

}  // namespace dg
