// Whole-model backward passes against finite differences: for every registered kind, one train_step with a zero
// learning rate leaves the weights alone and fills the gradient slab; nudging single weights and re-running the
// step must change the reported loss by gradient * nudge. Catches layer wiring mistakes the per-op tests cannot.
#include <gtest/gtest.h>

#include <cmath>

#include "models/model.h"
#include "tests/param_grad_check.h"
#include "tests/test_util.h"

namespace dg {
namespace {

Batch grad_batch(Context& ctx, int B) {
  const std::vector<float> px = test::random_vec(size_t(B) * 784, 3, 0.0f, 1.0f);
  std::vector<int32_t> labels(static_cast<size_t>(B));
  for (int i = 0; i < B; ++i) labels[size_t(i)] = (i * 7) % 10;
  Batch b;
  b.images = Tensor::from_host(ctx, {B, 1, 28, 28}, px.data());
  b.labels = Tensor::empty(ctx, {B}, DType::I32);
  copy_to_device(ctx, b.labels.raw(), labels.data(), labels.size() * sizeof(int32_t));
  return b;
}

TEST(ModelGradient, TrainStepGradientsMatchFiniteDifferences) {
  for (const ModelKind& kind : model_registry()) {
    SCOPED_TRACE("model kind " + kind.name);
    Context ctx(Device::CPU);
    // Kinds with several stores (the GAN: generator and discriminator, each its own optimiser) do not fit the
    // "one step with lr 0 exposes every gradient" pattern; tests/cpu/test_gan.cpp checks their gradients.
    {
      std::unique_ptr<Model> probe = kind.create(ctx, merge_config(kind, nlohmann::json::object()), 1);
      if (probe->param_stores().size() > 1) continue;
    }
    nlohmann::json o = nlohmann::json::object();
    if (kind.defaults.contains("hidden")) o["hidden"] = "24";
    if (kind.defaults.contains("channels")) o["channels"] = "4,6";
    if (kind.defaults.contains("latent")) o["latent"] = 3;
    if (kind.defaults.contains("dropout")) o["dropout"] = 0.25;
    // The KL weight only scales one loss term. The CVAE's default of 2 moves one small logvar-bias gradient (0.02)
    // into the float noise of the difference quotient at eps 1e-2 (it agrees at eps 3e-2); weight 1 keeps every
    // checked gradient clear of that noise.
    if (kind.defaults.contains("kl_weight")) o["kl_weight"] = 1.0;
    // Shifting the images is a data op with nothing to differentiate; left on, it only moves the test input.
    if (kind.defaults.contains("augment_shift")) o["augment_shift"] = 0;
    // One residual block per U-Net level (ddpm): the same wiring, half the weights to nudge.
    if (kind.defaults.contains("blocks")) o["blocks"] = 1;
    std::unique_ptr<Model> model = kind.create(ctx, merge_config(kind, o), 17);
    const Batch batch = grad_batch(ctx, 8);
    OptimConfig oc;
    oc.adam.lr = 0.0f;  // the step computes gradients and leaves the weights unchanged
    oc.epoch_frac = 1.0;
    const StepInfo si{true, 5, 2};  // the same dropout / reparam noise every time
    auto loss_now = [&] { return metric(model->train_step(ctx, batch, si, oc), "loss"); };
    ParamStore& ps = *model->param_stores().at(0).second;
    const double loss0 = loss_now();
    // The loss is a float: per-image sums over 784 pixels (hundreds of nats) need a larger nudge to rise above its
    // rounding; the classifier's cross-entropy (about 2.3) takes a small one, which crosses fewer ReLU and max-pool
    // kinks. Tolerance 10% + 1e-3: kinks within the nudge still bend a conv layer's difference quotient a little.
    const float eps = loss0 > 10.0 ? 1e-2f : 1e-3f;
    test::expect_store_grads_close(ctx, ps, loss_now, eps, 1e-3, 0.1, "model kind " + kind.name);
  }
}

}  // namespace
}  // namespace dg
