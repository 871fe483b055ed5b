// Encoder/decoder builders for the autoencoder family.
#include "models/nets.h"

#include <nlohmann/json.hpp>

#include "models/model.h"
#include "runtime/error.h"

namespace dg {

NetSpec net_spec_from_config(const nlohmann::json& c) {
  NetSpec s;
  s.arch = c.at("arch").get<std::string>();
  DG_REQUIRE(s.arch == "mlp" || s.arch == "conv", "--arch: expected mlp or conv, got '", s.arch, "'");
  s.hidden = int_list(c.at("hidden"), "hidden");
  s.channels = int_list(c.at("channels"), "channels");
  DG_REQUIRE(s.arch != "conv" || s.channels.size() == 2, "--channels: the conv arch takes two widths (14x14 and 7x7), got ",
             s.channels.size());
  return s;
}

namespace {

// Joins the side input to the features before a linear layer when the spec asks for conditioning; returns the
// widened feature count.
int condition_at(Sequential& net, const std::string& name, const NetSpec& spec, Conditioning* condition, int features) {
  if (spec.extra_inputs <= 0) return features;
  DG_REQUIRE(condition != nullptr, "internal: ", name, " is conditioned but its builder got no Conditioning");
  condition->layers.push_back(net.add<ConcatInput>(name, spec.extra_inputs));
  return features + spec.extra_inputs;
}

}  // namespace

int build_encoder(Sequential& net, ParamStore& ps, const std::string& prefix, const NetSpec& spec,
                  Conditioning* condition) {
  int features;
  if (spec.arch == "conv") {
    const int c1 = spec.channels[0], c2 = spec.channels[1];
    net.add<Conv2d>(ps, prefix + ".conv0", 1, c1, 4, 2, 1);  // 28 -> 14
    net.add<ActivationLayer>(prefix + ".act_conv0", Activation::ReLU);
    net.add<Conv2d>(ps, prefix + ".conv1", c1, c2, 4, 2, 1);  // 14 -> 7
    net.add<ActivationLayer>(prefix + ".act_conv1", Activation::ReLU);
    features = c2 * 7 * 7;
    net.add<Reshape>(prefix + ".flatten", Shape{features});
  } else {
    features = 28 * 28;
    net.add<Reshape>(prefix + ".flatten", Shape{features});
  }
  for (size_t i = 0; i < spec.hidden.size(); ++i) {
    const std::string n = std::to_string(i);
    features = condition_at(net, prefix + ".condition_fc" + n, spec, condition, features);
    net.add<Linear>(ps, prefix + ".fc" + n, features, spec.hidden[i]);
    net.add<ActivationLayer>(prefix + ".act_fc" + n, Activation::ReLU);
    features = spec.hidden[i];
  }
  // The heads that follow (e.g. the VAE's mu and logvar) see the side input too.
  return condition_at(net, prefix + ".condition_out", spec, condition, features);
}

void build_decoder(Sequential& net, ParamStore& ps, const std::string& prefix, const NetSpec& spec, int in,
                   Conditioning* condition) {
  int features = in;
  for (size_t j = spec.hidden.size(); j-- > 0;) {
    const std::string n = std::to_string(spec.hidden.size() - 1 - j);
    features = condition_at(net, prefix + ".condition_fc" + n, spec, condition, features);
    net.add<Linear>(ps, prefix + ".fc" + n, features, spec.hidden[j]);
    net.add<ActivationLayer>(prefix + ".act_fc" + n, Activation::ReLU);
    features = spec.hidden[j];
  }
  if (spec.arch == "conv") {
    const int c1 = spec.channels[0], c2 = spec.channels[1];
    features = condition_at(net, prefix + ".condition_grid", spec, condition, features);
    net.add<Linear>(ps, prefix + ".fc_grid", features, c2 * 7 * 7);
    net.add<ActivationLayer>(prefix + ".act_grid", Activation::ReLU);
    net.add<Reshape>(prefix + ".unflatten", Shape{c2, 7, 7});
    net.add<ConvTranspose2d>(ps, prefix + ".deconv0", c2, c1, 4, 2, 1);  // 7 -> 14
    net.add<ActivationLayer>(prefix + ".act_deconv0", Activation::ReLU);
    net.add<ConvTranspose2d>(ps, prefix + ".deconv1", c1, 1, 4, 2, 1);  // 14 -> 28, logits
  } else {
    features = condition_at(net, prefix + ".condition_out", spec, condition, features);
    net.add<Linear>(ps, prefix + ".fc_out", features, 28 * 28);
    net.add<Reshape>(prefix + ".unflatten", Shape{1, 28, 28});
  }
}

}  // namespace dg
