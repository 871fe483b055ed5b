// Encoder and decoder stacks shared by the autoencoder family (AE, VAE, CVAE): MLP or convolutional, depth and
// widths from the config, optionally conditioned on extra inputs (the CVAE's one-hot label).
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
  // Extra features (conditioning, e.g. a one-hot label) joined to the input of every fully connected layer of
  // the encoder (after the convolutions for conv) and of the decoder, and to the encoder's output features, so
  // the condition reaches every depth rather than only the first layer. Both archs.
  int extra_inputs = 0;
};

// The conditioning layers of a network built with extra_inputs > 0; all take the same side input [B, extra].
struct Conditioning {
  std::vector<ConcatInput*> layers;  // owned by the network
  void set(const Tensor& c) const {
    for (ConcatInput* l : layers) l->set_input(c);
  }
};

// Appends layers mapping images [B, 1, 28, 28] to features [B, F]; returns F (including the side input when
// conditioned; `condition` then receives the layers whose side input must be set before each forward).
int build_encoder(Sequential& net, ParamStore& ps, const std::string& prefix, const NetSpec& spec,
                  Conditioning* condition = nullptr);
// Appends layers mapping [B, in] to logits [B, 1, 28, 28] (hidden widths used in reverse order); conditioning
// as for the encoder.
void build_decoder(Sequential& net, ParamStore& ps, const std::string& prefix, const NetSpec& spec, int in,
                   Conditioning* condition = nullptr);

NetSpec net_spec_from_config(const nlohmann::json& c);

}  // namespace dg
