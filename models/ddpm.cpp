// The denoising diffusion model (`ddpm`): a U-Net (models/unet.h) predicts the noise added to a digit at a random
// timestep of a linear or cosine schedule; the label (or the null class, with probability --label-dropout) is
// embedded beside the timestep, so one network gives conditional and unconditional predictions for
// classifier-free guidance. An exponential moving average of the weights is kept (checkpoint state "ddpm/ema") and
// samples with it by default. Sampling: ancestral DDPM over all steps or DDIM with any step count and eta; each
// step is the network on [x; x] with labels [y; null] then one fused update kernel (kernels/diffusion.h); on a GPU
// the step is captured once as a CUDA graph and replayed.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "kernels/diffusion.h"
#include "kernels/gather.h"
#include "kernels/loss.h"
#include "models/diffusion_schedule.h"
#include "models/model.h"
#include "models/unet.h"
#include "models/weight_average.h"
#include "runtime/cuda_graph.h"
#include "runtime/error.h"
#include "runtime/nvtx.h"
#include "runtime/philox.h"

namespace dg {
namespace {

constexpr int kClasses = 10;
constexpr int kNullLabel = kClasses;
constexpr int kPixels = 28 * 28;
constexpr uint64_t kEvalSeed = 0x5EED5EEDull;  // timesteps and noise of the test metrics
// Philox "step" field of the training draws (purpose 7): the noise uses 0, the timesteps 1.
constexpr uint32_t kNoiseDraw = 0, kTimestepDraw = 1;

// Defaults: DDIM-50 with eta 1 and guidance 3. On the CPU configuration after one epoch (docs/diffusion.md), 100
// digits of --label all were read as their label 97% of the time with these, 89% with guidance 2, 60% with
// guidance 2 and eta 0 (deterministic DDIM left speckled digits there).
struct Sampling {
  std::string sampler = "ddim";
  int steps = 50;          // DDIM steps (DDPM always takes all T)
  double eta = 1.0;
  float guidance = 3.0f;   // eps_u + w (eps_c - eps_u); 1 is the plain conditional model (one pass)
  bool ema = true;
  bool cuda_graph = true;  // on a GPU; ignored on the CPU
};

class Ddpm : public Model {
 public:
  Ddpm(Context& ctx, const nlohmann::json& c, uint64_t seed) : config_(c) {
    UNetSpec spec;
    spec.channels = int_list(c.at("channels"), "channels");
    DG_REQUIRE(spec.channels.size() <= 3, "--channels: the ddpm U-Net takes up to three widths (28, 14 and 7 pixels) "
               "like 32,64,64, got ", spec.channels.size());
    while (spec.channels.size() < 3) spec.channels.push_back(spec.channels.back());  // missing widths repeat the last
    spec.blocks = c.at("blocks").get<int>();
    spec.classes = kClasses;
    spec.attention = c.at("attention").get<bool>();
    timesteps_ = c.at("timesteps").get<int>();
    schedule_ = make_schedule(c.at("schedule").get<std::string>(), timesteps_);
    label_dropout_ = c.at("label_dropout").get<float>();
    DG_REQUIRE(label_dropout_ >= 0.0f && label_dropout_ < 1.0f, "--label-dropout: expected a probability in [0, 1), got ",
               label_dropout_);
    net_ = std::make_unique<UNet>(ps_, "ddpm/unet", spec);
    ps_.finalize(ctx, seed);
    average_ = std::make_unique<WeightAverage>(ctx, ps_, c.at("ema_decay").get<float>(), "ddpm/ema");
  }

  std::string kind() const override { return "ddpm"; }
  nlohmann::json config() const override { return config_; }
  std::vector<std::pair<std::string, ParamStore*>> param_stores() override { return {{"", &ps_}}; }
  std::string headline_metric() const override { return "loss"; }
  bool can_generate() const override { return true; }
  bool conditional() const override { return true; }

  Metrics train_step(Context& ctx, const Batch& batch, const StepInfo& si, const OptimConfig& opt) override {
    const int B = batch.size();
    DG_REQUIRE(batch.labels.defined() && batch.labels.dtype() == DType::I32 && batch.labels.numel() == B,
               "ddpm: the batch needs int32 labels [", B, "]");
    std::vector<int32_t> lab(static_cast<size_t>(B));
    copy_to_host(ctx, lab.data(), batch.labels.raw(), lab.size() * sizeof(int32_t));
    const uint64_t base = uint64_t(si.step) * uint64_t(B);
    for (int b = 0; b < B; ++b)
      if (label_dropout_ > 0.0f && philox_uniform(si.seed, kPurposeLabelDropout, base + uint64_t(b), 0) <= label_dropout_)
        lab[size_t(b)] = kNullLabel;
    Tensor pred, eps;
    forward_noised(ctx, batch.images, lab, si.seed, base, /*timestep_seed_index=*/base, &pred, &eps);
    ps_.zero_grad(ctx);
    Tensor loss = Tensor::empty(ctx, {1});
    Tensor dpred = Tensor::empty(ctx, pred.shape());
    mse_loss(ctx, pred.f32(), eps.f32(), loss.f32(), dpred.f32(), pred.numel(), 1.0f / float(pred.numel()));
    net_->backward(ctx, dpred);
    ps_.adam_step(ctx, opt.adam);
    average_->update(ctx);
    return {{"loss", loss.to_host(ctx)[0]}};
  }

  // The noise-prediction MSE (per pixel) on test images with fixed timesteps and noise (seeded by the image's
  // position), conditioned on the true labels, with the EMA weights that sampling uses.
  Metrics eval_batch(Context& ctx, const Batch& batch, int64_t first_index) override {
    const int B = batch.size();
    std::vector<int32_t> lab(static_cast<size_t>(B));
    copy_to_host(ctx, lab.data(), batch.labels.raw(), lab.size() * sizeof(int32_t));
    WeightAverage::Use averaged(ctx, average_.get());
    Tensor pred, eps;
    forward_noised(ctx, batch.images, lab, kEvalSeed, uint64_t(first_index), uint64_t(first_index), &pred, &eps);
    Tensor loss = Tensor::empty(ctx, {1});
    mse_loss(ctx, pred.f32(), eps.f32(), loss.f32(), nullptr, pred.numel(), 1.0f / float(kPixels));
    return {{"loss", loss.to_host(ctx)[0]}};
  }

  Tensor generate(Context& ctx, int64_t first, int n, uint64_t seed, const int32_t* labels) override {
    std::vector<int32_t> lab(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      lab[size_t(i)] = labels ? labels[i] : int32_t((first + i) % kClasses);
      DG_REQUIRE(lab[size_t(i)] >= 0 && lab[size_t(i)] < kClasses, "label ", lab[size_t(i)], " at position ", i,
                 ": expected a digit 0..9");
    }
    return sample(ctx, first, lab, seed, nullptr);
  }

  std::vector<HostTensor> extra_state(Context& ctx) const override { return {average_->state(ctx)}; }
  void load_extra_state(Context& ctx, const std::vector<HostTensor>& tensors) override {
    average_->load_state(ctx, tensors);
  }

  void set_sampling(const nlohmann::json& s) override {
    for (auto it = s.begin(); it != s.end(); ++it) {
      const std::string& k = it.key();
      if (k == "sampler") {
        const std::string v = it.value().get<std::string>();
        DG_REQUIRE(v == "ddpm" || v == "ddim", "--sampler: expected ddpm or ddim, got '", v, "'");
        sampling_.sampler = v;
      } else if (k == "sample_steps") {
        sampling_.steps = it.value().get<int>();
        DG_REQUIRE(sampling_.steps >= 1 && sampling_.steps <= timesteps_, "--sample-steps: expected 1..", timesteps_,
                   " (the model's --timesteps), got ", sampling_.steps);
      } else if (k == "eta") {
        sampling_.eta = it.value().get<double>();
        DG_REQUIRE(sampling_.eta >= 0.0 && sampling_.eta <= 1.0, "--eta: expected a value in [0, 1], got ",
                   sampling_.eta);
      } else if (k == "guidance") {
        sampling_.guidance = it.value().get<float>();
        DG_REQUIRE(std::isfinite(sampling_.guidance) && sampling_.guidance >= 0.0f,
                   "--guidance: expected a scale >= 0 (1: no guidance), got ", sampling_.guidance);
      } else if (k == "ema") {
        sampling_.ema = it.value().get<bool>();
      } else if (k == "cuda_graph") {
        sampling_.cuda_graph = it.value().get<bool>();
      } else {
        fail("ddpm: unknown sampling setting '", k, "' (sampler, sample_steps, eta, guidance, ema, cuda_graph)");
      }
    }
  }

  Tensor trajectory(Context& ctx, uint64_t seed, int64_t index, int label, int frames) override {
    DG_REQUIRE(label >= 0 && label < kClasses, "trajectory: expected a digit 0..9, got ", label);
    DG_REQUIRE(frames >= 2, "trajectory: expected at least 2 frames, got ", frames);
    std::vector<float> strip;
    const Tensor last = sample(ctx, index, {label}, seed, &strip, frames);
    (void)last;
    return Tensor::from_host(ctx, {int64_t(strip.size() / kPixels), 1, 28, 28}, strip.data());
  }

 private:
  // Noises images [B, 1, 28, 28] at timesteps drawn from Philox(seed, 7, t_index + b, step 1) with noise from
  // Philox(seed, 7, (noise_index + b) * P + p, step 0), and predicts the noise: *pred, *eps [B, 1, 28, 28].
  void forward_noised(Context& ctx, const Tensor& images, const std::vector<int32_t>& labels, uint64_t seed,
                      uint64_t noise_index, uint64_t t_index, Tensor* pred, Tensor* eps) {
    const int B = int(images.dim(0));
    std::vector<int32_t> t(static_cast<size_t>(B));
    std::vector<float> a(static_cast<size_t>(B)), s(static_cast<size_t>(B));
    for (int b = 0; b < B; ++b) {
      const float u = philox_uniform(seed, kPurposeDiffusionTrain, t_index + uint64_t(b), kTimestepDraw);
      t[size_t(b)] = std::min(timesteps_ - 1, int(u * float(timesteps_)));
      const double ab = schedule_.alpha_bar[size_t(t[size_t(b)])];
      a[size_t(b)] = float(std::sqrt(ab));
      s[size_t(b)] = float(std::sqrt(1.0 - ab));
    }
    const Tensor td = int_tensor(ctx, t), yd = int_tensor(ctx, labels);
    const Tensor ad = Tensor::from_host(ctx, {B}, a.data()), sd = Tensor::from_host(ctx, {B}, s.data());
    *eps = Tensor::empty(ctx, images.shape());
    Tensor xt = Tensor::empty(ctx, images.shape());
    diffusion_noise(ctx, images.f32(), ad.f32(), sd.f32(), eps->f32(), xt.f32(), B, kPixels, seed, noise_index,
                    kNoiseDraw);
    *pred = net_->forward(ctx, xt, td, yd);
  }

  static Tensor int_tensor(Context& ctx, const std::vector<int32_t>& v) {
    Tensor t = Tensor::empty(ctx, {int64_t(v.size())}, DType::I32);
    copy_to_device(ctx, t.raw(), v.data(), v.size() * sizeof(int32_t));
    return t;
  }

  // Samples first .. first + n - 1 with labels `lab`; images [n, 1, 28, 28] in [0, 1]. With `strip`, also collects
  // `frames` pictures of sample 0 (the start noise, then evenly spaced steps, ending with the result).
  Tensor sample(Context& ctx, int64_t first, const std::vector<int32_t>& lab, uint64_t seed, std::vector<float>* strip,
                int frames = 0) {
    NvtxRange r("ddpm/sample");
    const int n = int(lab.size());
    const SamplerPlan plan = sampling_.sampler == "ddpm" ? ddpm_plan(schedule_)
                                                         : ddim_plan(schedule_, sampling_.steps, sampling_.eta);
    const int S = plan.steps();
    const bool guided = sampling_.guidance != 1.0f;
    const int M = guided ? 2 * n : n;
    WeightAverage::Use averaged(ctx, sampling_.ema ? average_.get() : nullptr);

    // Start noise x_T: Philox(seed, 8, (first + i) * P + p, step T), a step no denoising step uses.
    std::vector<float> xh(size_t(n) * kPixels);
    for (int i = 0; i < n; ++i)
      for (int p = 0; p < kPixels; ++p)
        xh[size_t(i) * kPixels + size_t(p)] =
            philox_normal(seed, kPurposeDiffusionSample, uint64_t(first + i) * kPixels + uint64_t(p), uint32_t(timesteps_));
    Tensor xin = Tensor::empty(ctx, {M, 1, 28, 28});  // rows 0..n-1 are x; rows n..2n-1 its copy when guided
    copy_to_device(ctx, xin.raw(), xh.data(), xh.size() * sizeof(float));
    const Tensor x = xin.slice_rows(0, n);
    std::vector<int32_t> yall(lab);
    if (guided) yall.insert(yall.end(), size_t(n), kNullLabel);
    const Tensor y = int_tensor(ctx, yall), t = Tensor::empty(ctx, {M}, DType::I32);
    const Tensor ts = int_tensor(ctx, plan.timesteps);
    const Tensor coef = Tensor::from_host(ctx, {S, kCoefCount}, plan.coef.data());
    const Tensor step = int_tensor(ctx, {0});
    const float w = sampling_.guidance;

    auto body = [&]() {
      diffusion_set_timesteps(ctx, ts.as<int32_t>(), step.as<int32_t>(), t.as<int32_t>(), M);
      if (guided) copy_on_device(ctx, xin.f32() + x.numel(), x.raw(), size_t(x.numel()) * sizeof(float));
      const Tensor eps = net_->forward(ctx, xin, t, y);
      diffusion_step(ctx, x.f32(), eps.f32(), n, kPixels, guided, w, coef.f32(), ts.as<int32_t>(), step.as<int32_t>(),
                     seed, uint64_t(first));
      diffusion_advance_step(ctx, step.as<int32_t>());
    };
    std::vector<int> frame_at;  // steps after which a frame is taken
    if (strip) {
      auto snap = [&]() {
        const std::vector<float> h = x.slice_rows(0, 1).to_host(ctx);
        strip->insert(strip->end(), h.begin(), h.end());
      };
      snap();
      for (int j = 1; j < frames; ++j)
        frame_at.push_back(std::max(0, int(std::lround(double(j) * S / (frames - 1))) - 1));
      size_t next = 0;
      for (int k = 0; k < S; ++k) {
        NvtxRange rs("sample/step");
        body();
        while (next < frame_at.size() && frame_at[next] == k) {
          snap();
          ++next;
        }
      }
      for (float& v : *strip) v = std::clamp(0.5f * (v + 1.0f), 0.0f, 1.0f);
    } else if (sampling_.cuda_graph && cuda_graphs_supported(ctx) && S > 1) {
      // One eager step fills the pool's cache with every block a step needs, so capture draws from the cache.
      body();
      CudaGraph graph;
      graph.capture(ctx, body);
      for (int k = 1; k < S; ++k) graph.replay(ctx);
    } else {
      for (int k = 0; k < S; ++k) {
        NvtxRange rs("sample/step");
        body();
      }
    }
    std::vector<float> out = x.to_host(ctx);
    for (float& v : out) v = std::clamp(0.5f * (v + 1.0f), 0.0f, 1.0f);
    return Tensor::from_host(ctx, {n, 1, 28, 28}, out.data());
  }

  nlohmann::json config_;
  int timesteps_ = 1000;
  NoiseSchedule schedule_;
  float label_dropout_ = 0.1f;
  ParamStore ps_;
  std::unique_ptr<UNet> net_;
  std::unique_ptr<WeightAverage> average_;  // of ps_'s weights, which sampling uses by default
  Sampling sampling_;
};

}  // namespace

ModelKind ddpm_kind() {
  ModelKind k;
  k.name = "ddpm";
  k.summary = "denoising diffusion (U-Net, label-conditioned with classifier-free guidance, EMA; DDPM/DDIM sampling)";
  // The GPU default (docs/diffusion.md has the small CPU configuration).
  k.defaults = {{"channels", "64,128,128"}, {"blocks", 2},       {"attention", true}, {"timesteps", 1000},
                {"schedule", "cosine"},     {"label_dropout", 0.1}, {"ema_decay", 0.999}};
  k.train = TrainDefaults{20, 128, 2e-4f, false};
  k.create = [](Context& ctx, const nlohmann::json& c, uint64_t seed) -> std::unique_ptr<Model> {
    return std::make_unique<Ddpm>(ctx, c, seed);
  };
  return k;
}

}  // namespace dg
