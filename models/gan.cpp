// The GAN: generator z [B, Z] (+ one-hot label) -> Linear -> [c2, 7, 7] -> BN -> ReLU -> ConvT (c2 -> c1, 14x14)
// -> BN -> ReLU -> ConvT (c1 -> 1, 28x28) -> Sigmoid; discriminator Conv (1 -> c1) -> LeakyReLU(0.2) -> Conv (c1 ->
// c2) -> LeakyReLU(0.2) -> flatten h [B, c2*49] -> Linear -> logit, plus embed[y] . h when conditional (projection
// discriminator). Spectral normalisation on the discriminator's three weights (one power iteration per step). Each
// training step is one discriminator step on (real, G(z)) then one generator step on the same G(z), then the
// update of the generator's weight average, from which generate() draws.
#include "models/gan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "kernels/embedding.h"
#include "kernels/gather.h"
#include "kernels/loss.h"
#include "kernels/one_hot.h"
#include "kernels/rowwise_dot.h"
#include "models/checkpoint.h"
#include "models/judge.h"
#include "models/sampling.h"
#include "runtime/error.h"
#include "runtime/philox.h"

namespace dg {
namespace {

constexpr int kClasses = 10;
constexpr uint64_t kEvalSeed = 0x5EED5EEDull;      // generated images of the test metrics
constexpr uint64_t kCollapseSeed = 0xC011A95Eull;  // the fixed batch classified after each epoch
constexpr int kCollapseSamples = 1000;
// The discriminator's weights are drawn from seed ^ this, so they do not share Philox streams with the
// generator's (both stores number their tensors from 0).
constexpr uint64_t kDiscSeedSalt = 0x9E3779B97F4A7C15ull;

std::string evaluator_path() {
  if (const char* e = std::getenv("DIGITGEN_EVALUATOR")) return e;
#ifdef DIGITGEN_SOURCE_DIR
  return DIGITGEN_SOURCE_DIR "/models/weights/evaluator.safetensors";
#else
  return "models/weights/evaluator.safetensors";
#endif
}

float mean_sigmoid(const std::vector<float>& x, size_t begin, size_t end) {
  double s = 0;
  for (size_t i = begin; i < end; ++i) s += 1.0 / (1.0 + std::exp(-double(x[i])));
  return float(s / double(std::max<size_t>(1, end - begin)));
}

}  // namespace

Gan::Gan(Context& ctx, const nlohmann::json& c, uint64_t seed) : config_(c) {
  latent_ = c.at("latent").get<int>();
  DG_REQUIRE(latent_ > 0, "--latent: expected a positive size, got ", latent_);
  const std::vector<int> ch = int_list(c.at("channels"), "channels");
  DG_REQUIRE(ch.size() == 2, "--channels: the GAN takes two widths c1,c2 like 64,128, got ", ch.size());
  c1_ = ch[0];
  c2_ = ch[1];
  feat_ = c2_ * 49;
  conditional_ = c.at("conditional").get<bool>();
  spectral_norm_ = c.at("spectral_norm").get<bool>();
  const std::string loss = c.at("gan_loss").get<std::string>();
  DG_REQUIRE(loss == "bce" || loss == "hinge", "--gan-loss: expected bce or hinge, got '", loss, "'");
  hinge_ = loss == "hinge";
  label_smoothing_ = c.at("label_smoothing").get<float>();
  DG_REQUIRE(label_smoothing_ > 0.0f && label_smoothing_ <= 1.0f,
             "--label-smoothing: expected the real-image target in (0, 1], got ", label_smoothing_);

  // Generator.
  if (conditional_) gen_cond_ = gen_net_.add<ConcatInput>("gen.cond", kClasses);
  gen_net_.add<Linear>(gen_, "fc", latent_ + (conditional_ ? kClasses : 0), feat_);
  gen_net_.add<Reshape>("gen.reshape", Shape{c2_, 7, 7});
  gen_net_.add<BatchNorm2d>(ctx, gen_, "bn0", c2_);
  gen_net_.add<ActivationLayer>("gen.relu0", Activation::ReLU);
  gen_net_.add<ConvTranspose2d>(gen_, "deconv0", c2_, c1_, 4, 2, 1);
  gen_net_.add<BatchNorm2d>(ctx, gen_, "bn1", c1_);
  gen_net_.add<ActivationLayer>("gen.relu1", Activation::ReLU);
  gen_net_.add<ConvTranspose2d>(gen_, "deconv1", c1_, 1, 4, 2, 1);
  gen_net_.add<ActivationLayer>("gen.sigmoid", Activation::Sigmoid);

  // Discriminator, on the view store (see gan.h), mirrored tensor for tensor into disc_.
  disc_trunk_.add<Conv2d>(disc_view_, "conv0", 1, c1_, 4, 2, 1);
  disc_trunk_.add<ActivationLayer>("disc.lrelu0", Activation::LeakyReLU, 0.2f);
  disc_trunk_.add<Conv2d>(disc_view_, "conv1", c1_, c2_, 4, 2, 1);
  disc_trunk_.add<ActivationLayer>("disc.lrelu1", Activation::LeakyReLU, 0.2f);
  disc_trunk_.add<Reshape>("disc.flatten", Shape{feat_});
  disc_fc_ = std::make_unique<Linear>(disc_view_, "fc", feat_, 1);
  if (conditional_) embed_ = disc_view_.add("embed", {kClasses, feat_}, Init::UniformFanIn, feat_);
  for (const ParamSpec& s : disc_view_.specs()) disc_.add(s.name, s.shape, s.init, s.fan_in);

  gen_.finalize(ctx, seed);
  disc_.finalize(ctx, seed ^ kDiscSeedSalt);
  // Configurations written before the average existed have no ema_decay: they sample from the raw weights.
  const float ema_decay = c.value("ema_decay", 0.0f);
  DG_REQUIRE(ema_decay >= 0.0f && ema_decay < 1.0f, "--ema-decay: expected a value in [0, 1), got ", ema_decay);
  if (ema_decay > 0.0f) gen_average_ = std::make_unique<WeightAverage>(ctx, gen_, ema_decay, "gen/ema");
  disc_view_.finalize(ctx, seed ^ kDiscSeedSalt);  // its values are overwritten before every use

  if (spectral_norm_) {
    const auto& specs = disc_.specs();
    for (int i = 0; i < int(specs.size()); ++i) {
      const std::string& n = specs[size_t(i)].name;
      if (n != "conv0.weight" && n != "conv1.weight" && n != "fc.weight") continue;
      SnWeight w;
      w.index = i;
      w.rows = int(specs[size_t(i)].shape[0]);
      w.cols = int(numel(specs[size_t(i)].shape) / w.rows);
      w.state = spectral_norm_init(ctx, w.rows, w.cols, seed, uint32_t(i));
      w.sigma = Tensor::zeros(ctx, {1});
      sn_.push_back(std::move(w));
    }
  }
}

// The weights the discriminator's layers use: a copy of disc_'s slab with each normalised weight replaced by
// W / sigma (n_iter power iterations first; 0 keeps u, v).
void Gan::refresh_disc_weights(Context& ctx, int n_iter) {
  axpby(ctx, 1.0f, disc_.params().f32(), 0.0f, disc_view_.params().f32(), disc_.count());
  for (SnWeight& w : sn_)
    spectral_norm_forward(ctx, disc_.param(w.index), w.state.u.f32(), w.state.v.f32(), disc_view_.param(w.index),
                          w.sigma.f32(), w.rows, w.cols, n_iter);
}

// Gradients with respect to the used weights (disc_view_) -> gradients with respect to disc_'s raw weights
// (overwritten).
void Gan::map_disc_grads(Context& ctx) {
  axpby(ctx, 1.0f, disc_view_.grads().f32(), 0.0f, disc_.grads().f32(), disc_.count());
  for (SnWeight& w : sn_)
    spectral_norm_backward(ctx, disc_view_.grad(w.index), disc_view_.param(w.index), w.state.u.f32(),
                           w.state.v.f32(), w.sigma.f32(), disc_.grad(w.index), w.rows, w.cols, Grad::Overwrite);
}

Tensor Gan::noise(Context& ctx, uint64_t seed, uint32_t step, int B) const {
  std::vector<float> z(size_t(B) * latent_);
  for (int r = 0; r < B; ++r)
    for (int j = 0; j < latent_; ++j)
      z[size_t(r) * latent_ + j] =
          philox_normal(seed, kPurposeGanNoise, (uint64_t(step) * B + uint64_t(r)) * latent_ + uint64_t(j), 0);
  return Tensor::from_host(ctx, {B, latent_}, z.data());
}

// Labels [copies * n] on the device (the host labels repeated), each checked to be a digit.
Tensor Gan::labels_to_device(Context& ctx, const std::vector<int32_t>& labels, int copies) const {
  const int n = int(labels.size());
  for (int i = 0; i < n; ++i)
    DG_REQUIRE(labels[size_t(i)] >= 0 && labels[size_t(i)] < kClasses, "label ", labels[size_t(i)], " at position ",
               i, ": expected a digit 0..9");
  std::vector<int32_t> all;
  for (int k = 0; k < copies; ++k) all.insert(all.end(), labels.begin(), labels.end());
  Tensor t = Tensor::empty(ctx, {int64_t(all.size())}, DType::I32);
  copy_to_device(ctx, t.raw(), all.data(), all.size() * sizeof(int32_t));
  return t;
}

Tensor Gan::one_hot_of(Context& ctx, const Tensor& ids) const {
  const int n = int(ids.numel());
  Tensor y = Tensor::empty(ctx, {n, kClasses});
  one_hot(ctx, ids.as<int32_t>(), y.f32(), n, kClasses);
  return y;
}

Tensor Gan::gen_forward(Context& ctx, const Tensor& z, const Tensor& onehot, bool train) {
  if (conditional_) gen_cond_->set_input(onehot);
  return gen_net_.forward(ctx, z, StepInfo{train, 0, 0});
}

// logits [N, 1] for images x [N, 1, 28, 28] (ids [N] when conditional).
Tensor Gan::disc_forward(Context& ctx, const Tensor& x, const Tensor& ids) {
  const int N = int(x.dim(0));
  const StepInfo si;
  h_ = disc_trunk_.forward(ctx, x, si);  // [N, feat]
  Tensor logit = disc_fc_->forward(ctx, h_, si);
  if (conditional_) {
    ids_ = ids;
    e_ = Tensor::empty(ctx, {N, feat_});
    embedding_forward(ctx, disc_view_.param(embed_), ids.as<int32_t>(), e_.f32(), N, kClasses, feat_);
    Tensor p = Tensor::empty(ctx, {N});
    rowwise_dot_forward(ctx, h_.f32(), e_.f32(), p.f32(), N, feat_);
    axpby(ctx, 1.0f, p.f32(), 1.0f, logit.f32(), N);
  }
  return logit;
}

Tensor Gan::disc_backward(Context& ctx, const Tensor& dlogit, bool need_dx) {
  const int N = int(dlogit.dim(0));
  Tensor dh = disc_fc_->backward(ctx, dlogit, true);
  if (conditional_) {
    rowwise_dot_backward(ctx, dlogit.f32(), h_.f32(), e_.f32(), dh.f32(), nullptr, N, feat_, Grad::Accumulate);
    Tensor de = Tensor::empty(ctx, {N, feat_});
    rowwise_dot_backward(ctx, dlogit.f32(), h_.f32(), e_.f32(), nullptr, de.f32(), N, feat_, Grad::Overwrite);
    embedding_backward(ctx, de.f32(), ids_.as<int32_t>(), disc_view_.grad(embed_), N, kClasses, feat_);
  }
  return disc_trunk_.backward(ctx, dh, need_dx);
}

// Real rows 0..B-1, generated rows B..2B-1; each half's loss is a batch mean, the two are added.
float Gan::disc_loss(Context& ctx, const Tensor& logits, Tensor& dlogits, int B) {
  dlogits = Tensor::empty(ctx, logits.shape());
  Tensor l = Tensor::empty(ctx, {2});
  const float inv_b = 1.0f / float(B);
  if (hinge_) {
    hinge_loss(ctx, logits.f32(), l.f32(), dlogits.f32(), B, 1.0f, inv_b);
    hinge_loss(ctx, logits.f32() + B, l.f32() + 1, dlogits.f32() + B, B, -1.0f, inv_b);
  } else {
    Tensor t = Tensor::empty(ctx, {2 * B});
    fill(ctx, t.f32(), label_smoothing_, B);  // one-sided label smoothing
    fill(ctx, t.f32() + B, 0.0f, B);
    bce_logits_loss(ctx, logits.f32(), t.f32(), l.f32(), dlogits.f32(), 2 * B, inv_b);
    fill(ctx, l.f32() + 1, 0.0f, 1);
  }
  const std::vector<float> h = l.to_host(ctx);
  return h[0] + h[1];
}

// Non-saturating BCE (target 1 for generated images) or the hinge generator loss -mean D(G(z)).
float Gan::gen_loss(Context& ctx, const Tensor& logits, Tensor& dlogits, int B) {
  dlogits = Tensor::empty(ctx, logits.shape());
  const float inv_b = 1.0f / float(B);
  if (hinge_) {
    fill(ctx, dlogits.f32(), -inv_b, B);
    const std::vector<float> x = logits.to_host(ctx);
    double s = 0;
    for (float v : x) s += v;
    return float(-s * inv_b);
  }
  Tensor t = Tensor::empty(ctx, {B});
  fill(ctx, t.f32(), 1.0f, B);
  Tensor l = Tensor::empty(ctx, {1});
  bce_logits_loss(ctx, logits.f32(), t.f32(), l.f32(), dlogits.f32(), B, inv_b);
  return l.to_host(ctx)[0];
}

static std::vector<int32_t> host_labels(Context& ctx, const Batch& batch) {
  const int B = batch.size();
  DG_REQUIRE(batch.labels.defined() && batch.labels.dtype() == DType::I32 && batch.labels.numel() == B,
             "gan --conditional: the batch needs int32 labels [", B, "]");
  std::vector<int32_t> h(static_cast<size_t>(B));
  copy_to_host(ctx, h.data(), batch.labels.raw(), h.size() * sizeof(int32_t));
  return h;
}

// Joins a [B, ...] and b [B, ...] along the batch: [2B, ...].
static Tensor join_rows(Context& ctx, const Tensor& a, const Tensor& b) {
  Shape s = a.shape();
  s[0] *= 2;
  Tensor out = Tensor::empty(ctx, s);
  axpby(ctx, 1.0f, a.f32(), 0.0f, out.f32(), a.numel());
  axpby(ctx, 1.0f, b.f32(), 0.0f, out.f32() + a.numel(), b.numel());
  return out;
}

Metrics Gan::train_step(Context& ctx, const Batch& batch, const StepInfo& si, const OptimConfig& opt) {
  const int B = batch.size();
  std::vector<int32_t> lab;
  Tensor ids1, ids2, onehot;
  if (conditional_) {
    lab = host_labels(ctx, batch);  // generated digits take the batch's labels
    ids1 = labels_to_device(ctx, lab, 1);
    ids2 = labels_to_device(ctx, lab, 2);
    onehot = one_hot_of(ctx, ids1);
  }
  const Tensor z = noise(ctx, si.seed, si.step, B);
  refresh_disc_weights(ctx, spectral_norm_ ? 1 : 0);
  const Tensor fake = gen_forward(ctx, z, onehot, true);

  // Discriminator step on real and generated images in one batch of 2B (it has no batch statistics).
  disc_view_.zero_grad(ctx);
  const Tensor logits_d = disc_forward(ctx, join_rows(ctx, batch.images, fake), ids2);
  Tensor dl;
  const float loss_d = disc_loss(ctx, logits_d, dl, B);
  disc_backward(ctx, dl, false);
  map_disc_grads(ctx);
  disc_.adam_step(ctx, opt.adam);
  const std::vector<float> ld = logits_d.to_host(ctx);
  const float d_real = mean_sigmoid(ld, 0, size_t(B)), d_fake = mean_sigmoid(ld, size_t(B), size_t(2 * B));

  // Generator step through the updated discriminator (same u, v: one power iteration per step).
  refresh_disc_weights(ctx, 0);
  const float loss_g = generator_backward(ctx, fake, ids1);
  gen_.adam_step(ctx, opt.adam);
  if (gen_average_) gen_average_->update(ctx);

  sum_d_real_ += d_real;
  sum_d_fake_ += d_fake;
  ++d_count_;
  return {{"loss", loss_d + loss_g}, {"loss_d", loss_d}, {"loss_g", loss_g}, {"d_real", d_real}, {"d_fake", d_fake}};
}

double Gan::disc_loss_and_grads(Context& ctx, const Tensor& real, const Tensor& fake, const int32_t* labels) {
  const int B = int(real.dim(0));
  Tensor ids2;
  if (conditional_) ids2 = labels_to_device(ctx, std::vector<int32_t>(labels, labels + B), 2);
  refresh_disc_weights(ctx, 0);
  disc_view_.zero_grad(ctx);
  const Tensor logits = disc_forward(ctx, join_rows(ctx, real, fake), ids2);
  Tensor dl;
  const float loss = disc_loss(ctx, logits, dl, B);
  disc_backward(ctx, dl, false);
  map_disc_grads(ctx);
  return loss;
}

double Gan::gen_loss_and_grads(Context& ctx, const Tensor& z, const int32_t* labels) {
  const int B = int(z.dim(0));
  Tensor ids, onehot;
  if (conditional_) {
    ids = labels_to_device(ctx, std::vector<int32_t>(labels, labels + B), 1);
    onehot = one_hot_of(ctx, ids);
  }
  refresh_disc_weights(ctx, 0);
  const Tensor fake = gen_forward(ctx, z, onehot, true);
  return generator_backward(ctx, fake, ids);
}

float Gan::generator_backward(Context& ctx, const Tensor& fake, const Tensor& ids) {
  disc_view_.zero_grad(ctx);
  const Tensor logits = disc_forward(ctx, fake, ids);
  Tensor dlg;
  const float loss = gen_loss(ctx, logits, dlg, int(fake.dim(0)));
  const Tensor dfake = disc_backward(ctx, dlg, true);
  gen_.zero_grad(ctx);
  gen_net_.backward(ctx, dfake, false);
  return loss;
}

// Test metrics: mean D output on the test images and on as many generated ones (fixed seed, sample index = test
// index, the test image's label when conditional); after the first epoch also the collapse statistics of the last
// end_of_epoch (returned times B, as the trainer divides the sums by the image count).
Metrics Gan::eval_batch(Context& ctx, const Batch& batch, int64_t first_index) {
  const int B = batch.size();
  std::vector<int32_t> lab;
  Tensor ids;
  if (conditional_) {
    lab = host_labels(ctx, batch);
    ids = labels_to_device(ctx, lab, 1);
  }
  refresh_disc_weights(ctx, 0);
  const std::vector<float> lr = disc_forward(ctx, batch.images, ids).to_host(ctx);
  const Tensor fake = generate(ctx, first_index, B, kEvalSeed, conditional_ ? lab.data() : nullptr);
  const std::vector<float> lf = disc_forward(ctx, fake, ids).to_host(ctx);
  Metrics m = {{"d_real", mean_sigmoid(lr, 0, lr.size()) * double(B)},
               {"d_fake", mean_sigmoid(lf, 0, lf.size()) * double(B)}};
  if (class_entropy_ >= 0) {
    m.push_back({"class_entropy", class_entropy_ * B});
    m.push_back({"min_class_share", min_class_share_ * B});
  }
  return m;
}

// Sample i: latent from (seed, first + i) as the other kinds; label labels[i], else (first + i) % 10. Uses the
// weight average when there is one.
Tensor Gan::generate(Context& ctx, int64_t first, int n, uint64_t seed, const int32_t* labels) {
  std::vector<float> zh(size_t(n) * latent_);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < latent_; ++j)
      zh[size_t(i) * latent_ + j] = philox_normal(seed, kPurposeSampleLatent, uint64_t(first + i) * latent_ + j, 0);
  Tensor onehot;
  if (conditional_) {
    std::vector<int32_t> lab(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) lab[size_t(i)] = labels ? labels[i] : int32_t((first + i) % kClasses);
    onehot = one_hot_of(ctx, labels_to_device(ctx, lab, 1));
  }
  WeightAverage::Use averaged(ctx, gen_average_.get());
  return gen_forward(ctx, Tensor::from_host(ctx, {n, latent_}, zh.data()), onehot, false);
}

Tensor Gan::restyle(Context&, const Tensor&, const int32_t*, const int32_t*) {
  fail("model kind 'gan' has no encoder, so it cannot restyle digits (use a cvae)");
}

// Collapse detection: the committed evaluator classifies a fixed batch of generated digits; a flat class histogram
// has entropy ln 10 = 2.303 nats and every share 10%. Also warns when the discriminator wins outright.
void Gan::end_of_epoch(Context& ctx, DeviceDataset&) {
  if (d_count_ > 0) {
    const double dr = sum_d_real_ / double(d_count_), df = sum_d_fake_ / double(d_count_);
    if (dr > 0.95 && df < 0.05)
      std::fprintf(stderr,
                   "warning: gan: the discriminator wins outright (mean d_real %.3f, d_fake %.3f this epoch); the "
                   "generator gets little gradient\n",
                   dr, df);
  }
  sum_d_real_ = sum_d_fake_ = 0;
  d_count_ = 0;

  if (!evaluator_ && !evaluator_missing_) {
    const std::string path = evaluator_path();
    if (!std::filesystem::exists(path)) {
      std::fprintf(stderr, "warning: gan: no evaluator classifier at %s (set DIGITGEN_EVALUATOR); skipping collapse "
                           "detection\n", path.c_str());
      evaluator_missing_ = true;
      return;
    }
    evaluator_ = load_checkpoint(ctx, path).model;
    DG_REQUIRE(evaluator_->can_classify(), path, ": the evaluator is not a classifier");
  }
  if (!evaluator_) return;
  std::vector<int32_t> predicted;
  const int chunk = 250;
  for (int first = 0; first < kCollapseSamples; first += chunk) {
    const int n = std::min(chunk, kCollapseSamples - first);
    const std::vector<float> img = generate(ctx, first, n, kCollapseSeed, nullptr).to_host(ctx);
    const std::vector<int32_t> p = predict_digits(ctx, *evaluator_, img.data(), n);
    predicted.insert(predicted.end(), p.begin(), p.end());
  }
  const ClassReport report = judge_predictions(predicted, nullptr);
  const double entropy = report.entropy, min_share = report.min_share;
  class_entropy_ = entropy;
  min_class_share_ = min_share;
  if (min_share < 0.02 || entropy < 1.8)
    std::fprintf(stderr,
                 "warning: gan: mode collapse: the evaluator's class histogram of %d generated digits has entropy "
                 "%.3f nats (max 2.303) and smallest class share %.3f\n",
                 kCollapseSamples, entropy, min_share);
}

std::vector<HostTensor> Gan::extra_state(Context& ctx) const {
  std::vector<HostTensor> out;
  for (const SnWeight& w : sn_) {
    const std::string n = "disc/" + disc_.specs()[size_t(w.index)].name;
    out.push_back({n + ".sn_u", {w.rows}, w.state.u.to_host(ctx)});
    out.push_back({n + ".sn_v", {w.cols}, w.state.v.to_host(ctx)});
  }
  for (auto& [name, t] : const_cast<Sequential&>(gen_net_).state())
    out.push_back({"gen/" + name, t->shape(), t->to_host(ctx)});
  if (gen_average_) out.push_back(gen_average_->state(ctx));
  return out;
}

void Gan::load_extra_state(Context& ctx, const std::vector<HostTensor>& tensors) {
  auto put = [&](const std::string& name, Tensor& dst) {
    load_state_tensor(ctx, tensors, name, dst, "GAN spectral-norm vectors and batch-norm statistics");
  };
  for (SnWeight& w : sn_) {
    const std::string n = "disc/" + disc_.specs()[size_t(w.index)].name;
    put(n + ".sn_u", w.state.u);
    put(n + ".sn_v", w.state.v);
  }
  for (auto& [name, t] : gen_net_.state()) put("gen/" + name, *t);
  if (!gen_average_) return;
  if (find_state(tensors, "gen/ema")) {
    gen_average_->load_state(ctx, tensors);
  } else {  // written before the weight average existed
    std::fprintf(stderr, "warning: gan: the checkpoint has no generator weight average (state/gen/ema); sampling "
                         "from the trained weights\n");
    gen_average_.reset();
  }
}

ModelKind gan_kind() {
  ModelKind k;
  k.name = "gan";
  k.summary = "GAN: DCGAN-style generator, spectrally normalised discriminator (--conditional: projection)";
  k.defaults = {{"latent", 64},         {"channels", "64,128"},  {"conditional", false},
                {"gan_loss", "bce"},    {"spectral_norm", true}, {"label_smoothing", 0.9},
                {"ema_decay", 0.999}};
  k.train = TrainDefaults{20, 128, 2e-4f, false, 0.5f, 0.999f};
  k.create = [](Context& ctx, const nlohmann::json& c, uint64_t seed) -> std::unique_ptr<Model> {
    return std::make_unique<Gan>(ctx, c, seed);
  };
  return k;
}

}  // namespace dg
