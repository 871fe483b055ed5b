// The variational autoencoder: encoder to (mu, logvar), reparameterization with Philox noise, Bernoulli decoder
// (BCE with logits), KL against N(0, I) with a weight and an optional linear warm-up.
#include <cmath>

#include "kernels/activation.h"
#include "kernels/binarize.h"
#include "kernels/gather.h"
#include "kernels/loss.h"
#include "kernels/reparam.h"
#include "models/model.h"
#include "models/nets.h"
#include "runtime/error.h"
#include "runtime/philox.h"

namespace dg {
namespace {

constexpr uint64_t kEvalSeed = 0x5EED5EEDull;      // reparameterization noise for test metrics
constexpr uint64_t kBinarizeTestSeed = 20241129ull;  // the fixed binarization of the test set

class Vae : public Model {
 public:
  Vae(Context& ctx, const nlohmann::json& c, uint64_t seed) : config_(c) {
    spec_ = net_spec_from_config(c);
    latent_ = c.at("latent").get<int>();
    kl_weight_ = c.at("kl_weight").get<float>();
    kl_warmup_ = c.at("kl_warmup").get<float>();
    binarize_ = c.at("binarize").get<bool>();
    DG_REQUIRE(latent_ > 0, "--latent: expected a positive size, got ", latent_);
    const int feat = build_encoder(encoder_, ps_, "vae/encoder", spec_);
    mu_head_ = std::make_unique<Linear>(ps_, "vae/encoder.mu", feat, latent_);
    logvar_head_ = std::make_unique<Linear>(ps_, "vae/encoder.logvar", feat, latent_);
    build_decoder(decoder_, ps_, "vae/decoder", spec_, latent_);
    ps_.finalize(ctx, seed);
  }

  std::string kind() const override { return "vae"; }
  nlohmann::json config() const override { return config_; }
  std::vector<std::pair<std::string, ParamStore*>> param_stores() override { return {{"", &ps_}}; }
  std::string headline_metric() const override { return "nelbo"; }
  bool can_generate() const override { return true; }

  Metrics train_step(Context& ctx, const Batch& batch, const StepInfo& si, const OptimConfig& opt) override {
    const int B = batch.size();
    const int64_t P = 28 * 28;
    Tensor x = batch.images;
    if (binarize_) {
      Tensor xb = Tensor::empty(ctx, x.shape());
      binarize(ctx, x.f32(), xb.f32(), x.numel(), si.seed, 0, si.step);
      x = xb;
    }
    ps_.zero_grad(ctx);
    Tensor mu, logvar, eps, z;
    Tensor logits = forward(ctx, x, si, si.seed, 0, si.step, &mu, &logvar, &eps, &z);

    Tensor losses = Tensor::empty(ctx, {3});
    Tensor dlogits = Tensor::empty(ctx, logits.shape());
    const float inv_b = 1.0f / float(B);
    bce_logits_loss(ctx, logits.f32(), x.f32(), losses.f32(), dlogits.f32(), B * P, inv_b);
    Tensor dz = decoder_.backward(ctx, dlogits, true);
    Tensor dmu = Tensor::empty(ctx, mu.shape()), dlogvar = Tensor::empty(ctx, logvar.shape());
    reparam_backward(ctx, logvar.f32(), eps.f32(), dz.f32(), dmu.f32(), dlogvar.f32(), int64_t(B) * latent_);
    const float w = kl_weight_now(opt.epoch_frac);
    gaussian_kl_loss(ctx, mu.f32(), logvar.f32(), losses.f32() + 1, dmu.f32(), dlogvar.f32(), int64_t(B) * latent_,
                     w * inv_b, Grad::Accumulate);
    // The unweighted KL for reporting (cheap: B x Z elements).
    gaussian_kl_loss(ctx, mu.f32(), logvar.f32(), losses.f32() + 2, nullptr, nullptr, int64_t(B) * latent_, inv_b,
                     Grad::Overwrite);
    Tensor dh = mu_head_->backward(ctx, dmu, true);
    Tensor dh2 = logvar_head_->backward(ctx, dlogvar, true);
    axpby(ctx, 1.0f, dh2.f32(), 1.0f, dh.f32(), dh.numel());
    encoder_.backward(ctx, dh, false);
    ps_.adam_step(ctx, opt.adam);

    const std::vector<float> l = losses.to_host(ctx);
    return {{"loss", l[0] + l[1]}, {"bce", l[0]}, {"kl", l[2]}, {"kl_weight", w}};
  }

  Metrics eval_batch(Context& ctx, const Batch& batch, int64_t first_index) override {
    const int B = batch.size();
    const int64_t P = 28 * 28;
    StepInfo si;  // inference
    Tensor losses = Tensor::empty(ctx, {5});
    float* l = losses.f32();
    // Continuous targets.
    Tensor mu, logvar, eps, z;
    Tensor logits = forward(ctx, batch.images, si, kEvalSeed, uint64_t(first_index) * latent_, 0, &mu, &logvar, &eps, &z);
    bce_logits_loss(ctx, logits.f32(), batch.images.f32(), l + 0, nullptr, B * P, 1.0f);
    gaussian_kl_loss(ctx, mu.f32(), logvar.f32(), l + 1, nullptr, nullptr, int64_t(B) * latent_, 1.0f, Grad::Overwrite);
    Tensor recon = Tensor::empty(ctx, logits.shape());
    activation_forward(ctx, Activation::Sigmoid, 0.0f, logits.f32(), recon.f32(), logits.numel());
    mse_loss(ctx, recon.f32(), batch.images.f32(), l + 2, nullptr, B * P, 1.0f / float(P));
    // A fixed binarization of the test set (comparable with the binarized-MNIST literature).
    Tensor xb = Tensor::empty(ctx, batch.images.shape());
    binarize(ctx, batch.images.f32(), xb.f32(), xb.numel(), kBinarizeTestSeed, uint64_t(first_index) * P, 0);
    Tensor logits_b = forward(ctx, xb, si, kEvalSeed, uint64_t(first_index) * latent_, 0, &mu, &logvar, &eps, &z);
    bce_logits_loss(ctx, logits_b.f32(), xb.f32(), l + 3, nullptr, B * P, 1.0f);
    gaussian_kl_loss(ctx, mu.f32(), logvar.f32(), l + 4, nullptr, nullptr, int64_t(B) * latent_, 1.0f, Grad::Overwrite);
    const std::vector<float> h = losses.to_host(ctx);
    return {{"nelbo", h[0] + h[1]}, {"bce", h[0]}, {"kl", h[1]}, {"mse", h[2]}, {"nelbo_binarized", h[3] + h[4]}};
  }

  Tensor generate(Context& ctx, int64_t first, int n, uint64_t seed, const int32_t*) override {
    std::vector<float> zh(size_t(n) * latent_);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < latent_; ++j)
        zh[size_t(i) * latent_ + j] = philox_normal(seed, kPurposeSampleLatent, uint64_t(first + i) * latent_ + j, 0);
    Tensor z = Tensor::from_host(ctx, {n, latent_}, zh.data());
    Tensor logits = decoder_.forward(ctx, z, StepInfo{});
    Tensor img = Tensor::empty(ctx, logits.shape());
    activation_forward(ctx, Activation::Sigmoid, 0.0f, logits.f32(), img.f32(), img.numel());
    return img;
  }

 private:
  float kl_weight_now(double epoch_frac) const {
    if (kl_warmup_ <= 0.0f) return kl_weight_;
    return kl_weight_ * float(std::min(1.0, epoch_frac / double(kl_warmup_)));
  }

  Tensor forward(Context& ctx, const Tensor& x, const StepInfo& si, uint64_t seed, uint64_t index_base, uint32_t step,
                 Tensor* mu, Tensor* logvar, Tensor* eps, Tensor* z) {
    const int B = int(x.dim(0));
    Tensor h = encoder_.forward(ctx, x, si);
    *mu = mu_head_->forward(ctx, h, si);
    *logvar = logvar_head_->forward(ctx, h, si);
    *eps = Tensor::empty(ctx, {B, latent_});
    *z = Tensor::empty(ctx, {B, latent_});
    reparam_forward(ctx, mu->f32(), logvar->f32(), eps->f32(), z->f32(), int64_t(B) * latent_, seed, index_base, step);
    return decoder_.forward(ctx, *z, si);
  }

  nlohmann::json config_;
  NetSpec spec_;
  int latent_ = 0;
  float kl_weight_ = 1.0f, kl_warmup_ = 0.0f;
  bool binarize_ = false;
  ParamStore ps_;
  Sequential encoder_, decoder_;
  std::unique_ptr<Linear> mu_head_, logvar_head_;
};

}  // namespace

ModelKind vae_kind() {
  ModelKind k;
  k.name = "vae";
  k.summary = "variational autoencoder (Bernoulli decoder, KL against N(0, I))";
  k.defaults = {{"arch", "mlp"}, {"hidden", "512,256"}, {"channels", "32,64"}, {"latent", 32},
                {"kl_weight", 1.0},  {"kl_warmup", 0.0},    {"binarize", false}};
  k.train = TrainDefaults{60, 128, 1e-3f, true};
  k.create = [](Context& ctx, const nlohmann::json& c, uint64_t seed) -> std::unique_ptr<Model> {
    return std::make_unique<Vae>(ctx, c, seed);
  };
  return k;
}

}  // namespace dg
