// The evaluator classifier: a small CNN (two 3x3 conv blocks with max-pooling, a dropout-regularised hidden layer,
// training images randomly shifted by up to 2 pixels) that later issues use to judge generated digits. Its trained weights are committed under models/weights/.
#include "kernels/augment.h"
#include "kernels/loss.h"
#include "models/model.h"
#include "runtime/error.h"

namespace dg {
namespace {

class Classifier : public Model {
 public:
  Classifier(Context& ctx, const nlohmann::json& c, uint64_t seed) : config_(c) {
    const std::vector<int> ch = int_list(c.at("channels"), "channels");
    const std::vector<int> hidden = int_list(c.at("hidden"), "hidden");
    const float dropout = c.at("dropout").get<float>();
    shift_ = c.at("augment_shift").get<int>();
    DG_REQUIRE(shift_ >= 0 && shift_ <= 8, "--augment-shift: expected 0..8 pixels, got ", shift_);
    DG_REQUIRE(ch.size() == 2, "--channels: the classifier takes two widths, got ", ch.size());
    DG_REQUIRE(dropout >= 0.0f && dropout < 1.0f, "--dropout: expected a value in [0, 1), got ", dropout);
    net_.add<Conv2d>(ps_, "classifier/conv0", 1, ch[0], 3, 1, 1);
    net_.add<ActivationLayer>("classifier/act0", Activation::ReLU);
    net_.add<MaxPool2d>("classifier/pool0", 2, 2);  // 28 -> 14
    net_.add<Conv2d>(ps_, "classifier/conv1", ch[0], ch[1], 3, 1, 1);
    net_.add<ActivationLayer>("classifier/act1", Activation::ReLU);
    net_.add<MaxPool2d>("classifier/pool1", 2, 2);  // 14 -> 7
    int features = ch[1] * 7 * 7;
    net_.add<Reshape>("classifier/flatten", Shape{features});
    for (size_t i = 0; i < hidden.size(); ++i) {
      net_.add<Linear>(ps_, "classifier/fc" + std::to_string(i), features, hidden[i]);
      net_.add<ActivationLayer>("classifier/act_fc" + std::to_string(i), Activation::ReLU);
      net_.add<Dropout>("classifier/dropout" + std::to_string(i), dropout, uint32_t(i));
      features = hidden[i];
    }
    // The logits layer is its own network, so features() can stop before it (same parameters, same order).
    head_.add<Linear>(ps_, "classifier/logits", features, 10);
    ps_.finalize(ctx, seed);
  }

  std::string kind() const override { return "classifier"; }
  nlohmann::json config() const override { return config_; }
  std::vector<std::pair<std::string, ParamStore*>> param_stores() override { return {{"", &ps_}}; }
  std::string headline_metric() const override { return "accuracy"; }
  bool can_classify() const override { return true; }

  Metrics train_step(Context& ctx, const Batch& batch, const StepInfo& si, const OptimConfig& opt) override {
    const int B = batch.size();
    ps_.zero_grad(ctx);
    Tensor x = batch.images;
    if (shift_ > 0) {
      x = Tensor::empty(ctx, batch.images.shape());
      random_shift(ctx, batch.images.f32(), x.f32(), B, 28, 28, shift_, si.seed, uint64_t(si.step) * uint64_t(B), 0);
    }
    Tensor logits = head_.forward(ctx, net_.forward(ctx, x, si), si);
    Tensor out = Tensor::empty(ctx, {2});
    Tensor dlogits = Tensor::empty(ctx, logits.shape());
    softmax_xent_loss(ctx, logits.f32(), batch.labels.as<int32_t>(), out.f32(), dlogits.f32(), out.f32() + 1, B, 10,
                      1.0f / float(B));
    net_.backward(ctx, head_.backward(ctx, dlogits, true), false);
    ps_.adam_step(ctx, opt.adam);
    const std::vector<float> h = out.to_host(ctx);
    return {{"loss", h[0]}, {"accuracy", h[1] / float(B)}};
  }

  Metrics eval_batch(Context& ctx, const Batch& batch, int64_t) override {
    Tensor logits = classify(ctx, batch.images);
    Tensor out = Tensor::empty(ctx, {2});
    softmax_xent_loss(ctx, logits.f32(), batch.labels.as<int32_t>(), out.f32(), nullptr, out.f32() + 1, batch.size(),
                      10, 1.0f);
    const std::vector<float> h = out.to_host(ctx);
    return {{"loss", h[0]}, {"accuracy", h[1]}};
  }

  Tensor classify(Context& ctx, const Tensor& images) override {
    return head_.forward(ctx, net_.forward(ctx, images, StepInfo{}), StepInfo{});
  }
  // The last hidden layer's activations (after its ReLU; dropout is off in inference): [B, last hidden width].
  bool can_extract_features() const override { return true; }
  Tensor features(Context& ctx, const Tensor& images) override { return net_.forward(ctx, images, StepInfo{}); }

 private:
  nlohmann::json config_;
  int shift_ = 0;  // random whole-pixel shifts of the training images, up to this many pixels per axis
  ParamStore ps_;
  Sequential net_;   // convolutions and hidden layers: images -> features
  Sequential head_;  // the logits layer: features -> logits
};

}  // namespace

ModelKind classifier_kind() {
  ModelKind k;
  k.name = "classifier";
  k.summary = "evaluator CNN (conv 3x3 + max-pool twice, one hidden layer with dropout)";
  k.defaults = {{"channels", "32,64"}, {"hidden", "128"}, {"dropout", 0.3}, {"augment_shift", 2}};
  k.train = TrainDefaults{12, 128, 1e-3f, true};
  k.create = [](Context& ctx, const nlohmann::json& c, uint64_t seed) -> std::unique_ptr<Model> {
    return std::make_unique<Classifier>(ctx, c, seed);
  };
  return k;
}

}  // namespace dg
