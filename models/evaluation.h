// `digitgen eval`: the quantitative evaluation of one generating checkpoint on real MNIST, as a JSON document.
// Samples are judged by the committed evaluator classifier: its penultimate-layer features give the Frechet distance
// (beside a training-subset floor), KID, precision and recall; its predictions give the class spread and, for
// conditional models, agreement with the requested label. Also train-on-synthetic/test-on-real (beside the same
// classifier trained on real digits), memorization (nearest training image in pixel space), the model's own test
// metrics (Model::eval_batch, so any kind's metrics appear without naming it), reconstruction error and the kind's
// reconstruction statistics for kinds that reconstruct (Model::reconstruct, take_reconstruct_stats: the VQ-VAE's
// codebook perplexity), an importance-sampled likelihood for kinds with an encoder posterior, and sampling speed. Every metric states its sample count and its wall time.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dg {

struct EvalOptions {
  std::string checkpoint;      // checkpoint file or run folder of a generating model
  std::string evaluator;       // classifier checkpoint whose features and predictions judge the samples
  std::string data_dir;        // MNIST folder
  std::string device = "auto";
  bool sync_debug = false;
  int64_t n = 0;               // samples judged (0: 10000 on a GPU, 2000 on the CPU)
  uint64_t seed = 1;           // sample i is latent i of this seed; also keys the subsets (Philox purpose 15)
  int batch = 500;             // digits per device call
  std::vector<std::string> metrics;  // names from eval_metric_names(); empty = all
  int64_t test_images = 0;     // the first N test images as the real reference (0 = all 10000; for quick checks)
  int kid_subsets = 100;
  int64_t kid_subset_size = 1000;
  int pr_k = 3;                // neighbours defining the k-NN manifolds of precision and recall
  int64_t sts_n = 10000;       // labelled digits the train-on-synthetic classifier learns from (a multiple of 10)
  int sts_epochs = 3;          // its schedule: the evaluator kind's batch, lr and cosine decay, this many epochs
  int is_k = 1000;             // importance samples per image for the likelihood
  int64_t is_images = 1000;    // the first N test images for the likelihood
  // A previous evaluation's metrics.sts.real block: reused when its settings match, instead of training the
  // real-data classifier again (it does not depend on the model; `digitgen report` trains it once).
  nlohmann::json sts_real;
  bool quiet = false;          // no progress lines
  // Diffusion sampler settings for Model::set_sampling (sampler, sample_steps, eta, guidance, ema); empty: the
  // model's defaults. Recorded in the result as "sampling_settings".
  nlohmann::json sampling = nlohmann::json::object();
};

// Metric names in the order they are computed: sampling, fd, kid, pr, classes, memorization, sts, model,
// reconstruction, likelihood.
const std::vector<std::string>& eval_metric_names();

// The size and modification time of a checkpoint file, recorded with an evaluation so that `digitgen report` reuses
// a kept evaluation only for the same file.
std::string checkpoint_stamp(const std::string& path);

// Runs the evaluation; the document has the checkpoint, kind, device, settings and one block per metric under
// "metrics", each with its sample count ("n") and wall time ("seconds").
nlohmann::json evaluate_checkpoint(const EvalOptions& o);

}  // namespace dg
