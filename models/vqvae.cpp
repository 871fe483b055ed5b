// The VQ-VAE (kind `vqvae`): a convolutional encoder to a 7x7 grid of D-dim vectors, vector quantization against a
// codebook of K codes (nearest code by GEMM + norms + argmin, straight-through gradient, commitment loss), a
// convolutional decoder, and a gated PixelCNN prior over the code grid (models/pixelcnn.h) that generates new
// digits. The codebook learns by exponential moving averages (default) or by its loss with Adam; codes unused for
// `dead_after` steps are re-seeded from encoder outputs of the current batch, and the first step seeds every code
// that way. A run trains the autoencoder for --epochs epochs, then the prior for `prior_epochs` epochs on the codes
// of the training set (encoded on the fly, autoencoder frozen); stage "prior" trains only the prior on the
// autoencoder of an existing run (`autoencoder`: that run's checkpoint).
#include <cmath>
#include <limits>

#include "kernels/activation.h"
#include "kernels/embedding.h"
#include "kernels/gather.h"
#include "kernels/gemm.h"
#include "kernels/layout.h"
#include "kernels/loss.h"
#include "kernels/rowwise_dot.h"
#include "kernels/vq.h"
#include "models/checkpoint.h"
#include "models/model.h"
#include "models/pixelcnn.h"
#include "runtime/error.h"
#include "runtime/nvtx.h"

namespace dg {
namespace {

constexpr int kGrid = 7;              // code grid side for 28x28 inputs
constexpr int kPositions = kGrid * kGrid;
constexpr float kEmaEps = 1e-5f;      // Laplace smoothing of the EMA counts

// The configuration keys that shape the autoencoder and codebook (they must match for --stage prior).
const char* const kAutoencoderKeys[] = {"channels", "codebook_size", "code_dim"};

class VqVae : public Model {
 public:
  VqVae(Context& ctx, const nlohmann::json& c, uint64_t seed) : config_(c) {
    const std::vector<int> ch = int_list(c.at("channels"), "channels");
    DG_REQUIRE(ch.size() == 2, "--channels: the VQ-VAE takes two widths (14x14 and 7x7), e.g. 32,64");
    K_ = c.at("codebook_size").get<int>();
    D_ = c.at("code_dim").get<int>();
    DG_REQUIRE(K_ >= 2 && K_ <= 65536, "--codebook-size: expected 2..65536 codes, got ", K_);
    DG_REQUIRE(D_ >= 1, "--code-dim: expected a positive dimension, got ", D_);
    beta_ = c.at("commitment").get<float>();
    DG_REQUIRE(beta_ >= 0.0f, "--commitment: expected a non-negative weight, got ", beta_);
    const std::string upd = c.at("codebook_update").get<std::string>();
    DG_REQUIRE(upd == "ema" || upd == "loss", "--codebook-update: expected ema or loss, got '", upd, "'");
    ema_ = upd == "ema";
    decay_ = c.at("ema_decay").get<float>();
    DG_REQUIRE(decay_ > 0.0f && decay_ < 1.0f, "--ema-decay: expected a number in (0, 1), got ", decay_);
    dead_after_ = c.at("dead_after").get<int>();
    DG_REQUIRE(dead_after_ >= 1, "--dead-after: expected at least 1 step, got ", dead_after_);
    prior_epochs_ = c.at("prior_epochs").get<int>();
    DG_REQUIRE(prior_epochs_ >= 0, "--prior-epochs: expected a non-negative number, got ", prior_epochs_);
    stage_ = c.at("stage").get<std::string>();
    DG_REQUIRE(stage_ == "both" || stage_ == "prior", "--stage: expected both or prior, got '", stage_, "'");
    DG_REQUIRE(stage_ == "both" || prior_epochs_ > 0, "--stage prior: --prior-epochs must be positive");
    conditional_ = c.at("conditional").get<bool>();

    // Encoder: 28 -> 14 -> 7, then a 3x3 and a 1x1 to D channels.
    encoder_.add<Conv2d>(ae_, "encoder.conv0", 1, ch[0], 4, 2, 1);
    encoder_.add<ActivationLayer>("vqvae/encoder.relu0", Activation::ReLU);
    encoder_.add<Conv2d>(ae_, "encoder.conv1", ch[0], ch[1], 4, 2, 1);
    encoder_.add<ActivationLayer>("vqvae/encoder.relu1", Activation::ReLU);
    encoder_.add<Conv2d>(ae_, "encoder.conv2", ch[1], ch[1], 3, 1, 1);
    encoder_.add<ActivationLayer>("vqvae/encoder.relu2", Activation::ReLU);
    encoder_.add<Conv2d>(ae_, "encoder.out", ch[1], D_, 1, 1, 0);
    // Decoder: D -> 3x3 -> 7 -> 14 -> 28 (logits).
    decoder_.add<Conv2d>(ae_, "decoder.in", D_, ch[1], 3, 1, 1);
    decoder_.add<ActivationLayer>("vqvae/decoder.relu0", Activation::ReLU);
    decoder_.add<ConvTranspose2d>(ae_, "decoder.up0", ch[1], ch[0], 4, 2, 1);
    decoder_.add<ActivationLayer>("vqvae/decoder.relu1", Activation::ReLU);
    decoder_.add<ConvTranspose2d>(ae_, "decoder.up1", ch[0], 1, 4, 2, 1);
    codebook_ = cb_.add("codebook", {K_, D_}, Init::Zeros);  // seeded from encoder outputs at the first step

    PixelCnnSpec ps;
    ps.codes = K_;
    ps.height = ps.width = kGrid;
    ps.channels = c.at("prior_channels").get<int>();
    ps.layers = c.at("prior_layers").get<int>();
    ps.kernel = c.at("prior_kernel").get<int>();
    ps.head = c.at("prior_head").get<int>();
    ps.conditional = conditional_;
    prior_ = std::make_unique<PixelCnnPrior>(pr_, "", ps);

    ae_.finalize(ctx, seed);
    cb_.finalize(ctx, seed);
    pr_.finalize(ctx, seed);
    ema_count_ = Tensor::zeros(ctx, {K_});
    ema_sum_ = Tensor::zeros(ctx, {K_, D_});
    idle_ = Tensor::zeros(ctx, {K_});
    if (stage_ == "prior") load_autoencoder(ctx, c.at("autoencoder").get<std::string>());
  }

  std::string kind() const override { return "vqvae"; }
  nlohmann::json config() const override { return config_; }
  std::vector<std::pair<std::string, ParamStore*>> param_stores() override {
    return {{"vqvae/", &ae_}, {"codebook/", &cb_}, {"prior/", &pr_}};
  }
  std::string headline_metric() const override { return "mse"; }
  bool can_generate() const override { return true; }
  bool conditional() const override { return conditional_; }
  bool can_reconstruct() const override { return true; }

  int total_epochs(int epochs) override {
    ae_epochs_ = stage_ == "prior" ? 0 : epochs;
    return ae_epochs_ + prior_epochs_;
  }

  void set_sampling_temperature(float t) override {
    DG_REQUIRE(t > 0.0f, "--temperature: expected a positive number, got ", t);
    temperature_ = t;
  }

  Metrics train_step(Context& ctx, const Batch& batch, const StepInfo& si, const OptimConfig& opt) override {
    prior_stage_ = opt.epoch >= ae_epochs_;
    return prior_stage_ ? prior_step(ctx, batch, opt) : autoencoder_step(ctx, batch, si, opt);
  }

  Metrics eval_batch(Context& ctx, const Batch& batch, int64_t) override {
    const int B = batch.size();
    const int64_t P = 28 * 28;
    Quantized q = encode_quantize(ctx, batch.images);
    Tensor logits = decode(ctx, q.zq);
    Tensor losses = Tensor::empty(ctx, {3});
    bce_logits_loss(ctx, logits.f32(), batch.images.f32(), losses.f32(), nullptr, B * P, 1.0f);
    Tensor recon = Tensor::empty(ctx, logits.shape());
    activation_forward(ctx, Activation::Sigmoid, 0.0f, logits.f32(), recon.f32(), recon.numel());
    mse_loss(ctx, recon.f32(), batch.images.f32(), losses.f32() + 1, nullptr, B * P, 1.0f / float(P));
    mse_loss(ctx, q.ze.f32(), q.zq.f32(), losses.f32() + 2, nullptr, q.ze.numel(), 1.0f);
    Metrics m;
    if (prior_stage_) {
      Tensor plogits = prior_->forward(ctx, q.idx, batch.labels);
      Tensor nll = Tensor::empty(ctx, {1});
      softmax_xent_loss(ctx, plogits.f32(), q.idx.as<int32_t>(), nll.f32(), nullptr, nullptr, B * kPositions, K_, 1.0f);
      m.push_back({"prior_nll", nll.to_host(ctx)[0]});
    }
    const std::vector<float> h = losses.to_host(ctx);
    m.insert(m.begin(), {{"bce", h[0]}, {"mse", h[1]}, {"commit", h[2]}});
    return m;
  }

  Tensor generate(Context& ctx, int64_t first, int n, uint64_t seed, const int32_t* labels) override {
    NvtxRange r("vqvae/generate");
    Tensor lab;
    if (conditional_) {
      std::vector<int32_t> l(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) l[size_t(i)] = labels ? labels[i] : int32_t((first + i) % 10);
      for (int32_t v : l) DG_REQUIRE(v >= 0 && v <= 9, "--label: expected a digit 0..9, got ", v);
      lab = Tensor::empty(ctx, {n}, DType::I32);
      copy_to_device(ctx, lab.raw(), l.data(), l.size() * sizeof(int32_t));
    }
    Tensor codes = prior_->sample(ctx, n, lab, temperature_, seed, first);
    Tensor zq = Tensor::empty(ctx, {int64_t(n) * kPositions, D_});
    embedding_forward(ctx, cb_.param(codebook_), codes.as<int32_t>(), zq.f32(), n * kPositions, K_, D_);
    return to_images(ctx, decode(ctx, zq));
  }

  Tensor restyle(Context&, const Tensor&, const int32_t*, const int32_t*) override {
    fail("model kind 'vqvae': only its prior takes a label, its encoder and decoder do not, so it cannot restyle "
         "digits");
  }

  Tensor reconstruct(Context& ctx, const Tensor& images, const int32_t*) override {
    Quantized q = encode_quantize(ctx, images);
    std::vector<int32_t> idx(size_t(q.idx.numel()));
    copy_to_host(ctx, idx.data(), q.idx.raw(), idx.size() * sizeof(int32_t));
    if (recon_counts_.size() != size_t(K_)) recon_counts_.assign(size_t(K_), 0);
    for (int32_t k : idx) ++recon_counts_[size_t(k)];
    return to_images(ctx, decode(ctx, q.zq));
  }

  Metrics take_reconstruct_stats() override {
    std::vector<double> counts(recon_counts_.begin(), recon_counts_.end());
    recon_counts_.clear();
    if (counts.empty()) return {};
    const auto h = usage(counts);
    return {{"perplexity", h.first}, {"codes_used", h.second}, {"codebook_size", double(K_)}};
  }

  std::vector<HostTensor> extra_state(Context& ctx) const override {
    return {{"codebook.ema_count", {K_}, ema_count_.to_host(ctx)},
            {"codebook.ema_sum", {K_, D_}, ema_sum_.to_host(ctx)},
            {"codebook.idle_steps", {K_}, idle_.to_host(ctx)},
            {"codebook.seeded", {1}, {seeded_ ? 1.0f : 0.0f}},
            {"codebook.restarts", {1}, {float(restarts_total_)}}};
  }

  void load_extra_state(Context& ctx, const std::vector<HostTensor>& tensors) override {
    const std::string what = "the VQ-VAE's codebook averages and restart counters";
    load_state_tensor(ctx, tensors, "codebook.ema_count", ema_count_, what);
    load_state_tensor(ctx, tensors, "codebook.ema_sum", ema_sum_, what);
    load_state_tensor(ctx, tensors, "codebook.idle_steps", idle_, what);
    auto scalar = [&](const std::string& name) {
      const HostTensor* t = find_state(tensors, name);
      DG_REQUIRE(t && t->data.size() == 1, "checkpoint: state/", name, ": expected one value (", what, ")");
      return t->data[0];
    };
    seeded_ = scalar("codebook.seeded") != 0.0f;
    restarts_total_ = int64_t(scalar("codebook.restarts"));
  }

 private:
  struct Quantized {
    Tensor ze;   // [N, D] encoder outputs, one row per grid position
    Tensor idx;  // [N] int32 nearest codes
    Tensor zq;   // [N, D] the chosen codes
  };

  // Nearest codes: dots = ze codebook^T (GEMM), norms |e_k|^2, argmin of norms - 2 dots; then the gather.
  Quantized quantize(Context& ctx, const Tensor& ze) {
    NvtxRange r("vqvae/quantize");
    const int N = int(ze.dim(0));
    const float* cb = cb_.param(codebook_);
    Quantized q;
    q.ze = ze;
    Tensor dots = Tensor::empty(ctx, {N, K_});
    gemm(ctx, Transpose::No, Transpose::Yes, N, K_, D_, 1.0f, ze.f32(), cb, 0.0f, dots.f32());
    Tensor norms = Tensor::empty(ctx, {K_});
    rowwise_dot_forward(ctx, cb, cb, norms.f32(), K_, D_);
    q.idx = Tensor::empty(ctx, {N}, DType::I32);
    vq_nearest(ctx, dots.f32(), norms.f32(), q.idx.as<int32_t>(), nullptr, N, K_);
    q.zq = Tensor::empty(ctx, {N, D_});
    embedding_forward(ctx, cb, q.idx.as<int32_t>(), q.zq.f32(), N, K_, D_);
    return q;
  }

  // Encoder output [B, D, 7, 7] as rows [B * 49, D].
  Tensor encode_rows(Context& ctx, const Tensor& images, const StepInfo& si) {
    DG_REQUIRE(images.rank() == 4 && images.dim(1) == 1 && images.dim(2) == 28 && images.dim(3) == 28,
               "vqvae: expected images [B, 1, 28, 28], got ", shape_str(images.shape()));
    Tensor ze = encoder_.forward(ctx, images, si);
    const int B = int(ze.dim(0));
    Tensor rows = Tensor::empty(ctx, {int64_t(B) * kPositions, D_});
    channels_last(ctx, ze.f32(), rows.f32(), B, D_, kPositions);
    return rows;
  }

  Quantized encode_quantize(Context& ctx, const Tensor& images) {
    return quantize(ctx, encode_rows(ctx, images, StepInfo{}));
  }

  // Rows [B * 49, D] of codes -> decoder logits [B, 1, 28, 28].
  Tensor decode(Context& ctx, const Tensor& zq) {
    const int B = int(zq.dim(0) / kPositions);
    Tensor x = Tensor::empty(ctx, {B, D_, kGrid, kGrid});
    channels_first(ctx, zq.f32(), x.f32(), B, D_, kPositions);
    return decoder_.forward(ctx, x, StepInfo{});
  }

  static Tensor to_images(Context& ctx, const Tensor& logits) {
    Tensor img = Tensor::empty(ctx, logits.shape());
    activation_forward(ctx, Activation::Sigmoid, 0.0f, logits.f32(), img.f32(), img.numel());
    return img;
  }

  // Perplexity exp(H(p)) of the code histogram and the number of codes with a nonzero count.
  static std::pair<double, double> usage(const std::vector<double>& counts) {
    double total = 0, used = 0, ent = 0;
    for (double c : counts) total += c;
    for (double c : counts)
      if (c > 0) {
        used += 1;
        const double p = c / total;
        ent -= p * std::log(p);
      }
    return {std::exp(ent), used};
  }

  Metrics autoencoder_step(Context& ctx, const Batch& batch, const StepInfo& si, const OptimConfig& opt) {
    const int B = batch.size();
    const int64_t P = 28 * 28;
    const int N = B * kPositions;
    const float inv_b = 1.0f / float(B);
    ae_.zero_grad(ctx);
    Tensor ze = encode_rows(ctx, batch.images, si);
    Tensor counts = Tensor::empty(ctx, {K_});
    Tensor restarted = Tensor::empty(ctx, {K_});
    int64_t restarts = 0;
    float* ema_count = ema_ ? ema_count_.f32() : nullptr;
    float* ema_sum = ema_ ? ema_sum_.f32() : nullptr;
    if (!seeded_) {  // the first step seeds every code from this batch's encoder outputs
      fill(ctx, counts.f32(), 0.0f, K_);
      fill(ctx, idle_.f32(), float(dead_after_), K_);
      vq_dead_code_restart(ctx, counts.f32(), idle_.f32(), ze.f32(), cb_.param(codebook_), ema_count, ema_sum,
                           restarted.f32(), N, D_, K_, dead_after_, si.seed, si.step);
      seeded_ = true;
    }
    Quantized q = quantize(ctx, ze);
    // Decoder on the codes; reconstruction loss per image.
    Tensor x = Tensor::empty(ctx, {B, D_, kGrid, kGrid});
    channels_first(ctx, q.zq.f32(), x.f32(), B, D_, kPositions);
    Tensor logits = decoder_.forward(ctx, x, si);
    Tensor losses = Tensor::empty(ctx, {2});
    Tensor dlogits = Tensor::empty(ctx, logits.shape());
    bce_logits_loss(ctx, logits.f32(), batch.images.f32(), losses.f32(), dlogits.f32(), B * P, inv_b);
    mse_loss(ctx, ze.f32(), q.zq.f32(), losses.f32() + 1, nullptr, ze.numel(), inv_b);  // |ze - zq|^2 per image
    Tensor dx = decoder_.backward(ctx, dlogits, true);
    // Straight-through: the decoder's gradient at zq goes to ze, plus the commitment term beta |ze - sg(zq)|^2.
    Tensor dzq = Tensor::empty(ctx, {N, D_});
    channels_last(ctx, dx.f32(), dzq.f32(), B, D_, kPositions);
    Tensor dze_rows = Tensor::empty(ctx, {N, D_});
    vq_straight_through_backward(ctx, dzq.f32(), ze.f32(), q.zq.f32(), dze_rows.f32(), dze_rows.numel(),
                                 2.0f * beta_ * inv_b);
    Tensor dze = Tensor::empty(ctx, {B, D_, kGrid, kGrid});
    channels_first(ctx, dze_rows.f32(), dze.f32(), B, D_, kPositions);
    encoder_.backward(ctx, dze, false);
    ae_.adam_step(ctx, opt.adam);
    // Codebook: EMA of the assigned vectors, or the codebook loss |sg(ze) - e|^2 with Adam.
    if (ema_) {
      Tensor sums = Tensor::empty(ctx, {K_, D_});
      vq_code_sums(ctx, q.idx.as<int32_t>(), ze.f32(), counts.f32(), sums.f32(), N, D_, K_);
      vq_ema_update(ctx, counts.f32(), sums.f32(), ema_count_.f32(), ema_sum_.f32(), cb_.param(codebook_), K_, D_,
                    decay_, kEmaEps);
    } else {
      vq_code_sums(ctx, q.idx.as<int32_t>(), ze.f32(), counts.f32(), nullptr, N, D_, K_);
      cb_.zero_grad(ctx);
      Tensor dcodes = Tensor::empty(ctx, {N, D_});
      Tensor unused = Tensor::empty(ctx, {1});
      mse_loss(ctx, q.zq.f32(), ze.f32(), unused.f32(), dcodes.f32(), dcodes.numel(), inv_b);
      embedding_backward(ctx, dcodes.f32(), q.idx.as<int32_t>(), cb_.grad(codebook_), N, K_, D_);
      cb_.adam_step(ctx, opt.adam);
    }
    // Dead codes: unused for dead_after steps, re-seeded from this batch's encoder outputs.
    vq_dead_code_restart(ctx, counts.f32(), idle_.f32(), ze.f32(), cb_.param(codebook_), ema_count, ema_sum,
                         restarted.f32(), N, D_, K_, dead_after_, si.seed, si.step);
    const std::vector<float> ch = counts.to_host(ctx), rh = restarted.to_host(ctx), lh = losses.to_host(ctx);
    for (float v : rh) restarts += v > 0.0f ? 1 : 0;
    restarts_total_ += restarts;
    const auto u = usage(std::vector<double>(ch.begin(), ch.end()));
    const double commit = lh[1];
    const double loss = lh[0] + (ema_ ? 0.0 : commit) + beta_ * commit;
    return {{"loss", loss}, {"bce", lh[0]},       {"commit", commit},
            {"perplexity", u.first}, {"codes_used", u.second}, {"restarts", double(restarts)},
            {"restarts_total", double(restarts_total_)}};
  }

  Metrics prior_step(Context& ctx, const Batch& batch, const OptimConfig& opt) {
    const int B = batch.size();
    Quantized q = encode_quantize(ctx, batch.images);
    pr_.zero_grad(ctx);
    Tensor logits = prior_->forward(ctx, q.idx, batch.labels);
    Tensor loss = Tensor::empty(ctx, {1});
    Tensor dlogits = Tensor::empty(ctx, logits.shape());
    softmax_xent_loss(ctx, logits.f32(), q.idx.as<int32_t>(), loss.f32(), dlogits.f32(), nullptr, B * kPositions, K_,
                      1.0f / float(B));
    prior_->backward(ctx, dlogits);
    pr_.adam_step(ctx, opt.adam);
    return {{"prior_nll", loss.to_host(ctx)[0]}};
  }

  // --stage prior: the autoencoder, codebook and codebook state of an existing run, frozen.
  void load_autoencoder(Context& ctx, const std::string& path) {
    DG_REQUIRE(!path.empty(), "--stage prior: give the VQ-VAE to train a prior for with --checkpoint RUN");
    LoadedModel src = load_checkpoint(ctx, path);
    DG_REQUIRE(src.meta.kind == "vqvae", "--checkpoint ", src.path, ": holds model kind '", src.meta.kind,
               "', expected a vqvae run");
    for (const char* key : kAutoencoderKeys)
      DG_REQUIRE(src.meta.config.at(key) == config_.at(key), "--stage prior: setting '", key, "' is ",
                 config_.at(key).dump(), " here but ", src.meta.config.at(key).dump(), " in ", src.path);
    auto* other = dynamic_cast<VqVae*>(src.model.get());
    DG_REQUIRE(other != nullptr, "internal: vqvae checkpoint did not load as a VqVae");
    DG_REQUIRE(other->seeded_, "--checkpoint ", src.path, ": its codebook was never trained");
    copy_params(ctx, other->ae_, ae_);
    copy_params(ctx, other->cb_, cb_);
    load_extra_state(ctx, other->extra_state(ctx));
  }

  static void copy_params(Context& ctx, ParamStore& from, ParamStore& to) {
    DG_REQUIRE(from.count() == to.count(), "internal: parameter count mismatch copying the autoencoder");
    const std::vector<float> h = from.params().to_host(ctx);
    copy_to_device(ctx, to.params().raw(), h.data(), h.size() * sizeof(float));
  }

  nlohmann::json config_;
  int K_ = 0, D_ = 0;
  float beta_ = 0.25f, decay_ = 0.99f;
  bool ema_ = true, conditional_ = false;
  int dead_after_ = 100, prior_epochs_ = 0;
  std::string stage_;
  ParamStore ae_, cb_, pr_;
  Sequential encoder_, decoder_;
  int codebook_ = -1;
  std::unique_ptr<PixelCnnPrior> prior_;
  Tensor ema_count_, ema_sum_, idle_;  // [K], [K, D], [K]
  bool seeded_ = false;
  int64_t restarts_total_ = 0;
  // Autoencoder epochs before the prior's (set by total_epochs); without a schedule (the benchmark, tests) every
  // step trains the autoencoder.
  int ae_epochs_ = std::numeric_limits<int>::max();
  bool prior_stage_ = false;
  float temperature_ = 1.0f;
  std::vector<int64_t> recon_counts_;
};

}  // namespace

ModelKind vqvae_kind() {
  ModelKind k;
  k.name = "vqvae";
  k.summary = "VQ-VAE with a 7x7 code grid (EMA codebook, dead-code restarts) and a gated PixelCNN prior that "
              "generates (sample --temperature; --conditional prior takes --label)";
  k.defaults = {{"channels", "32,64"},     {"codebook_size", 128},  {"code_dim", 16},
                {"commitment", 0.25},      {"codebook_update", "ema"}, {"ema_decay", 0.99},
                {"dead_after", 20},        {"prior_channels", 32},  {"prior_layers", 3},
                {"prior_kernel", 5},       {"prior_head", 128},     {"prior_epochs", 2},
                {"conditional", false},    {"stage", "both"},       {"autoencoder", ""}};
  k.train = TrainDefaults{3, 128, 1e-3f, false};
  k.create = [](Context& ctx, const nlohmann::json& c, uint64_t seed) -> std::unique_ptr<Model> {
    return std::make_unique<VqVae>(ctx, c, seed);
  };
  return k;
}

}  // namespace dg
