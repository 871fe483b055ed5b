// The classic autoencoder: deterministic encoder to a latent vector, decoder trained with BCE on pixels.
// Generation fits a full-covariance Gaussian to the encoded training set (refit every epoch) and decodes
// samples from it, so random latents give digits rather than noise.
#include <Eigen/Dense>
#include <cmath>

#include "kernels/activation.h"
#include "kernels/loss.h"
#include "models/model.h"
#include "models/nets.h"
#include "runtime/error.h"
#include "runtime/philox.h"

namespace dg {
namespace {

class Autoencoder : public Model {
 public:
  Autoencoder(Context& ctx, const nlohmann::json& c, uint64_t seed) : config_(c) {
    spec_ = net_spec_from_config(c);
    latent_ = c.at("latent").get<int>();
    DG_REQUIRE(latent_ > 0, "--latent: expected a positive size, got ", latent_);
    const int feat = build_encoder(encoder_, ps_, "ae/encoder", spec_);
    encoder_.add<Linear>(ps_, "ae/encoder.latent", feat, latent_);
    build_decoder(decoder_, ps_, "ae/decoder", spec_, latent_);
    ps_.finalize(ctx, seed);
    gauss_mean_.assign(size_t(latent_), 0.0f);
    gauss_chol_.assign(size_t(latent_) * latent_, 0.0f);
    for (int i = 0; i < latent_; ++i) gauss_chol_[size_t(i) * latent_ + i] = 1.0f;
  }

  std::string kind() const override { return "ae"; }
  nlohmann::json config() const override { return config_; }
  std::vector<std::pair<std::string, ParamStore*>> param_stores() override { return {{"", &ps_}}; }
  std::string headline_metric() const override { return "mse"; }
  bool can_generate() const override { return true; }
  bool can_encode() const override { return true; }
  Tensor encode(Context& ctx, const Tensor& images, const Tensor&) override {
    return encoder_.forward(ctx, images, StepInfo{});
  }

  Metrics train_step(Context& ctx, const Batch& batch, const StepInfo& si, const OptimConfig& opt) override {
    const int B = batch.size();
    const int64_t P = 28 * 28;
    ps_.zero_grad(ctx);
    Tensor z = encoder_.forward(ctx, batch.images, si);
    Tensor logits = decoder_.forward(ctx, z, si);
    Tensor loss = Tensor::empty(ctx, {1});
    Tensor dlogits = Tensor::empty(ctx, logits.shape());
    bce_logits_loss(ctx, logits.f32(), batch.images.f32(), loss.f32(), dlogits.f32(), B * P, 1.0f / float(B));
    Tensor dz = decoder_.backward(ctx, dlogits, true);
    encoder_.backward(ctx, dz, false);
    ps_.adam_step(ctx, opt.adam);
    const float l = loss.to_host(ctx)[0];
    return {{"loss", l}, {"bce", l}};
  }

  Metrics eval_batch(Context& ctx, const Batch& batch, int64_t) override {
    const int B = batch.size();
    const int64_t P = 28 * 28;
    Tensor z = encoder_.forward(ctx, batch.images, StepInfo{});
    Tensor logits = decoder_.forward(ctx, z, StepInfo{});
    Tensor losses = Tensor::empty(ctx, {2});
    bce_logits_loss(ctx, logits.f32(), batch.images.f32(), losses.f32(), nullptr, B * P, 1.0f);
    Tensor recon = Tensor::empty(ctx, logits.shape());
    activation_forward(ctx, Activation::Sigmoid, 0.0f, logits.f32(), recon.f32(), recon.numel());
    mse_loss(ctx, recon.f32(), batch.images.f32(), losses.f32() + 1, nullptr, B * P, 1.0f / float(P));
    const std::vector<float> h = losses.to_host(ctx);
    return {{"bce", h[0]}, {"mse", h[1]}};
  }

  // Fits mean and full covariance of the training set's latents (double precision, Eigen), then its Cholesky factor.
  void end_of_epoch(Context& ctx, DeviceDataset& train) override {
    const int chunk = 1000;
    const int Z = latent_;
    Eigen::VectorXd sum = Eigen::VectorXd::Zero(Z);
    Eigen::MatrixXd outer = Eigen::MatrixXd::Zero(Z, Z);
    train.sequential(ctx);
    int64_t count = 0;
    for (int64_t begin = 0; begin < train.size(); begin += chunk) {
      const int B = int(std::min<int64_t>(chunk, train.size() - begin));
      Batch b = train.batch(ctx, begin, B);
      const std::vector<float> z = encoder_.forward(ctx, b.images, StepInfo{}).to_host(ctx);
      Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> zm(z.data(), B, Z);
      const Eigen::MatrixXd zd = zm.cast<double>();
      sum += zd.colwise().sum().transpose();
      outer += zd.transpose() * zd;
      count += B;
    }
    const Eigen::VectorXd mean = sum / double(count);
    Eigen::MatrixXd cov = outer / double(count) - mean * mean.transpose();
    cov += 1e-6 * Eigen::MatrixXd::Identity(Z, Z);
    Eigen::LLT<Eigen::MatrixXd> llt(cov);
    DG_REQUIRE(llt.info() == Eigen::Success, "autoencoder: latent covariance is not positive definite");
    const Eigen::MatrixXd L = llt.matrixL();
    for (int i = 0; i < Z; ++i) {
      gauss_mean_[size_t(i)] = float(mean(i));
      for (int j = 0; j < Z; ++j) gauss_chol_[size_t(i) * Z + j] = float(L(i, j));
    }
  }

  Tensor generate(Context& ctx, int64_t first, int n, uint64_t seed, const int32_t*) override {
    const int Z = latent_;
    std::vector<float> zh(size_t(n) * Z), eps(static_cast<size_t>(Z));
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < Z; ++j) eps[size_t(j)] = philox_normal(seed, kPurposeSampleLatent, uint64_t(first + i) * Z + j, 0);
      for (int r = 0; r < Z; ++r) {
        double s = gauss_mean_[size_t(r)];
        for (int c = 0; c <= r; ++c) s += double(gauss_chol_[size_t(r) * Z + c]) * eps[size_t(c)];
        zh[size_t(i) * Z + r] = float(s);
      }
    }
    Tensor z = Tensor::from_host(ctx, {n, Z}, zh.data());
    Tensor logits = decoder_.forward(ctx, z, StepInfo{});
    Tensor img = Tensor::empty(ctx, logits.shape());
    activation_forward(ctx, Activation::Sigmoid, 0.0f, logits.f32(), img.f32(), img.numel());
    return img;
  }

  bool can_reconstruct() const override { return true; }
  Tensor reconstruct(Context& ctx, const Tensor& images, const int32_t*) override {
    Tensor logits = decoder_.forward(ctx, encoder_.forward(ctx, images, StepInfo{}), StepInfo{});
    Tensor img = Tensor::empty(ctx, logits.shape());
    activation_forward(ctx, Activation::Sigmoid, 0.0f, logits.f32(), img.f32(), img.numel());
    return img;
  }

  std::vector<HostTensor> extra_state(Context&) const override {
    return {{"latent_gaussian.mean", {latent_}, gauss_mean_},
            {"latent_gaussian.cholesky", {latent_, latent_}, gauss_chol_}};
  }

  void load_extra_state(Context&, const std::vector<HostTensor>& tensors) override {
    for (const auto& t : tensors) {
      if (t.name == "latent_gaussian.mean") gauss_mean_ = t.data;
      if (t.name == "latent_gaussian.cholesky") gauss_chol_ = t.data;
    }
  }

 private:
  nlohmann::json config_;
  NetSpec spec_;
  int latent_ = 0;
  ParamStore ps_;
  Sequential encoder_, decoder_;
  std::vector<float> gauss_mean_;  // [Z]
  std::vector<float> gauss_chol_;  // [Z, Z] lower triangular, row-major
};

}  // namespace

ModelKind autoencoder_kind() {
  ModelKind k;
  k.name = "ae";
  k.summary = "classic autoencoder; generates by sampling a Gaussian fitted to the encoded training set";
  k.defaults = {{"arch", "mlp"}, {"hidden", "512,256"}, {"channels", "32,64"}, {"latent", 16}};
  k.train = TrainDefaults{20, 128, 1e-3f, false};
  k.create = [](Context& ctx, const nlohmann::json& c, uint64_t seed) -> std::unique_ptr<Model> {
    return std::make_unique<Autoencoder>(ctx, c, seed);
  };
  return k;
}

}  // namespace dg
