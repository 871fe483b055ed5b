// The training loop (see trainer.h).
#include "models/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "models/checkpoint.h"
#include "runtime/error.h"
#include "runtime/idx.h"
#include "runtime/image_io.h"
#include "runtime/nvtx.h"
#include "runtime/plot.h"

namespace fs = std::filesystem;

namespace dg {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string format_metrics(const Metrics& m) {
  std::ostringstream os;
  for (size_t i = 0; i < m.size(); ++i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%s %.4g", i ? " " : "", m[i].first.c_str(), m[i].second);
    os << buf;
  }
  return os.str();
}

// Writes text to path atomically (temp name in the same folder, then rename).
void write_text_atomic(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    DG_REQUIRE(out, tmp.string(), ": cannot open for writing");
    out << text;
    out.flush();
    DG_REQUIRE(out, tmp.string(), ": write failed");
  }
  fs::rename(tmp, path);
}

struct RunningMean {
  Metrics sum;
  int64_t count = 0;
  void add(const Metrics& m) {
    if (sum.empty()) sum = m;
    else
      for (size_t i = 0; i < m.size(); ++i) sum[i].second += m[i].second;
    ++count;
  }
  Metrics mean() const {
    Metrics r = sum;
    for (auto& kv : r) kv.second /= double(count ? count : 1);
    return r;
  }
};

}  // namespace

std::string format_duration(double s) {
  char buf[32];
  const int t = int(s + 0.5);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", t / 3600, (t / 60) % 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%dm%02ds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%ds", t);
  return buf;
}

Metrics evaluate(Context& ctx, Model& model, DeviceDataset& data, int64_t limit) {
  NvtxRange r("evaluate");
  const int64_t n = limit > 0 ? std::min(limit, data.size()) : data.size();
  const int chunk = 500;
  data.sequential(ctx);
  Metrics sum;
  for (int64_t begin = 0; begin < n; begin += chunk) {
    const int B = int(std::min<int64_t>(chunk, n - begin));
    const Metrics m = model.eval_batch(ctx, data.batch(ctx, begin, B), begin);
    if (sum.empty()) sum = m;
    else
      for (size_t i = 0; i < m.size(); ++i) sum[i].second += m[i].second;
  }
  for (auto& kv : sum) kv.second /= double(n);
  for (const auto& kv : sum)
    if (kv.first == "mse") {
      sum.push_back({"psnr", 10.0 * std::log10(1.0 / std::max(kv.second, 1e-12))});
      break;
    }
  return sum;
}

TrainResult train_model(const TrainOptions& opt) {
  DG_REQUIRE(!opt.out.empty(), "--out: a run folder is required");
  const fs::path run = opt.out;
  const fs::path ckpt_dir = run / "checkpoints";

  // Settings: from the kind's defaults and the flags, or (resume) from the run's config.json.
  std::string kind_name = opt.kind;
  nlohmann::json model_cfg, train_cfg;
  if (opt.resume) {
    std::ifstream in(run / "config.json");
    DG_REQUIRE(in, "--resume ", run.string(), ": no config.json there (is it a run folder?)");
    nlohmann::json c;
    try {
      in >> c;
    } catch (const nlohmann::json::exception& e) {
      fail((run / "config.json").string(), ": not valid JSON: ", e.what());
    }
    kind_name = c.at("model").get<std::string>();
    model_cfg = c.at("config");
    train_cfg = c.at("train");
    if (opt.epochs > 0) train_cfg["epochs"] = opt.epochs;  // extending a finished run is allowed
  } else {
    const ModelKind& k = find_model_kind(kind_name);
    model_cfg = merge_config(k, opt.overrides);
    train_cfg = {{"epochs", opt.epochs > 0 ? opt.epochs : k.train.epochs},
                 {"batch", opt.batch > 0 ? opt.batch : k.train.batch},
                 {"lr", opt.lr > 0 ? opt.lr : k.train.lr},
                 {"adam_betas", {opt.beta1 >= 0 ? opt.beta1 : k.train.beta1, opt.beta2 >= 0 ? opt.beta2 : k.train.beta2}},
                 {"weight_decay", opt.weight_decay},
                 {"cosine_lr", k.train.cosine_lr},
                 {"seed", opt.seed},
                 {"train_images", opt.train_images}};
    if (fs::exists(ckpt_dir) && !fs::is_empty(ckpt_dir))
      fail("--out ", run.string(), " already holds a run; continue it with --resume ", run.string(),
           " or choose another folder");
  }
  const ModelKind& kind = find_model_kind(kind_name);
  const int epochs = train_cfg.at("epochs").get<int>();
  const int batch = train_cfg.at("batch").get<int>();
  const uint64_t seed = train_cfg.at("seed").get<uint64_t>();
  const int64_t train_images = train_cfg.value("train_images", int64_t(0));
  DG_REQUIRE(epochs > 0, "--epochs: expected a positive number, got ", epochs);
  DG_REQUIRE(batch > 0, "--batch: expected a positive number, got ", batch);

  std::string why;
  const Device device = choose_device(opt.device, &why);
  Context ctx(device, opt.sync_debug);
  ctx.set_tf32(opt.tf32);
  if (!opt.quiet) std::printf("device: %s\n", why.c_str());

  // Data.
  MnistSplit train_split = load_mnist_split(opt.data_dir, true);
  if (train_images > 0 && train_images < train_split.images.count) {
    train_split.images.count = train_images;
    train_split.images.pixels.resize(size_t(train_images) * 28 * 28);
    train_split.labels.resize(size_t(train_images));
  }
  const MnistSplit test_split = load_mnist_split(opt.data_dir, false);
  DeviceDataset train(ctx, train_split), test(ctx, test_split);
  const int64_t steps_per_epoch = train.size() / batch;
  DG_REQUIRE(steps_per_epoch > 0, "--batch ", batch, " is larger than the training set (", train.size(), " images)");

  // Model: fresh, or from the run's latest checkpoint.
  std::unique_ptr<Model> model;
  TrainPosition pos;
  if (opt.resume) {
    LoadedModel lm = load_checkpoint(ctx, run.string(), true);
    model = std::move(lm.model);
    pos = lm.meta.position;
    if (!opt.quiet) std::printf("resuming %s from %s (epoch %lld, step %lld)\n", kind_name.c_str(), lm.path.c_str(),
                                (long long)pos.epoch, (long long)pos.step);
  } else {
    model = kind.create(ctx, model_cfg, seed);
  }
  // The kind may train for more epochs than --epochs (the VQ-VAE's prior follows its autoencoder).
  const int run_epochs = model->total_epochs(epochs);
  fs::create_directories(ckpt_dir);
  fs::create_directories(run / "samples");
  write_text_atomic(run / "config.json",
                    nlohmann::json{{"model", kind_name}, {"config", model_cfg}, {"train", train_cfg}}.dump(2) + "\n");
  std::ofstream metrics_out(run / "metrics.jsonl", std::ios::app);
  DG_REQUIRE(metrics_out, (run / "metrics.jsonl").string(), ": cannot open for appending");

  OptimConfig oc;
  oc.adam.lr = train_cfg.at("lr").get<float>();
  oc.adam.beta1 = train_cfg.at("adam_betas")[0].get<float>();
  oc.adam.beta2 = train_cfg.at("adam_betas")[1].get<float>();
  oc.adam.weight_decay = train_cfg.at("weight_decay").get<float>();
  const float base_lr = oc.adam.lr;
  const bool cosine = train_cfg.value("cosine_lr", false);
  const int64_t total_steps = steps_per_epoch * run_epochs;

  if (!opt.quiet)
    std::printf("training %s for %d epochs (%lld steps of %d images) into %s\n", kind_name.c_str(), run_epochs,
                (long long)total_steps, batch, run.string().c_str());

  TrainResult result;
  result.run_dir = run.string();
  const auto t_start = Clock::now();
  int64_t images_done = 0;
  double train_seconds = 0;
  const int64_t log_every = std::max<int64_t>(1, steps_per_epoch / 10);
  const bool tty = isatty(fileno(stdout));

  const int64_t last_epoch =
      opt.stop_after_epochs > 0 ? std::min<int64_t>(run_epochs, pos.epoch + opt.stop_after_epochs) : int64_t(run_epochs);
  for (int64_t epoch = pos.epoch; epoch < last_epoch; ++epoch) {
    train.shuffle(ctx, seed, uint32_t(epoch));
    RunningMean epoch_mean, window_mean;
    auto t_epoch = Clock::now(), t_window = Clock::now(), t_print = Clock::now();
    int64_t window_images = 0;
    for (int64_t s = 0; s < steps_per_epoch; ++s) {
      const int64_t step = pos.step;
      if (step == opt.profile_begin) profiler_start();
      oc.step = step;
      oc.epoch = epoch;
      oc.epoch_frac = double(epoch) + double(s + 1) / double(steps_per_epoch);
      if (cosine) oc.adam.lr = float(base_lr * 0.5 * (1.0 + std::cos(M_PI * double(step) / double(total_steps))));
      const Batch b = train.batch(ctx, s * batch, batch);
      const Metrics m = model->train_step(ctx, b, StepInfo{true, seed, uint32_t(step)}, oc);
      if (step + 1 == opt.profile_end) {
        ctx.synchronize();
        profiler_stop();
      }
      ++pos.step;
      epoch_mean.add(m);
      window_mean.add(m);
      window_images += batch;
      images_done += batch;
      for (const auto& kv : m)
        DG_REQUIRE(std::isfinite(kv.second), "training diverged at step ", step, ": ", kv.first, " = ", kv.second,
                   "; try a smaller --lr");
      if ((s + 1) % log_every == 0 || s + 1 == steps_per_epoch) {
        const double dt = seconds_since(t_window);
        const double ips = double(window_images) / std::max(dt, 1e-9);
        nlohmann::json line = {{"step", pos.step}, {"epoch", epoch}, {"split", "train"}, {"images_per_s", ips},
                               {"lr", oc.adam.lr}};
        for (const auto& kv : window_mean.mean()) line[kv.first] = kv.second;
        metrics_out << line.dump() << "\n";
        metrics_out.flush();
        window_mean = RunningMean();
        window_images = 0;
        t_window = Clock::now();
      }
      // On a terminal the progress line redraws every 2 s; in a log it is a new line every 15 s.
      if (!opt.quiet && (seconds_since(t_print) > (tty ? 2.0 : 15.0) || s + 1 == steps_per_epoch)) {
        const double elapsed = train_seconds + seconds_since(t_epoch);
        const double ips = double(images_done) / std::max(elapsed, 1e-9);
        const double remaining = double(total_steps - pos.step) * batch / std::max(ips, 1e-9);
        std::printf("%sepoch %lld/%d step %lld/%lld %s | %.0f img/s ETA %s   %s", tty ? "\r" : "", (long long)epoch + 1, run_epochs,
                    (long long)pos.step, (long long)total_steps, format_metrics(epoch_mean.mean()).c_str(), ips,
                    format_duration(remaining).c_str(), tty ? "" : "\n");
        std::fflush(stdout);
        t_print = Clock::now();
      }
    }
    train_seconds += seconds_since(t_epoch);
    pos.epoch = epoch + 1;

    // End of epoch: model hook, test metrics, sample grid, checkpoint.
    model->end_of_epoch(ctx, train);
    const Metrics test_m = evaluate(ctx, *model, test, opt.test_images);
    result.final_test = test_m;
    nlohmann::json line = {{"step", pos.step}, {"epoch", epoch}, {"split", "test"},
                           {"images_per_s", double(images_done) / std::max(train_seconds, 1e-9)}};
    for (const auto& kv : test_m) line[kv.first] = kv.second;
    metrics_out << line.dump() << "\n";
    metrics_out.flush();
    if (!opt.quiet) std::printf("%s  test: %s\n", tty ? "\n" : "", format_metrics(test_m).c_str());
    if (model->can_generate()) {
      const int n = 64;
      const std::vector<float> img = model->generate(ctx, 0, n, seed, nullptr).to_host(ctx);
      write_png_grid((run / "samples" / ("epoch-" + std::to_string(epoch + 1) + ".png")).string(), img.data(), n, 28,
                     28, 8);
    }
    const std::string name = "step-" + std::to_string(pos.step) + ".safetensors";
    save_checkpoint(ctx, *model, CheckpointMeta{kind_name, model_cfg, train_cfg, pos}, (ckpt_dir / name).string());
    write_text_atomic(ckpt_dir / "latest", name + "\n");
    // Keep the newest `keep_checkpoints` files.
    const auto files = list_step_checkpoints(ckpt_dir.string());
    for (size_t i = 0; i + size_t(std::max(1, opt.keep_checkpoints)) < files.size(); ++i) fs::remove(files[i].second);
  }
  ctx.synchronize();
  // Loss curves as a picture, when gnuplot is there (a missing chart never fails a run).
  if (gnuplot_available()) {
    try {
      plot_metrics((run / "metrics.jsonl").string(), model->headline_metric(), (run / "loss.png").string());
    } catch (const Error& e) {
      if (!opt.quiet) std::fprintf(stderr, "warning: %s\n", e.what());
    }
  }
  result.seconds = seconds_since(t_start);
  result.images_per_s = double(images_done) / std::max(train_seconds, 1e-9);
  result.steps = pos.step;
  if (!opt.quiet) {
    std::printf("done in %s (training %s, %.0f img/s); memory pool: %s\n", format_duration(result.seconds).c_str(),
                format_duration(train_seconds).c_str(), result.images_per_s, ctx.pool().stats().to_string().c_str());
    std::printf("run folder: %s (checkpoints/, metrics.jsonl, loss.png, samples/)\n", run.string().c_str());
    if (pos.epoch < run_epochs)
      std::printf("stopped after epoch %lld of %d; continue with: digitgen train --resume %s\n", (long long)pos.epoch,
                  run_epochs, run.string().c_str());
  }
  return result;
}

}  // namespace dg
