// The GAN (kind `gan`): a DCGAN-style generator with batch norm and a spectrally normalised convolutional
// discriminator, optionally class-conditional (one-hot label joined to z; projection discriminator), sampled from
// a moving average of the generator's weights. Declared here,
// rather than only in gan.cpp, so the tests can reach the discriminator and generator gradients directly.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "kernels/spectral_norm.h"
#include "models/model.h"
#include "models/weight_average.h"

namespace dg {

class Gan : public Model {
 public:
  Gan(Context& ctx, const nlohmann::json& config, uint64_t seed);

  std::string kind() const override { return "gan"; }
  nlohmann::json config() const override { return config_; }
  std::vector<std::pair<std::string, ParamStore*>> param_stores() override {
    return {{"gen/", &gen_}, {"disc/", &disc_}};
  }
  std::string headline_metric() const override { return "d_real"; }
  bool can_generate() const override { return true; }
  bool conditional() const override { return conditional_; }

  Metrics train_step(Context& ctx, const Batch& batch, const StepInfo& si, const OptimConfig& opt) override;
  Metrics eval_batch(Context& ctx, const Batch& batch, int64_t first_index) override;
  Tensor generate(Context& ctx, int64_t first, int n, uint64_t seed, const int32_t* labels) override;
  Tensor restyle(Context& ctx, const Tensor& images, const int32_t* from_labels, const int32_t* to_labels) override;
  void end_of_epoch(Context& ctx, DeviceDataset& train) override;
  std::vector<HostTensor> extra_state(Context& ctx) const override;
  void load_extra_state(Context& ctx, const std::vector<HostTensor>& tensors) override;

  // For the gradient tests. Both use the current u, v without a power iteration (frozen) and leave the weights
  // alone. disc_loss_and_grads: the discriminator loss on real images and generated ones `fake` (both
  // [B, 1, 28, 28]; host labels for the conditional model, else null) with the gradients in disc's slab.
  // gen_loss_and_grads: the generator loss for latents z [B, Z] (training-mode batch norm) with the gradients in
  // gen's slab. Each returns the loss.
  double disc_loss_and_grads(Context& ctx, const Tensor& real, const Tensor& fake, const int32_t* labels);
  double gen_loss_and_grads(Context& ctx, const Tensor& z, const int32_t* labels);
  int latent() const { return latent_; }
  // Collapse statistics of the last end_of_epoch (negative before the first, or without the evaluator).
  double class_entropy() const { return class_entropy_; }
  double min_class_share() const { return min_class_share_; }

 private:
  struct SnWeight {
    int index = 0;  // parameter tensor index in disc_ / disc_view_
    int rows = 0, cols = 0;
    SpectralNormState state;
    Tensor sigma;  // [1], from the last refresh
  };

  void refresh_disc_weights(Context& ctx, int n_iter);
  void map_disc_grads(Context& ctx);
  Tensor gen_forward(Context& ctx, const Tensor& z, const Tensor& onehot, bool train);
  Tensor disc_forward(Context& ctx, const Tensor& x, const Tensor& ids);
  Tensor disc_backward(Context& ctx, const Tensor& dlogit, bool need_dx);
  // Losses on the discriminator's logits [2B] (real rows first) and [B]; fill the logit gradients.
  float disc_loss(Context& ctx, const Tensor& logits, Tensor& dlogits, int B);
  float gen_loss(Context& ctx, const Tensor& logits, Tensor& dlogits, int B);
  // The generator's loss on `fake` through the current discriminator, and its gradients in the generator's store
  // (the discriminator's gradients are scratch). The weights must be refreshed first.
  float generator_backward(Context& ctx, const Tensor& fake, const Tensor& ids);
  Tensor noise(Context& ctx, uint64_t seed, uint32_t step, int B) const;
  Tensor labels_to_device(Context& ctx, const std::vector<int32_t>& labels, int copies) const;
  Tensor one_hot_of(Context& ctx, const Tensor& ids) const;

  nlohmann::json config_;
  int latent_ = 64, c1_ = 64, c2_ = 128, feat_ = 0;
  bool conditional_ = false, spectral_norm_ = true, hinge_ = false;
  float label_smoothing_ = 0.9f;

  ParamStore gen_, disc_;
  // disc_view_ has the very same tensors as disc_ (names, shapes, offsets) and is what the discriminator's
  // layers read and write: its parameter slab holds the weights the forward pass uses (W / sigma for the
  // normalised ones, copies of the rest) and its gradient slab the gradients with respect to those. Mapping
  // back (spectral_norm_backward, plain copies) fills disc_'s gradient slab, on which Adam runs. So Linear and
  // Conv2d need no notion of spectral normalisation, and the optimiser and checkpoints see only the raw W.
  ParamStore disc_view_;
  Sequential gen_net_, disc_trunk_;
  ConcatInput* gen_cond_ = nullptr;
  std::unique_ptr<Linear> disc_fc_;
  int embed_ = -1;  // projection table [10, feat] in the disc stores (conditional only)
  std::vector<SnWeight> sn_;
  // Moving average of the generator's weights (--ema-decay; absent at 0), which generate() samples from: it
  // smooths the step-to-step jitter that shows as speckle in single-iterate samples.
  std::unique_ptr<WeightAverage> gen_average_;
  Tensor h_, e_, ids_;  // saved by disc_forward: features [N, feat], label embeddings [N, feat], ids [N]

  // Collapse detection.
  std::unique_ptr<Model> evaluator_;
  bool evaluator_missing_ = false;
  double class_entropy_ = -1, min_class_share_ = -1;
  double sum_d_real_ = 0, sum_d_fake_ = 0;
  int64_t d_count_ = 0;
};

}  // namespace dg
