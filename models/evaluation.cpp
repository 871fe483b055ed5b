// The evaluation harness (see evaluation.h).
#include "models/evaluation.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include "models/checkpoint.h"
#include "kernels/sqdist_topk.h"
#include "models/eval_metrics.h"
#include "models/judge.h"
#include "models/sampling.h"
#include "models/trainer.h"
#include "runtime/dataset.h"
#include "runtime/error.h"
#include "runtime/idx.h"
#include "runtime/parallel.h"

namespace dg {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

constexpr int kPixels = 28 * 28;
constexpr int kClasses = 10;
// Subset selections of Philox purpose 15 (docs/conventions.md); KID uses 100 + 2s and 101 + 2s for subset s.
constexpr uint32_t kSelectFloor = 1;       // the training subset whose distances to the test set are the floor
constexpr uint32_t kSelectPrReal = 2;      // the test images that are the real set of precision and recall
constexpr uint32_t kSelectMemoTest = 3;    // the test images whose nearest-training distances set the threshold
constexpr uint32_t kSelectStsReal = 4;     // the order in which real training digits fill the balanced STS set
// The importance sampler's noise (Philox purpose 4, step 0) is drawn from the evaluation seed xor this.
constexpr uint64_t kLikelihoodSalt = 0x1A7E5EEDull;

std::string device_description(const Context& ctx, const std::string& why) {
  if (ctx.on_gpu()) return why;
  std::string model = "unknown CPU";
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  const int threads = cpu_threads();  // the worker pool's, which is every thread the CPU backend uses
  return "cpu: " + model + ", " + std::to_string(threads) + (threads == 1 ? " thread" : " threads");
}

// Host images [n, 784] in [0, 1] of the given rows of an IDX set (all rows when `rows` is null).
FeatureSet unit_images(const IdxImages& im, const std::vector<int64_t>* rows, int64_t limit = 0) {
  FeatureSet f;
  f.dim = kPixels;
  f.n = rows ? int64_t(rows->size()) : (limit > 0 ? std::min(limit, im.count) : im.count);
  f.data.resize(size_t(f.n) * kPixels);
  for (int64_t i = 0; i < f.n; ++i) {
    const int64_t r = rows ? (*rows)[size_t(i)] : i;
    const uint8_t* src = im.pixels.data() + r * kPixels;
    for (int p = 0; p < kPixels; ++p) f.data[size_t(i) * kPixels + p] = float(src[p]) / 255.0f;
  }
  return f;
}

// The evaluator's features of host images, in batches.
FeatureSet features_of(Context& ctx, Model& evaluator, const FeatureSet& images, int batch) {
  FeatureSet f;
  f.n = images.n;
  for (int64_t first = 0; first < images.n; first += batch) {
    const int b = int(std::min<int64_t>(batch, images.n - first));
    const Tensor x = Tensor::from_host(ctx, {b, 1, 28, 28}, images.row(first));
    const std::vector<float> h = evaluator.features(ctx, x).to_host(ctx);
    if (first == 0) {
      f.dim = int(h.size() / size_t(b));
      f.data.resize(size_t(f.n) * f.dim);
    }
    DG_REQUIRE(h.size() == size_t(b) * f.dim, "internal: evaluator features of ", h.size(), " values for ", b, " images");
    std::copy(h.begin(), h.end(), f.data.begin() + first * f.dim);
  }
  return f;
}

// Generated digits [first, first + n) of the seed (conditional models: label i % 10 for sample i).
struct Generated {
  FeatureSet images;
  std::vector<int32_t> labels;  // requested labels (conditional models), else empty
};
Generated generate_digits(Context& ctx, Model& model, int64_t first, int64_t n, uint64_t seed, int batch,
                          const std::function<void(int64_t done)>& after_batch = {}) {
  Generated g;
  g.images.n = n;
  g.images.dim = kPixels;
  g.images.data.resize(size_t(n) * kPixels);
  std::vector<int32_t> lab;
  for (int64_t i = 0; i < n; i += batch) {
    const int b = int(std::min<int64_t>(batch, n - i));
    const int32_t* lp = nullptr;
    if (model.conditional()) {
      lab.resize(size_t(b));
      for (int j = 0; j < b; ++j) lab[size_t(j)] = int32_t((first + i + j) % kClasses);
      g.labels.insert(g.labels.end(), lab.begin(), lab.end());
      lp = lab.data();
    }
    const std::vector<float> img = model.generate(ctx, first + i, b, seed, lp).to_host(ctx);
    DG_REQUIRE(img.size() == size_t(b) * kPixels, model.kind(), ": generate returned ", img.size(), " values for ", b,
               " digits of 28x28");
    std::copy(img.begin(), img.end(), g.images.data.begin() + i * kPixels);
    if (after_batch) after_batch(i + b);
  }
  return g;
}

// Trains a fresh classifier of the evaluator's kind and architecture on labelled digits (uint8 [n, 784]) with that
// kind's batch, learning rate, Adam betas and cosine decay for `epochs`; returns its accuracy on the test set.
// Its randomness (initialisation, shuffles, shifts, dropout) comes from `seed` through the usual purposes.
double train_and_test(Context& ctx, const CheckpointMeta& evaluator_meta, const std::vector<uint8_t>& images,
                      const std::vector<uint8_t>& labels, DeviceDataset& test, int epochs, uint64_t seed) {
  const ModelKind& kind = find_model_kind(evaluator_meta.kind);
  std::unique_ptr<Model> model = kind.create(ctx, evaluator_meta.config, seed);
  const int64_t n = int64_t(labels.size());
  DeviceDataset data(ctx, images.data(), labels.data(), n, 28, 28);
  const int batch = kind.train.batch;
  const int64_t steps = n / batch, total = steps * epochs;
  DG_REQUIRE(steps > 0, "train-on-synthetic: ", n, " digits are fewer than one batch of ", batch);
  OptimConfig oc;
  oc.adam.lr = kind.train.lr;
  oc.adam.beta1 = kind.train.beta1;
  oc.adam.beta2 = kind.train.beta2;
  int64_t step = 0;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    data.shuffle(ctx, seed, uint32_t(epoch));
    for (int64_t s = 0; s < steps; ++s, ++step) {
      oc.step = step;
      oc.epoch = epoch;
      oc.epoch_frac = double(epoch) + double(s + 1) / double(steps);
      if (kind.train.cosine_lr)
        oc.adam.lr = float(kind.train.lr * 0.5 * (1.0 + std::cos(M_PI * double(step) / double(total))));
      model->train_step(ctx, data.batch(ctx, s * batch, batch), StepInfo{true, seed, uint32_t(step)}, oc);
    }
  }
  return metric(evaluate(ctx, *model, test), "accuracy");
}

nlohmann::json sts_settings(const EvalOptions& o, const CheckpointMeta& ev) {
  return {{"n", o.sts_n}, {"epochs", o.sts_epochs}, {"seed", o.seed}, {"classifier", ev.kind},
          {"config", ev.config}, {"batch", find_model_kind(ev.kind).train.batch}};
}

class Progress {
 public:
  explicit Progress(bool quiet) : quiet_(quiet) {}
  template <typename... A>
  void say(const char* fmt, A... a) const {
    if (quiet_) return;
    std::printf(fmt, a...);
    std::printf("\n");
    std::fflush(stdout);
  }

 private:
  bool quiet_;
};

}  // namespace

std::string checkpoint_stamp(const std::string& path) {
  std::error_code ec;
  const auto t = std::filesystem::last_write_time(path, ec);
  if (ec) return "";
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return std::to_string(std::filesystem::file_size(path, ec)) + " bytes, modified " + std::to_string(ns);
}

const std::vector<std::string>& eval_metric_names() {
  static const std::vector<std::string> names = {"sampling", "fd",    "kid",   "pr",
                                                 "classes",  "memorization", "sts", "model",
                                                 "reconstruction", "likelihood"};
  return names;
}

nlohmann::json evaluate_checkpoint(const EvalOptions& o) {
  const auto t_all = Clock::now();
  const Progress log(o.quiet);
  const std::vector<std::string> wanted = o.metrics.empty() ? eval_metric_names() : o.metrics;
  std::string known;
  for (const std::string& k : eval_metric_names()) known += (known.empty() ? "" : ",") + k;
  for (const std::string& m : wanted)
    DG_REQUIRE(std::find(eval_metric_names().begin(), eval_metric_names().end(), m) != eval_metric_names().end(),
               "--metrics: unknown metric '", m, "'; expected some of ", known);
  auto want = [&](const char* m) { return std::find(wanted.begin(), wanted.end(), m) != wanted.end(); };
  DG_REQUIRE(o.batch > 0, "--batch: expected a positive size, got ", o.batch);
  DG_REQUIRE(o.pr_k >= 1 && o.pr_k < kSqdistTopkMaxK, "--pr-k: expected 1..", kSqdistTopkMaxK - 1, ", got ", o.pr_k);
  DG_REQUIRE(o.sts_n >= 10 * 128 && o.sts_n % 10 == 0, "--sts-n: expected a multiple of 10 of at least 1280, got ",
             o.sts_n);
  DG_REQUIRE(o.sts_epochs >= 1, "--sts-epochs: expected at least 1, got ", o.sts_epochs);
  DG_REQUIRE(o.is_k >= 1 && o.is_images >= 1, "--is-k and --is-images: expected positive counts");

  std::string why;
  Context ctx(choose_device(o.device, &why), o.sync_debug);
  const int64_t n = o.n > 0 ? o.n : (ctx.on_gpu() ? 10000 : 2000);
  DG_REQUIRE(n >= 10, "--n: expected at least 10 samples, got ", n);
  LoadedModel lm = load_checkpoint(ctx, o.checkpoint);
  Model& model = *lm.model;
  DG_REQUIRE(model.can_generate(), lm.path, ": model kind '", lm.meta.kind, "' does not generate digits, so there is "
             "nothing to evaluate");
  model.set_sampling(o.sampling);
  LoadedModel ev = load_checkpoint(ctx, o.evaluator);
  DG_REQUIRE(ev.model->can_classify() && ev.model->can_extract_features(), "--evaluator ", ev.path, ": model kind '",
             ev.meta.kind, "' is not a classifier with a feature layer");
  Model& evaluator = *ev.model;
  log.say("evaluating %s (%s) with %d samples on %s", lm.path.c_str(), lm.meta.kind.c_str(), int(n), why.c_str());

  nlohmann::json doc = {{"checkpoint", lm.path},
                        {"kind", lm.meta.kind},
                        {"conditional", model.conditional()},
                        {"config", lm.meta.config},
                        {"step", lm.meta.position.step},
                        {"epoch", lm.meta.position.epoch},
                        {"device", device_description(ctx, why)},
                        {"evaluator", ev.path},
                        {"checkpoint_modified", checkpoint_stamp(lm.path)},
                        {"seed", o.seed},
                        {"n", n},
                        {"requested", wanted},
                        {"sampling_settings", o.sampling}};
  nlohmann::json& out = doc["metrics"];
  out = nlohmann::json::object();

  // Data: the test set always; the training set for the floor, memorization and the real-data classifier.
  const MnistSplit test_split = load_mnist_split(o.data_dir, false);
  const FeatureSet test_images = unit_images(test_split.images, nullptr, o.test_images);
  std::vector<uint8_t> test_labels(test_split.labels.begin(), test_split.labels.begin() + test_images.n);
  DeviceDataset test(ctx, test_split.images.pixels.data(), test_labels.data(), test_images.n, 28, 28);
  const bool need_train = want("fd") || want("kid") || want("pr") || want("memorization") || want("sts");
  MnistSplit train_split;
  if (need_train) train_split = load_mnist_split(o.data_dir, true);

  // Samples (the sampling speed is measured on these).
  // Slow samplers (a DDPM on the CPU draws a few digits a second) print a progress line every 15 s.
  auto t = Clock::now();
  auto last_line = t;
  Generated gen = generate_digits(ctx, model, 0, n, o.seed, o.batch, [&](int64_t done) {
    if (done >= n || since(last_line) < 15.0) return;
    last_line = Clock::now();
    const double rate = double(done) / std::max(since(t), 1e-9);
    log.say("  sampling: %lld/%lld digits, %.1f images/s, ETA %s", (long long)done, (long long)n, rate,
            format_duration(double(n - done) / rate).c_str());
  });
  ctx.synchronize();
  const double gen_s = since(t);
  out["sampling"] = {{"n", n}, {"seconds", gen_s}, {"images_per_s", double(n) / std::max(gen_s, 1e-9)},
                     {"batch", o.batch}, {"device", doc["device"]}};
  log.say("  sampling: %.0f images/s (%d digits in %.1f s)", double(n) / std::max(gen_s, 1e-9), int(n), gen_s);

  // The evaluator's view: features of the samples, the test set and a training subset of the same size.
  FeatureSet f_samples, f_test, f_floor;
  const bool need_features = want("fd") || want("kid") || want("pr");
  if (need_features) {
    t = Clock::now();
    f_samples = features_of(ctx, evaluator, gen.images, o.batch);
    f_test = features_of(ctx, evaluator, test_images, o.batch);
    const std::vector<int64_t> floor_rows = eval_subset(train_split.images.count, std::min(n, train_split.images.count),
                                                        o.seed, kSelectFloor);
    f_floor = features_of(ctx, evaluator, unit_images(train_split.images, &floor_rows), o.batch);
    log.say("  evaluator features: %d samples, %d test and %d training images (%d values each) in %.1f s", int(n),
            int(f_test.n), int(f_floor.n), f_samples.dim, since(t));
  }
  if (want("fd")) {
    t = Clock::now();
    const GaussianMoments mt = feature_moments(f_test);
    const double fd = frechet_distance(feature_moments(f_samples), mt);
    const double floor = frechet_distance(feature_moments(f_floor), mt);
    out["fd"] = {{"n", n}, {"reference_n", f_test.n}, {"value", fd}, {"floor", floor}, {"floor_n", f_floor.n},
                 {"features", f_samples.dim}, {"seconds", since(t)}};
    log.say("  fd: %.3f (floor: %d training images vs the test set %.3f), %.1f s", fd, int(f_floor.n), floor, since(t));
  }
  if (want("kid")) {
    t = Clock::now();
    const KidResult k = kernel_inception_distance(ctx, f_samples, f_test, o.kid_subsets, o.kid_subset_size, o.seed);
    const KidResult kf = kernel_inception_distance(ctx, f_floor, f_test, o.kid_subsets, o.kid_subset_size, o.seed);
    out["kid"] = {{"n", n},          {"reference_n", f_test.n}, {"value", k.mean},     {"std_error", k.std_error},
                  {"subset_std", k.subset_std}, {"subsets", k.subsets}, {"subset_size", k.subset_size},
                  {"floor", kf.mean}, {"floor_std_error", kf.std_error}, {"seconds", since(t)}};
    log.say("  kid: %.5f +- %.5f (floor %.5f), %d subsets of %d, %.1f s", k.mean, k.std_error, kf.mean, k.subsets,
            int(k.subset_size), since(t));
  }
  if (want("pr")) {
    t = Clock::now();
    const std::vector<int64_t> rows = eval_subset(f_test.n, std::min(n, f_test.n), o.seed, kSelectPrReal);
    const FeatureSet real = take_rows(f_test, rows);
    const PrecisionRecall pr = precision_recall(ctx, real, f_samples, o.pr_k);
    const PrecisionRecall pf = precision_recall(ctx, real, f_floor, o.pr_k);
    out["pr"] = {{"n", n}, {"reference_n", real.n}, {"k", o.pr_k}, {"precision", pr.precision}, {"recall", pr.recall},
                 {"floor_precision", pf.precision}, {"floor_recall", pf.recall}, {"seconds", since(t)}};
    log.say("  precision %.3f, recall %.3f (training images: %.3f, %.3f), k = %d, %.1f s", pr.precision, pr.recall,
            pf.precision, pf.recall, o.pr_k, since(t));
  }

  // Class spread by the evaluator's predictions (and agreement with the requested labels).
  std::vector<int32_t> predicted;
  if (want("classes") || (want("sts") && !model.conditional())) {
    t = Clock::now();
    predicted = predict_digits(ctx, evaluator, gen.images.data.data(), n, o.batch);
    if (want("classes")) {
      const ClassReport r = judge_predictions(predicted, model.conditional() ? &gen.labels : nullptr);
      out["classes"] = r.to_json();
      out["classes"]["n"] = n;
      out["classes"]["seconds"] = since(t);
      log.say("  classes: entropy %.3f nats (uniform 2.303), smallest share %.3f%s", r.entropy, r.min_share,
              r.has_labels ? (", requested label read back " + std::to_string(r.agreement())).c_str() : "");
    }
  }

  if (want("memorization")) {
    t = Clock::now();
    const FeatureSet train_pixels = unit_images(train_split.images, nullptr);
    const NeighbourIndex index(ctx, train_pixels.data.data(), train_pixels.n, kPixels);
    const std::vector<int64_t> rows = eval_subset(test_images.n, std::min(n, test_images.n), o.seed, kSelectMemoTest);
    const Memorization m = memorization(ctx, index, gen.images, take_rows(test_images, rows), 0.01);
    out["memorization"] = {{"n", n},
                           {"train_n", train_pixels.n},
                           {"test_n", int64_t(rows.size())},
                           {"percentile", 0.01},
                           {"threshold", m.threshold},
                           {"fraction", m.fraction},
                           {"test_fraction", m.test_fraction},
                           {"median_distance", m.median_distance},
                           {"test_median_distance", m.test_median_distance},
                           {"seconds", since(t)}};
    log.say("  memorization: %.4f of samples closer to a training image than %.3f (the 1st percentile of %d test "
            "images; their median %.3f, the samples' %.3f), %.1f s",
            m.fraction, m.threshold, int(rows.size()), m.test_median_distance, m.median_distance, since(t));
  }

  if (want("sts")) {
    t = Clock::now();
    const int64_t quota = o.sts_n / kClasses;
    // Balanced labelled digits: requested labels (conditional) or the evaluator's (unconditional), taken in sample
    // order until every class has its quota; a model that rarely draws some digit stops at 20x the needed count.
    std::vector<uint8_t> images, labels;
    std::array<int64_t, kClasses> count{};
    int64_t taken = 0, drawn = 0;
    const int64_t cap = 20 * o.sts_n;
    auto take = [&](const FeatureSet& img, const std::vector<int32_t>& lab) {
      for (int64_t i = 0; i < img.n && taken < o.sts_n; ++i) {
        const int c = lab[size_t(i)];
        if (count[size_t(c)] >= quota) continue;
        ++count[size_t(c)];
        ++taken;
        labels.push_back(uint8_t(c));
        for (int p = 0; p < kPixels; ++p)
          images.push_back(uint8_t(std::lround(std::clamp(img.row(i)[p], 0.0f, 1.0f) * 255.0f)));
      }
    };
    take(gen.images, model.conditional() ? gen.labels : predicted);
    drawn = n;
    while (taken < o.sts_n && drawn < cap) {
      const int64_t chunk = std::min<int64_t>(std::max<int64_t>(o.batch, 2000), cap - drawn);
      const Generated more = generate_digits(ctx, model, drawn, chunk, o.seed, o.batch);
      take(more.images, model.conditional() ? more.labels
                                            : predict_digits(ctx, evaluator, more.images.data.data(), chunk, o.batch));
      drawn += chunk;
    }
    const double gen_sts_s = since(t);
    const double acc = train_and_test(ctx, ev.meta, images, labels, test, o.sts_epochs, o.seed);
    const double synthetic_s = since(t);
    nlohmann::json real = o.sts_real;
    const nlohmann::json settings = sts_settings(o, ev.meta);
    const bool reuse = real.is_object() && real.value("settings", nlohmann::json()) == settings &&
                       real.value("test_n", int64_t(-1)) == test_images.n;
    if (!reuse) {
      const auto tr = Clock::now();
      const std::vector<int64_t> order = eval_subset(train_split.images.count, train_split.images.count, o.seed,
                                                     kSelectStsReal);
      std::vector<uint8_t> rimg, rlab;
      std::array<int64_t, kClasses> rc{};
      for (int64_t r : order) {
        const int c = train_split.labels[size_t(r)];
        if (rc[size_t(c)] >= quota) continue;
        ++rc[size_t(c)];
        rlab.push_back(uint8_t(c));
        rimg.insert(rimg.end(), train_split.images.pixels.begin() + r * kPixels,
                    train_split.images.pixels.begin() + (r + 1) * kPixels);
        if (int64_t(rlab.size()) == o.sts_n) break;
      }
      real = {{"n", int64_t(rlab.size())}, {"test_n", test_images.n}, {"settings", settings},
              {"accuracy", train_and_test(ctx, ev.meta, rimg, rlab, test, o.sts_epochs, o.seed)},
              {"seconds", since(tr)}};
    }
    out["sts"] = {{"n", taken},
                  {"labels", model.conditional() ? "requested" : "evaluator"},
                  {"per_class", count},
                  {"generated", drawn},
                  {"test_n", test_images.n},
                  {"epochs", o.sts_epochs},
                  {"accuracy", acc},
                  {"real_accuracy", real["accuracy"]},
                  {"real", real},
                  {"seconds", since(t)},
                  {"synthetic_seconds", synthetic_s},
                  {"generate_seconds", gen_sts_s}};
    log.say("  train on synthetic, test on real: %.4f accuracy (%d digits, %d epochs; on %d real digits %.4f%s), "
            "%.1f s",
            acc, int(taken), o.sts_epochs, int(real["n"].get<int64_t>()), real["accuracy"].get<double>(),
            reuse ? ", reused" : "", since(t));
  }

  if (want("model")) {
    t = Clock::now();
    const Metrics m = evaluate(ctx, model, test);
    nlohmann::json values = nlohmann::json::object();
    for (const auto& kv : m) values[kv.first] = kv.second;
    out["model"] = {{"n", test_images.n}, {"values", values}, {"seconds", since(t)}};
    std::string line;
    for (const auto& kv : m) line += " " + kv.first + " " + std::to_string(kv.second);
    log.say("  the model's own test metrics:%s (%d test images), %.1f s", line.c_str(), int(test_images.n), since(t));
  }

  // Kinds that reconstruct (the autoencoders): the test set through Model::reconstruct (conditional kinds with the
  // true labels), pixel MSE and PSNR, and whatever statistics the kind keeps over those calls (the VQ-VAE's codebook
  // perplexity and codes in use).
  if (want("reconstruction") && model.can_reconstruct()) {
    t = Clock::now();
    model.take_reconstruct_stats();  // start afresh
    double sq = 0;
    for (int64_t first = 0; first < test_images.n; first += o.batch) {
      const int b = int(std::min<int64_t>(o.batch, test_images.n - first));
      std::vector<int32_t> lab(test_labels.begin() + first, test_labels.begin() + first + b);
      const Tensor x = Tensor::from_host(ctx, {b, 1, 28, 28}, test_images.row(first));
      const std::vector<float> y = model.reconstruct(ctx, x, lab.data()).to_host(ctx);
      DG_REQUIRE(y.size() == size_t(b) * kPixels, model.kind(), ": reconstruct returned ", y.size(), " values for ", b,
                 " digits");
      for (size_t i = 0; i < y.size(); ++i) {
        const double d = double(y[i]) - double(test_images.row(first)[i]);
        sq += d * d;
      }
    }
    const double mse = sq / double(test_images.n * kPixels);
    nlohmann::json block = {{"n", test_images.n}, {"mse", mse},
                            {"psnr", 10.0 * std::log10(1.0 / std::max(mse, 1e-12))}};
    nlohmann::json stats = nlohmann::json::object();
    for (const auto& kv : model.take_reconstruct_stats()) stats[kv.first] = kv.second;
    block["stats"] = stats;
    block["seconds"] = since(t);
    out["reconstruction"] = block;
    std::string line;
    for (const auto& kv : stats.items()) line += ", " + kv.key() + " " + std::to_string(kv.value().get<double>());
    log.say("  reconstruction: mse %.5f, psnr %.2f dB%s (%d test images), %.1f s", mse, block["psnr"].get<double>(),
            line.c_str(), int(test_images.n), since(t));
  }

  if (want("likelihood") && model.can_estimate_likelihood()) {
    t = Clock::now();
    const int64_t m = std::min(o.is_images, test_images.n);
    std::vector<double> lp(static_cast<size_t>(m)), el(static_cast<size_t>(m));
    test.sequential(ctx);
    const int chunk = 50;
    for (int64_t first = 0; first < m; first += chunk) {
      const int b = int(std::min<int64_t>(chunk, m - first));
      model.importance_log_likelihood(ctx, test.batch(ctx, first, b), first, o.is_k, o.seed ^ kLikelihoodSalt,
                                      lp.data() + first, el.data() + first);
    }
    double mean_lp = 0, mean_el = 0;
    int64_t below = 0;
    for (int64_t i = 0; i < m; ++i) {
      mean_lp += lp[size_t(i)] / double(m);
      mean_el += el[size_t(i)] / double(m);
      below += lp[size_t(i)] < el[size_t(i)];
    }
    nlohmann::json block = {{"n", m}, {"k", o.is_k}, {"log_likelihood", mean_lp}, {"nll", -mean_lp},
                            {"elbo_same_samples", mean_el}, {"images_below_elbo", below}};
    // The model's own ELBO (analytic KL) on the same images, when it reports one.
    const Metrics own = evaluate(ctx, model, test, m);
    for (const auto& kv : own)
      if (kv.first == "nelbo") block["elbo"] = -kv.second;
    block["seconds"] = since(t);
    out["likelihood"] = block;
    log.say("  importance-sampled log-likelihood: %.2f nats (K = %d, first %d test images; ELBO on the same samples "
            "%.2f), %.1f s",
            mean_lp, o.is_k, int(m), mean_el, since(t));
  }
  doc["seconds"] = since(t_all);
  log.say("evaluation done in %.1f s", since(t_all));
  return doc;
}

}  // namespace dg
