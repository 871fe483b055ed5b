// The model interface every kind implements, and the registry the CLI, the benchmark, the GPU check and
// the evaluation loop iterate over instead of naming models.
#pragma once
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "kernels/elementwise_math.h"
#include "models/layers.h"
#include "models/params.h"
#include "runtime/dataset.h"

namespace dg {

// Named scalar values in a fixed order (losses, metrics): what metrics.jsonl and the progress line show.
using Metrics = std::vector<std::pair<std::string, double>>;
double metric(const Metrics& m, const std::string& name);

// Per-step optimisation settings handed to train_step (the trainer may schedule the learning rate).
struct OptimConfig {
  AdamConfig adam;
  int64_t step = 0;      // global step, counting from 0
  int64_t epoch = 0;     // current epoch, counting from 0
  double epoch_frac = 0; // epochs completed including this step's fraction (for warm-ups)
};

// A host copy of one tensor that is part of a model's state beyond its parameters (for checkpoints).
struct HostTensor {
  std::string name;
  Shape shape;
  std::vector<float> data;
};

class Model {
 public:
  virtual ~Model() = default;
  virtual std::string kind() const = 0;
  // The architecture configuration; creating the kind from it rebuilds the same model.
  virtual nlohmann::json config() const = 0;
  // Parameter stores with a checkpoint prefix each (one for most models).
  virtual std::vector<std::pair<std::string, ParamStore*>> param_stores() = 0;

  // One optimisation step on a batch; returns per-image losses averaged over the batch.
  virtual Metrics train_step(Context& ctx, const Batch& batch, const StepInfo& si, const OptimConfig& opt) = 0;
  // Test metrics summed over the batch's images (the trainer divides by the count); deterministic for a seed.
  // `first_index` is the position of the batch's first image in the evaluation set (for fixed per-image noise).
  virtual Metrics eval_batch(Context& ctx, const Batch& batch, int64_t first_index) = 0;
  // The metric shown first and used to judge a run, e.g. "nelbo" or "accuracy".
  virtual std::string headline_metric() const = 0;

  // Generation: images [n, 1, 28, 28] in [0, 1] for samples first .. first+n-1 of `seed`; a sample depends only
  // on (seed, its index), never on n. `labels` (host, n entries) is for conditional models and may be null.
  virtual bool can_generate() const { return false; }
  virtual Tensor generate(Context& ctx, int64_t first, int n, uint64_t seed, const int32_t* labels);
  // Conditional models take class labels (digits 0..9): generate() uses `labels` (label (first + i) % 10 for
  // sample i when null), and restyle() works.
  virtual bool conditional() const { return false; }
  // Encodes images [B, 1, 28, 28] in [0, 1] with their labels `from_labels` (host, B entries) and decodes the
  // encoding (the posterior mean) with `to_labels` (host, B entries): each input's style as another digit.
  // Returns images [B, 1, 28, 28] in [0, 1]; deterministic.
  virtual Tensor restyle(Context& ctx, const Tensor& images, const int32_t* from_labels, const int32_t* to_labels);
  // Models with a latent space: the encoding (the posterior mean for variational kinds) [B, Z] of images
  // [B, 1, 28, 28]; `labels` (device int32 [B]) is used by conditional kinds.
  virtual bool can_encode() const { return false; }
  virtual Tensor encode(Context& ctx, const Tensor& images, const Tensor& labels);
  // Classifiers: logits [B, 10] for images [B, 1, 28, 28].
  virtual bool can_classify() const { return false; }
  virtual Tensor classify(Context& ctx, const Tensor& images);

  // Called after each epoch with the training set (the autoencoder refits its latent Gaussian here).
  virtual void end_of_epoch(Context& ctx, DeviceDataset& train) {}
  // State beyond parameters, saved in and restored from checkpoints.
  virtual std::vector<HostTensor> extra_state(Context& ctx) const { return {}; }
  virtual void load_extra_state(Context& ctx, const std::vector<HostTensor>& tensors) {}

  // ---- Added for the VQ-VAE (issue 4) ----
  // The number of epochs a run trains in all, given --epochs; the trainer calls it once before training. The
  // VQ-VAE trains its prior for its own number of epochs after the autoencoder's.
  virtual int total_epochs(int epochs) { return epochs; }
  // Sampling temperature of kinds with an autoregressive prior (`sample --temperature`); others reject it.
  virtual void set_sampling_temperature(float t);
  // Reconstructions [B, 1, 28, 28] in [0, 1] of images [B, 1, 28, 28] in [0, 1] (deterministic: the posterior
  // mean for variational kinds); `labels` (host, B entries) is used by conditional autoencoders and may be null
  // for the others.
  virtual bool can_reconstruct() const { return false; }
  virtual Tensor reconstruct(Context& ctx, const Tensor& images, const int32_t* labels);
  // Kind-specific statistics over the reconstruct() calls since the last call (the VQ-VAE: codebook perplexity
  // and codes in use over all reconstructed digits); resets them.
  virtual Metrics take_reconstruct_stats() { return {}; }

  // ---- Added for the diffusion model (issue 5) ----
  // Diffusion sampling settings for generate() (keys: sampler, sample_steps, eta, guidance, ema, cuda_graph, as
  // the sample command's flags); kinds without a sampler reject any setting with an error naming the kind.
  virtual void set_sampling(const nlohmann::json& settings);
  // The denoising of one sample (seed, sample index, label) as `frames` images [frames, 1, 28, 28] in [0, 1], from
  // the start noise to the result (diffusion kinds; others fail naming the kind).
  virtual Tensor trajectory(Context& ctx, uint64_t seed, int64_t index, int label, int frames);
  // ---- Evaluation hooks (`digitgen eval`, models/evaluation.h) ----
  // Classifiers: the activations of the layer before the logits, [B, F] for images [B, 1, 28, 28] (inference). The
  // evaluation compares sets of digits (Frechet distance, KID, precision and recall) in the evaluator's feature space.
  virtual bool can_extract_features() const { return false; }
  virtual Tensor features(Context& ctx, const Tensor& images);
  // Models with an encoder posterior q(z | x): importance-sampled estimates of log p(x) (log p(x | y) for conditional
  // kinds, with the batch's labels) from K posterior samples per image of `batch`, in nats. log_px[b] is the
  // log-mean-exp of the K log weights log p(x, z_k) - log q(z_k | x); elbo[b] is their mean, the ELBO estimated on the
  // same samples (never above log_px[b]). Image b's noise depends only on (seed, first_index + b, k).
  virtual bool can_estimate_likelihood() const { return false; }
  virtual void importance_log_likelihood(Context& ctx, const Batch& batch, int64_t first_index, int K, uint64_t seed,
                                         double* log_px, double* elbo);
};

// The tensor named `name` among a checkpoint's extra state, or null.
const HostTensor* find_state(const std::vector<HostTensor>& tensors, const std::string& name);
// Copies the extra-state tensor `name` into `dst`; an error names it when it is missing (`what` says what it holds)
// or when its size differs from dst's.
void load_state_tensor(Context& ctx, const std::vector<HostTensor>& tensors, const std::string& name, Tensor& dst,
                       const std::string& what);

// Defaults for the training loop, per kind.
struct TrainDefaults {
  int epochs = 10;
  int batch = 128;
  float lr = 1e-3f;
  bool cosine_lr = false;  // decay the learning rate to 0 along a half cosine over the run
  float beta1 = 0.9f, beta2 = 0.999f;  // Adam betas when --adam-betas is not given (the GAN: 0.5, 0.999)
};

struct ModelKind {
  std::string name;
  std::string summary;
  nlohmann::json defaults;  // architecture defaults; keys are the CLI flag names without dashes
  TrainDefaults train;
  std::function<std::unique_ptr<Model>(Context& ctx, const nlohmann::json& config, uint64_t seed)> create;
};

const std::vector<ModelKind>& model_registry();
// The kind with this name, or an error listing the known names.
const ModelKind& find_model_kind(const std::string& name);
// Defaults of the kind overlaid with `overrides` (unknown keys are an error naming the key and the kind).
nlohmann::json merge_config(const ModelKind& kind, const nlohmann::json& overrides);

// Registration functions of the built-in kinds (called once by model_registry()).
ModelKind autoencoder_kind();
ModelKind vae_kind();
ModelKind cvae_kind();
ModelKind classifier_kind();
ModelKind gan_kind();
ModelKind vqvae_kind();
ModelKind ddpm_kind();

// Helpers shared by the models: parse "512,256" style lists from config values.
std::vector<int> int_list(const nlohmann::json& v, const std::string& key);

}  // namespace dg
