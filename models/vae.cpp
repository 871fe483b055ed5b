// The variational autoencoder, unconditional (`vae`) or conditioned on the digit label (`cvae`): encoder to
// (mu, logvar), reparameterization with Philox noise, Bernoulli decoder (BCE with logits), KL against N(0, I) with a
// weight and an optional linear warm-up. The conditional kind joins a one-hot label to the input of every fully
// connected layer of encoder and decoder; the label then carries the class, so the latent is free to carry the
// style: sampling with a chosen label draws that digit, and encoding with one label then decoding with another
// redraws a writer's digit as another.
#include <algorithm>
#include <cmath>

#include "kernels/activation.h"
#include "kernels/bce_rows.h"
#include "kernels/binarize.h"
#include "kernels/gather.h"
#include "kernels/loss.h"
#include "kernels/one_hot.h"
#include "kernels/reparam.h"
#include "models/model.h"
#include "models/nets.h"
#include "runtime/error.h"
#include "runtime/philox.h"

namespace dg {
namespace {

constexpr int kClasses = 10;
constexpr uint64_t kEvalSeed = 0x5EED5EEDull;        // reparameterization noise for test metrics (as the VAE)
constexpr uint64_t kBinarizeTestSeed = 20241129ull;  // the fixed binarization of the test set (as the VAE)

// One-hot rows [n, 10] for host labels, each checked to be a digit (the device op cannot report a bad one).
Tensor one_hot_from_host(Context& ctx, const int32_t* labels, int n) {
  for (int i = 0; i < n; ++i)
    DG_REQUIRE(labels[i] >= 0 && labels[i] < kClasses, "label ", labels[i], " at position ", i,
               ": expected a digit 0..9");
  Tensor ids = Tensor::empty(ctx, {n}, DType::I32);
  copy_to_device(ctx, ids.raw(), labels, size_t(n) * sizeof(int32_t));
  Tensor y = Tensor::empty(ctx, {n, kClasses});
  one_hot(ctx, ids.as<int32_t>(), y.f32(), n, kClasses);
  return y;
}

class Vae : public Model {
 public:
  Vae(Context& ctx, const nlohmann::json& c, uint64_t seed, bool conditional)
      : config_(c), conditional_(conditional), name_(conditional ? "cvae" : "vae") {
    spec_ = net_spec_from_config(c);
    spec_.extra_inputs = conditional ? kClasses : 0;
    latent_ = c.at("latent").get<int>();
    kl_weight_ = c.at("kl_weight").get<float>();
    kl_warmup_ = c.at("kl_warmup").get<float>();
    binarize_ = c.at("binarize").get<bool>();
    DG_REQUIRE(latent_ > 0, "--latent: expected a positive size, got ", latent_);
    const int feat = build_encoder(encoder_, ps_, name_ + "/encoder", spec_, &enc_cond_);
    mu_head_ = std::make_unique<Linear>(ps_, name_ + "/encoder.mu", feat, latent_);
    logvar_head_ = std::make_unique<Linear>(ps_, name_ + "/encoder.logvar", feat, latent_);
    build_decoder(decoder_, ps_, name_ + "/decoder", spec_, latent_, &dec_cond_);
    ps_.finalize(ctx, seed);
  }

  std::string kind() const override { return name_; }
  nlohmann::json config() const override { return config_; }
  std::vector<std::pair<std::string, ParamStore*>> param_stores() override { return {{"", &ps_}}; }
  std::string headline_metric() const override { return "nelbo"; }
  bool can_generate() const override { return true; }
  bool conditional() const override { return conditional_; }
  bool can_encode() const override { return true; }
  Tensor encode(Context& ctx, const Tensor& images, const Tensor& labels) override {
    if (conditional_) {
      const int B = int(images.dim(0));
      DG_REQUIRE(labels.defined() && labels.numel() == B, "cvae: encoding needs int32 labels [", B, "]");
      Tensor y = Tensor::empty(ctx, {B, kClasses});
      one_hot(ctx, labels.as<int32_t>(), y.f32(), B, kClasses);
      enc_cond_.set(y);
    }
    return mu_head_->forward(ctx, encoder_.forward(ctx, images, StepInfo{}), StepInfo{});
  }

  Metrics train_step(Context& ctx, const Batch& batch, const StepInfo& si, const OptimConfig& opt) override {
    const int B = batch.size();
    const int64_t P = 28 * 28;
    Tensor x = batch.images;
    if (binarize_) {
      Tensor xb = Tensor::empty(ctx, x.shape());
      binarize(ctx, x.f32(), xb.f32(), x.numel(), si.seed, 0, si.step);
      x = xb;
    }
    const Tensor y = label_input(ctx, batch);
    ps_.zero_grad(ctx);
    Tensor mu, logvar, eps;
    Tensor logits = forward(ctx, x, y, si, si.seed, 0, si.step, &mu, &logvar, &eps);

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

  // Test metrics (the conditional kind conditions each image on its true label): negative ELBO on the continuous
  // targets and on a fixed binarization of the test set, reconstruction MSE.
  Metrics eval_batch(Context& ctx, const Batch& batch, int64_t first_index) override {
    const int B = batch.size();
    const int64_t P = 28 * 28;
    StepInfo si;  // inference
    const Tensor y = label_input(ctx, batch);
    Tensor losses = Tensor::empty(ctx, {5});
    float* l = losses.f32();
    Tensor mu, logvar, eps;
    const uint64_t base = uint64_t(first_index) * latent_;
    Tensor logits = forward(ctx, batch.images, y, si, kEvalSeed, base, 0, &mu, &logvar, &eps);
    bce_logits_loss(ctx, logits.f32(), batch.images.f32(), l + 0, nullptr, B * P, 1.0f);
    gaussian_kl_loss(ctx, mu.f32(), logvar.f32(), l + 1, nullptr, nullptr, int64_t(B) * latent_, 1.0f, Grad::Overwrite);
    Tensor recon = Tensor::empty(ctx, logits.shape());
    activation_forward(ctx, Activation::Sigmoid, 0.0f, logits.f32(), recon.f32(), logits.numel());
    mse_loss(ctx, recon.f32(), batch.images.f32(), l + 2, nullptr, B * P, 1.0f / float(P));
    Tensor xb = Tensor::empty(ctx, batch.images.shape());
    binarize(ctx, batch.images.f32(), xb.f32(), xb.numel(), kBinarizeTestSeed, uint64_t(first_index) * P, 0);
    Tensor logits_b = forward(ctx, xb, y, si, kEvalSeed, base, 0, &mu, &logvar, &eps);
    bce_logits_loss(ctx, logits_b.f32(), xb.f32(), l + 3, nullptr, B * P, 1.0f);
    gaussian_kl_loss(ctx, mu.f32(), logvar.f32(), l + 4, nullptr, nullptr, int64_t(B) * latent_, 1.0f, Grad::Overwrite);
    const std::vector<float> h = losses.to_host(ctx);
    return {{"nelbo", h[0] + h[1]}, {"bce", h[0]}, {"kl", h[1]}, {"mse", h[2]}, {"nelbo_binarized", h[3] + h[4]}};
  }

  // Sample i's latent comes from (seed, first + i) alone; a conditional model's label from `labels`, else
  // (first + i) % 10, so the same seed and index with another label is the same style as another digit.
  Tensor generate(Context& ctx, int64_t first, int n, uint64_t seed, const int32_t* labels) override {
    std::vector<float> zh(size_t(n) * latent_);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < latent_; ++j)
        zh[size_t(i) * latent_ + j] = philox_normal(seed, kPurposeSampleLatent, uint64_t(first + i) * latent_ + j, 0);
    Tensor z = Tensor::from_host(ctx, {n, latent_}, zh.data());
    if (!conditional_) return decode_images(ctx, z, Tensor());
    std::vector<int32_t> cycle;
    if (!labels) {
      cycle.resize(size_t(n));
      for (int i = 0; i < n; ++i) cycle[size_t(i)] = int32_t((first + i) % kClasses);
      labels = cycle.data();
    }
    const Tensor y = one_hot_from_host(ctx, labels, n);
    return decode_images(ctx, z, y);
  }

  // log p(x) ~ log (1/K) sum_k p(x | z_k) p(z_k) / q(z_k | x), z_k = mu + sigma * eps_k with eps_k drawn from
  // Philox(seed, kPurposeReparam, ((first_index + b) * K + k) * Z + j, 0). The K decodes of a few images run as one
  // decoder batch; the Gaussian log densities are summed on the host in double, the Bernoulli term on the device.
  bool can_estimate_likelihood() const override { return true; }
  void importance_log_likelihood(Context& ctx, const Batch& batch, int64_t first_index, int K, uint64_t seed,
                                 double* log_px, double* elbo) override {
    DG_REQUIRE(K >= 1, "importance sampling: expected at least one sample per image, got ", K);
    const int B = batch.size(), Z = latent_, P = 28 * 28;
    const StepInfo si;  // inference
    const Tensor y = label_input(ctx, batch);
    enc_cond_.set(y);
    const Tensor h = encoder_.forward(ctx, batch.images, si);
    const std::vector<float> mu = mu_head_->forward(ctx, h, si).to_host(ctx);
    const std::vector<float> lv = logvar_head_->forward(ctx, h, si).to_host(ctx);
    std::vector<int32_t> labels;
    if (conditional_) {
      labels.resize(size_t(B));
      copy_to_host(ctx, labels.data(), batch.labels.raw(), labels.size() * sizeof(int32_t));
    }
    const int per_call = std::max(1, 8192 / K);  // images per decoder call
    for (int b0 = 0; b0 < B; b0 += per_call) {
      const int nb = std::min(per_call, B - b0), rows = nb * K;
      std::vector<float> z(size_t(rows) * Z);
      std::vector<double> lw(static_cast<size_t>(rows));  // log p(z) - log q(z | x) per row
      std::vector<int32_t> row_labels(conditional_ ? size_t(rows) : 0);
      for (int b = 0; b < nb; ++b)
        for (int k = 0; k < K; ++k) {
          const size_t row = size_t(b) * K + k;
          const uint64_t base = (uint64_t(first_index + b0 + b) * uint64_t(K) + uint64_t(k)) * uint64_t(Z);
          double s = 0;
          for (int j = 0; j < Z; ++j) {
            const double m = mu[size_t(b0 + b) * Z + j], l = lv[size_t(b0 + b) * Z + j];
            const double e = philox_normal(seed, kPurposeReparam, base + uint64_t(j), 0);
            const double zj = m + std::exp(0.5 * l) * e;
            z[row * Z + j] = float(zj);
            s += (-0.5 * zj * zj) - (-0.5 * e * e - 0.5 * l);  // the 2 pi terms cancel
          }
          lw[row] = s;
          if (conditional_) row_labels[row] = labels[size_t(b0 + b)];
        }
      dec_cond_.set(conditional_ ? one_hot_from_host(ctx, row_labels.data(), rows) : Tensor());
      const Tensor logits = decoder_.forward(ctx, Tensor::from_host(ctx, {rows, Z}, z.data()), si);
      Tensor nll = Tensor::empty(ctx, {rows});
      bce_logits_rows(ctx, logits.f32(), batch.images.f32() + int64_t(b0) * P, nll.f32(), rows, P, K);
      const std::vector<float> nll_h = nll.to_host(ctx);
      for (int b = 0; b < nb; ++b) {
        double mx = -INFINITY, mean = 0;
        for (int k = 0; k < K; ++k) {
          double& w = lw[size_t(b) * K + k];
          w -= double(nll_h[size_t(b) * K + k]);
          mx = std::max(mx, w);
          mean += w;
        }
        double s = 0;
        for (int k = 0; k < K; ++k) s += std::exp(lw[size_t(b) * K + k] - mx);
        log_px[b0 + b] = mx + std::log(s / double(K));
        elbo[b0 + b] = mean / double(K);
      }
    }
  }

  Tensor restyle(Context& ctx, const Tensor& images, const int32_t* from_labels, const int32_t* to_labels) override {
    if (!conditional_) return Model::restyle(ctx, images, from_labels, to_labels);  // the error naming the kind
    DG_REQUIRE(images.rank() == 4 && images.dim(1) == 1 && images.dim(2) == 28 && images.dim(3) == 28,
               "restyle: expected images [B, 1, 28, 28], got ", shape_str(images.shape()));
    const int B = int(images.dim(0));
    const StepInfo si;  // inference
    enc_cond_.set(one_hot_from_host(ctx, from_labels, B));
    const Tensor h = encoder_.forward(ctx, images, si);
    const Tensor mu = mu_head_->forward(ctx, h, si);
    return decode_images(ctx, mu, one_hot_from_host(ctx, to_labels, B));
  }

  // Reconstruction: the posterior mean decoded (with the input's own label for the CVAE).
  bool can_reconstruct() const override { return true; }
  Tensor reconstruct(Context& ctx, const Tensor& images, const int32_t* labels) override {
    DG_REQUIRE(images.rank() == 4 && images.dim(1) == 1 && images.dim(2) == 28 && images.dim(3) == 28,
               "reconstruct: expected images [B, 1, 28, 28], got ", shape_str(images.shape()));
    if (conditional_) {
      DG_REQUIRE(labels != nullptr, "reconstruct: the cvae needs each input's label");
      return restyle(ctx, images, labels, labels);
    }
    const StepInfo si;
    return decode_images(ctx, mu_head_->forward(ctx, encoder_.forward(ctx, images, si), si), Tensor());
  }

 private:
  float kl_weight_now(double epoch_frac) const {
    if (kl_warmup_ <= 0.0f) return kl_weight_;
    return kl_weight_ * float(std::min(1.0, epoch_frac / double(kl_warmup_)));
  }

  // The one-hot labels [B, 10] of a batch for the conditional kind; nothing for the unconditional one.
  Tensor label_input(Context& ctx, const Batch& batch) const {
    if (!conditional_) return Tensor();
    const int B = batch.size();
    DG_REQUIRE(batch.labels.defined() && batch.labels.dtype() == DType::I32 && batch.labels.numel() == B,
               "cvae: the batch needs int32 labels [", B, "]");
    Tensor y = Tensor::empty(ctx, {B, kClasses});
    one_hot(ctx, batch.labels.as<int32_t>(), y.f32(), B, kClasses);
    return y;
  }

  // Images in [0, 1] decoded from latents z [B, Z] with one-hot labels y [B, 10].
  Tensor decode_images(Context& ctx, const Tensor& z, const Tensor& y) {
    dec_cond_.set(y);
    Tensor logits = decoder_.forward(ctx, z, StepInfo{});
    Tensor img = Tensor::empty(ctx, logits.shape());
    activation_forward(ctx, Activation::Sigmoid, 0.0f, logits.f32(), img.f32(), img.numel());
    return img;
  }

  Tensor forward(Context& ctx, const Tensor& x, const Tensor& y, const StepInfo& si, uint64_t seed, uint64_t index_base,
                 uint32_t step, Tensor* mu, Tensor* logvar, Tensor* eps) {
    const int B = int(x.dim(0));
    enc_cond_.set(y);
    dec_cond_.set(y);
    Tensor h = encoder_.forward(ctx, x, si);
    *mu = mu_head_->forward(ctx, h, si);
    *logvar = logvar_head_->forward(ctx, h, si);
    *eps = Tensor::empty(ctx, {B, latent_});
    Tensor z = Tensor::empty(ctx, {B, latent_});
    reparam_forward(ctx, mu->f32(), logvar->f32(), eps->f32(), z.f32(), int64_t(B) * latent_, seed, index_base, step);
    return decoder_.forward(ctx, z, si);
  }

  nlohmann::json config_;
  bool conditional_;
  std::string name_;  // the kind, also the prefix of every parameter name
  NetSpec spec_;
  int latent_ = 0;
  float kl_weight_ = 1.0f, kl_warmup_ = 0.0f;
  bool binarize_ = false;
  ParamStore ps_;
  Sequential encoder_, decoder_;
  Conditioning enc_cond_, dec_cond_;  // where the one-hot label joins the encoder's and the decoder's layers
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
    return std::make_unique<Vae>(ctx, c, seed, false);
  };
  return k;
}

ModelKind cvae_kind() {
  ModelKind k;
  k.name = "cvae";
  k.summary = "conditional VAE: encoder and decoder given the digit label (sample --label, restyle)";
  // The VAE's settings, but KL weight 2: a latent that pays more per nat leaves the class to the label. After 5
  // epochs on MNIST (CPU), weight 2 vs 1: test nelbo 114.8 vs 108.3 nats, but restyled digits read as the target
  // label 0.96 vs 0.65 of the time (a stand-in evaluator), and --label all rows show one digit each instead of
  // some columns keeping their own class. --kl-weight 1 trains the plain ELBO.
  k.defaults = {{"arch", "mlp"}, {"hidden", "512,256"}, {"channels", "32,64"}, {"latent", 32},
                {"kl_weight", 2.0},  {"kl_warmup", 0.0},    {"binarize", false}};
  k.train = TrainDefaults{60, 128, 1e-3f, true};
  k.create = [](Context& ctx, const nlohmann::json& c, uint64_t seed) -> std::unique_ptr<Model> {
    return std::make_unique<Vae>(ctx, c, seed, true);
  };
  return k;
}

}  // namespace dg
