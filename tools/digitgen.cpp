// The digitgen command line: train, sample, restyle, classify and inspect models of every registered kind.
// Errors are one line on stderr and a non-zero exit, never a stack trace.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <unistd.h>

#include "models/checkpoint.h"
#include "models/evaluation.h"
#include "models/judge.h"
#include "models/latent_map.h"
#include "models/report.h"
#include "models/sampling.h"
#include "models/trainer.h"
#include "runtime/error.h"
#include "runtime/idx.h"
#include "runtime/image_io.h"
#include "runtime/plot.h"

namespace fs = std::filesystem;
using namespace dg;

namespace {

// Default MNIST folder: $DIGITGEN_DATA, else data/mnist in the source tree.
std::string default_data_dir() {
  if (const char* env = std::getenv("DIGITGEN_DATA")) return env;
  return std::string(DIGITGEN_SOURCE_DIR) + "/data/mnist";
}

void parse_profile_steps(const std::string& s, TrainOptions& o) {
  if (s.empty()) return;
  const auto colon = s.find(':');
  DG_REQUIRE(colon != std::string::npos, "--profile-steps: expected A:B (steps A to B-1), got '", s, "'");
  try {
    o.profile_begin = std::stoll(s.substr(0, colon));
    o.profile_end = std::stoll(s.substr(colon + 1));
  } catch (...) {
    fail("--profile-steps: expected A:B with integers, got '", s, "'");
  }
  DG_REQUIRE(0 <= o.profile_begin && o.profile_begin < o.profile_end, "--profile-steps: expected 0 <= A < B, got '", s, "'");
}

void parse_betas(const std::string& s, TrainOptions& o) {
  const auto comma = s.find(',');
  DG_REQUIRE(comma != std::string::npos, "--adam-betas: expected two numbers like 0.9,0.999, got '", s, "'");
  try {
    o.beta1 = std::stof(s.substr(0, comma));
    o.beta2 = std::stof(s.substr(comma + 1));
  } catch (...) {
    fail("--adam-betas: expected two numbers like 0.9,0.999, got '", s, "'");
  }
  DG_REQUIRE(0 <= o.beta1 && o.beta1 < 1 && 0 <= o.beta2 && o.beta2 < 1, "--adam-betas: each must be in [0, 1), got '", s, "'");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"digitgen: train and sample generative models of handwritten digits on MNIST"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "help for every command");

  // Settings shared by the commands.
  std::string device = "auto";
  bool sync_debug = false;
  std::string profile_steps;
  uint64_t seed = 1;
  auto add_common = [&](CLI::App* c) {
    c->add_option("--device", device, "auto (GPU when usable), cuda or cpu")->check(CLI::IsMember({"auto", "cuda", "cpu"}));
    c->add_flag("--sync-debug", sync_debug, "synchronize and check after every kernel launch (names the failing kernel)");
    c->add_option("--seed", seed, "seed for every random draw (Philox)");
  };

  // ---- train ----
  TrainOptions topt;
  std::string betas, hidden, channels, arch;
  int latent = 0;
  float kl_weight = -1, kl_warmup = -1, dropout = -1;
  int augment_shift = -1;
  bool binarize = false;
  bool conditional = false, spectral_norm = false, no_spectral_norm = false;
  std::string gan_loss;
  float label_smoothing = -1, ema_decay = -1;
  auto* train = app.add_subcommand("train", "train a model; writes a run folder");
  add_common(train);
  train->add_option("--model", topt.kind, "model kind (see `digitgen models`)");
  train->add_option("--out", topt.out, "run folder to create")->required(false);
  train->add_option("--resume", topt.out, "continue the run in this folder where it stopped");
  train->add_option("--data", topt.data_dir, "MNIST folder (IDX files, plain or .gz)");
  train->add_option("--epochs", topt.epochs, "epochs (with --resume: the new total)");
  train->add_option("--batch", topt.batch, "batch size");
  train->add_option("--lr", topt.lr, "Adam learning rate");
  train->add_option("--adam-betas", betas, "Adam betas, e.g. 0.9,0.999 (default 0.9,0.999; the GAN 0.5,0.999)");
  train->add_option("--weight-decay", topt.weight_decay, "decoupled weight decay (AdamW)");
  train->add_option("--arch", arch, "mlp or conv (autoencoders)");
  train->add_option("--hidden", hidden, "hidden layer widths, e.g. 512,256");
  train->add_option("--channels", channels, "conv channel widths, e.g. 32,64");
  train->add_option("--latent", latent, "latent size");
  train->add_option("--kl-weight", kl_weight, "weight of the KL term (VAE, CVAE)");
  train->add_option("--kl-warmup", kl_warmup, "epochs over which the KL weight ramps up linearly from 0 (VAE, CVAE)");
  train->add_flag("--binarize", binarize, "train on dynamically binarized images (VAE, CVAE)");
  train->add_flag("--conditional", conditional,
                  "condition on the digit label (GAN: generator and discriminator; VQ-VAE: the prior)");
  train->add_option("--gan-loss", gan_loss, "bce (non-saturating, default) or hinge (GAN)")
      ->check(CLI::IsMember({"bce", "hinge"}));
  train->add_flag("--spectral-norm", spectral_norm, "spectral normalisation of the discriminator's weights (GAN, default)");
  train->add_flag("--no-spectral-norm", no_spectral_norm, "train the GAN's discriminator without spectral normalisation");
  train->add_option("--label-smoothing", label_smoothing, "BCE target for real images, one-sided smoothing (GAN, default 0.9)");
  train->add_option("--ema-decay", ema_decay,
                    "decay of the weight average that sampling uses (GAN generator and ddpm, default 0.999; 0 samples "
                    "from the trained weights); of the codebook's moving averages (VQ-VAE, default 0.99)");
  train->add_option("--dropout", dropout, "dropout probability (classifier)");
  train->add_option("--augment-shift", augment_shift, "shift training images randomly by up to N pixels (classifier)");
  // VQ-VAE (issue 4).
  int codebook_size = 0, code_dim = 0, dead_after = 0, prior_channels = 0, prior_layers = 0, prior_kernel = 0,
      prior_head = 0, prior_epochs = -1;
  float commitment = -1;
  std::string codebook_update, stage, stage_checkpoint;
  train->add_option("--codebook-size", codebook_size, "codes in the codebook, K (VQ-VAE)");
  train->add_option("--code-dim", code_dim, "dimension of each code, D (VQ-VAE)");
  train->add_option("--commitment", commitment, "weight of the commitment loss, beta (VQ-VAE)");
  train->add_option("--codebook-update", codebook_update, "ema (moving averages, default) or loss (Adam) (VQ-VAE)")
      ->check(CLI::IsMember({"ema", "loss"}));
  train->add_option("--dead-after", dead_after, "re-seed codes unused for this many steps (VQ-VAE)");
  train->add_option("--prior-channels", prior_channels, "width of the PixelCNN prior (VQ-VAE)");
  train->add_option("--prior-layers", prior_layers, "gated layers of the PixelCNN prior (VQ-VAE)");
  train->add_option("--prior-kernel", prior_kernel, "masked kernel size of the PixelCNN prior, 3, 5 or 7 (VQ-VAE)");
  train->add_option("--prior-head", prior_head, "hidden width of the prior's per-position head (VQ-VAE)");
  train->add_option("--prior-epochs", prior_epochs, "epochs of prior training after the autoencoder's (VQ-VAE)");
  train->add_option("--stage", stage, "both (autoencoder, then prior; default) or prior (VQ-VAE; with --checkpoint)")
      ->check(CLI::IsMember({"both", "prior"}));
  train->add_option("--checkpoint", stage_checkpoint, "--stage prior: the VQ-VAE run whose autoencoder the prior models");
  train->add_option("--train-images", topt.train_images, "use only the first N training images");
  train->add_option("--test-images", topt.test_images, "evaluate on the first N test images each epoch");
  train->add_option("--keep", topt.keep_checkpoints, "checkpoints to keep in the run folder");
  train->add_option("--stop-after-epochs", topt.stop_after_epochs,
                    "end this invocation after N epochs (time-boxed sessions); --resume continues the run");
  train->add_option("--profile-steps", profile_steps, "A:B: cudaProfilerStart/Stop around steps A..B-1 (Nsight Systems)");
  train->add_flag("--tf32", topt.tf32, "allow TF32 tensor-core math in cuBLAS (faster, less exact)");
  train->add_flag("--quiet", topt.quiet, "no progress line");
  // Diffusion (ddpm).
  int blocks = 0, timesteps = 0;
  bool attention = false;
  std::string schedule;
  float label_dropout = -1;
  train->add_option("--blocks", blocks, "residual blocks per U-Net level (ddpm)");
  train->add_flag("--attention", attention, "a self-attention block at 7x7 in the U-Net's middle (ddpm)");
  train->add_option("--timesteps", timesteps, "diffusion steps T (ddpm, default 1000)");
  train->add_option("--schedule", schedule, "noise schedule: linear or cosine (ddpm)")
      ->check(CLI::IsMember({"linear", "cosine"}));
  train->add_option("--label-dropout", label_dropout,
                    "probability of training on the null label, for classifier-free guidance (ddpm, default 0.1)");

  // ---- sample ----
  std::string ckpt, out;
  int64_t n = 64;
  int batch = 256;
  auto* sample = app.add_subcommand("sample", "generate digits from a checkpoint (PNG grid, .idx or .npy by extension)");
  add_common(sample);
  sample->add_option("--checkpoint", ckpt, "checkpoint file or run folder")->required();
  sample->add_option("--n", n, "number of digits");
  sample->add_option("--out", out, "output file: .png, .idx or .npy")->required();
  sample->add_option("--batch", batch, "digits generated per device call");
  float temperature = 1.0f;
  sample->add_option("--temperature", temperature, "softmax temperature of an autoregressive prior (VQ-VAE)");
  std::string label;
  sample->add_option("--label", label,
                     "conditional models: a digit 0..9, or 'all' for one row per digit with the same styles in each "
                     "column (--n columns, default 10)");

  // Diffusion sampling (ddpm): the same flags for sample, eval and report.
  std::string sampler, trajectory_out;
  int sample_steps = 0;
  double eta = -1;
  float guidance = -1;
  bool no_ema = false, no_cuda_graph = false;
  auto add_diffusion_sampling = [&](CLI::App* c) {
    c->add_option("--sampler", sampler, "ddpm (ancestral, all steps) or ddim (ddpm checkpoints; default ddim)")
        ->check(CLI::IsMember({"ddpm", "ddim"}));
    c->add_option("--sample-steps", sample_steps, "DDIM steps (default 50)");
    c->add_option("--eta", eta, "DDIM noise scale in [0, 1]: 0 deterministic, 1 ancestral (default)");
    c->add_option("--guidance", guidance, "classifier-free guidance scale (default 3; 1 = none)");
    c->add_flag("--no-ema", no_ema, "sample with the raw weights instead of their moving average");
    c->add_flag("--no-cuda-graph", no_cuda_graph, "run each denoising step eagerly instead of replaying a CUDA graph");
  };
  // The settings given on the command line, as Model::set_sampling takes them (empty: the model's defaults).
  auto diffusion_sampling = [&]() {
    nlohmann::json sampling = nlohmann::json::object();
    if (!sampler.empty()) sampling["sampler"] = sampler;
    if (sample_steps > 0) sampling["sample_steps"] = sample_steps;
    if (eta >= 0) sampling["eta"] = eta;
    if (guidance >= 0) sampling["guidance"] = guidance;
    if (no_ema) sampling["ema"] = false;
    if (no_cuda_graph) sampling["cuda_graph"] = false;
    return sampling;
  };
  add_diffusion_sampling(sample);
  sample->add_option("--trajectory", trajectory_out,
                     "also write a PNG strip of the denoising of sample 0 (label: --label N, else 0)");

  // ---- restyle ----
  RestyleOptions ropt;
  auto* restyle = app.add_subcommand(
      "restyle", "redraw digits as another digit in the same handwriting with a conditional model (cvae)");
  add_common(restyle);
  restyle->add_option("--checkpoint", ckpt, "checkpoint file or run folder of a conditional model")->required();
  restyle->add_option("--input", ropt.input, "digits: IDX images (plain or .gz) or a PNG of one 28x28 digit")->required();
  restyle->add_option("--input-labels", ropt.input_labels,
                      "IDX labels of the input; without it the evaluator classifier predicts them");
  restyle->add_option("--evaluator", ropt.evaluator,
                      "classifier checkpoint that predicts input labels (default models/weights/evaluator.safetensors)");
  restyle->add_option("--to", ropt.to, "the digit to redraw each input as")->required()->check(CLI::Range(0, 9));
  restyle->add_option("--out", ropt.out, "output: .png (input and result side by side), .idx or .npy")->required();
  restyle->add_option("--batch", ropt.batch, "digits per device call");

  // ---- reconstruct (issue 4) ----
  ReconstructOptions recopt;
  auto* reconstruct = app.add_subcommand(
      "reconstruct", "inputs beside their reconstructions (ae, vae, cvae, vqvae); prints MSE and PSNR");
  add_common(reconstruct);
  reconstruct->add_option("--checkpoint", ckpt, "checkpoint file or run folder")->required();
  reconstruct->add_option("--input", recopt.input, "digits: IDX images (plain or .gz) or a PNG of one 28x28 digit")
      ->required();
  reconstruct->add_option("--input-labels", recopt.input_labels,
                          "IDX labels (cvae); without them the evaluator classifier predicts them");
  reconstruct->add_option("--evaluator", recopt.evaluator, "classifier checkpoint that predicts input labels (cvae)");
  reconstruct->add_option("--out", recopt.out, "output: .png (input and reconstruction side by side), .idx or .npy")
      ->required();
  reconstruct->add_option("--batch", recopt.batch, "digits per device call");

  // ---- export ----
  auto* exportc = app.add_subcommand("export", "write a checkpoint's weights without optimizer state (for publishing)");
  exportc->add_option("--checkpoint", ckpt, "checkpoint file or run folder")->required();
  exportc->add_option("--out", out, "output .safetensors file")->required();

  // ---- plot ----
  std::string run_dir;
  auto* plot = app.add_subcommand("plot", "draw a run's loss curves (metrics.jsonl) as a PNG with gnuplot");
  plot->add_option("--run", run_dir, "run folder")->required();
  plot->add_option("--out", out, "PNG file (default RUN/loss.png)");

  // ---- classify ----
  std::string cls_input, cls_labels, report_out;
  auto* classify = app.add_subcommand(
      "classify", "judge a file of digits with a classifier: class histogram, entropy, agreement with labels");
  add_common(classify);
  classify->add_option("--checkpoint", ckpt, "classifier (default: the committed evaluator)");
  classify->add_option("--input", cls_input, "IDX images (plain or .gz), e.g. from digitgen sample")->required();
  classify->add_option("--input-labels", cls_labels, "IDX labels to compare the predictions with");
  classify->add_option("--out", report_out, "also write the report as JSON to this file");

  // ---- latent-map ----
  int64_t map_n = 5000;
  std::string data_dir;
  auto* latent_map = app.add_subcommand("latent-map", "scatter plot of a model's latent space over test digits (PNG)");
  add_common(latent_map);
  latent_map->add_option("--checkpoint", ckpt, "checkpoint file or run folder (ae, vae, cvae)")->required();
  latent_map->add_option("--n", map_n, "test digits to encode");
  latent_map->add_option("--data", data_dir, "MNIST folder (IDX files, plain or .gz)");
  latent_map->add_option("--out", out, "PNG file")->required();

  // ---- models ----
  auto* models = app.add_subcommand("models", "list the registered model kinds and their defaults");

  // ---- info ----
  auto* info = app.add_subcommand("info", "print a checkpoint's kind, configuration and training position");
  info->add_option("--checkpoint", ckpt, "checkpoint file or run folder")->required();

  // ---- eval and report (models/evaluation.h, models/report.h) ----
  EvalOptions eopt;
  std::string eval_metrics, eval_out = "eval.json", report_dir;
  std::vector<std::string> report_runs;
  auto add_eval_options = [&](CLI::App* c) {
    add_common(c);
    c->add_option("--n", eopt.n, "samples to judge (default 10000 on a GPU, 2000 on the CPU)");
    c->add_option("--evaluator", eopt.evaluator,
                  "classifier checkpoint that judges the samples (default models/weights/evaluator.safetensors)");
    c->add_option("--data", eopt.data_dir, "MNIST folder (IDX files, plain or .gz)");
    c->add_option("--batch", eopt.batch, "digits per device call");
    c->add_option("--metrics", eval_metrics,
                  "comma-separated subset of sampling,fd,kid,pr,classes,memorization,sts,model,likelihood (default all)");
    c->add_option("--test-images", eopt.test_images, "judge against the first N test images only (quick checks)");
    c->add_option("--kid-subsets", eopt.kid_subsets, "KID subsets (default 100)");
    c->add_option("--kid-subset-size", eopt.kid_subset_size, "rows per KID subset (default 1000)");
    c->add_option("--sts-n", eopt.sts_n, "labelled digits for train-on-synthetic (default 10000)");
    c->add_option("--sts-epochs", eopt.sts_epochs, "epochs of the train-on-synthetic classifier (default 3)");
    c->add_option("--is-k", eopt.is_k, "importance samples per image for the likelihood (default 1000)");
    c->add_option("--is-images", eopt.is_images, "test images for the likelihood (default 1000)");
  };
  auto* evalc = app.add_subcommand("eval", "judge a generating checkpoint's samples against real MNIST (JSON)");
  add_eval_options(evalc);
  evalc->add_option("--checkpoint", eopt.checkpoint, "checkpoint file or run folder of a generating model")->required();
  evalc->add_option("--out", eval_out, "JSON file for the results (default eval.json)");
  add_diffusion_sampling(evalc);  // report judges every run with its defaults; eval JSON files can join a report
  auto* reportc = app.add_subcommand("report", "evaluate several runs and write a Markdown comparison with charts");
  add_eval_options(reportc);
  reportc->add_option("--runs", report_runs, "run folders or checkpoints (or eval JSON files)")->required();
  reportc->add_option("--out", report_dir, "report folder (README.md, charts.png, samples/, evals/)")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    if (*train) {
      DG_REQUIRE(!topt.out.empty(), "train: give --out RUN for a new run or --resume RUN to continue one");
      topt.resume = train->count("--resume") > 0;
      DG_REQUIRE(!(topt.resume && train->count("--out") > 0), "train: give either --out or --resume, not both");
      DG_REQUIRE(topt.resume || !topt.kind.empty() || stage == "prior", "train: --model is required for a new run (see `digitgen models`)");
      if (topt.data_dir.empty()) topt.data_dir = default_data_dir();
      if (!betas.empty()) parse_betas(betas, topt);
      parse_profile_steps(profile_steps, topt);
      topt.device = device;
      topt.sync_debug = sync_debug;
      topt.seed = seed;
      nlohmann::json& o = topt.overrides;
      if (!arch.empty()) o["arch"] = arch;
      if (!hidden.empty()) o["hidden"] = hidden;
      if (!channels.empty()) o["channels"] = channels;
      if (latent > 0) o["latent"] = latent;
      if (kl_weight >= 0) o["kl_weight"] = kl_weight;
      if (kl_warmup >= 0) o["kl_warmup"] = kl_warmup;
      if (binarize) o["binarize"] = true;
      if (dropout >= 0) o["dropout"] = dropout;
      if (conditional) o["conditional"] = true;
      if (!gan_loss.empty()) o["gan_loss"] = gan_loss;
      DG_REQUIRE(!(spectral_norm && no_spectral_norm), "train: give --spectral-norm or --no-spectral-norm, not both");
      if (spectral_norm) o["spectral_norm"] = true;
      if (no_spectral_norm) o["spectral_norm"] = false;
      if (label_smoothing >= 0) o["label_smoothing"] = label_smoothing;
      if (ema_decay >= 0) o["ema_decay"] = ema_decay;
      if (augment_shift >= 0) o["augment_shift"] = augment_shift;
      if (codebook_size > 0) o["codebook_size"] = codebook_size;
      if (code_dim > 0) o["code_dim"] = code_dim;
      if (commitment >= 0) o["commitment"] = commitment;
      if (!codebook_update.empty()) o["codebook_update"] = codebook_update;
      if (dead_after > 0) o["dead_after"] = dead_after;
      if (prior_channels > 0) o["prior_channels"] = prior_channels;
      if (prior_layers > 0) o["prior_layers"] = prior_layers;
      if (prior_kernel > 0) o["prior_kernel"] = prior_kernel;
      if (prior_head > 0) o["prior_head"] = prior_head;
      if (prior_epochs >= 0) o["prior_epochs"] = prior_epochs;
      if (blocks > 0) o["blocks"] = blocks;
      if (attention) o["attention"] = true;
      if (timesteps > 0) o["timesteps"] = timesteps;
      if (!schedule.empty()) o["schedule"] = schedule;
      if (label_dropout >= 0) o["label_dropout"] = label_dropout;
      if (stage == "prior") {
        // The prior alone, on the autoencoder of an existing run: its architecture settings, the new prior's flags.
        DG_REQUIRE(!stage_checkpoint.empty(), "--stage prior: give the VQ-VAE run with --checkpoint RUN");
        DG_REQUIRE(!topt.resume, "--stage prior starts a new run; give --out, not --resume");
        Context cpu(Device::CPU);
        const std::string src = resolve_checkpoint_path(stage_checkpoint);
        const LoadedModel lm = load_checkpoint(cpu, src);
        DG_REQUIRE(topt.kind.empty() || topt.kind == lm.meta.kind, "--model ", topt.kind, ": --stage prior trains the prior of ",
                   src, ", which is a ", lm.meta.kind);
        topt.kind = lm.meta.kind;
        nlohmann::json merged = lm.meta.config;
        for (auto it = o.begin(); it != o.end(); ++it) merged[it.key()] = it.value();
        merged["stage"] = "prior";
        merged["autoencoder"] = fs::absolute(src).string();
        o = merged;
      } else {
        DG_REQUIRE(stage_checkpoint.empty(), "train --checkpoint: only with --stage prior");
        if (!stage.empty()) o["stage"] = stage;
      }
      DG_REQUIRE(!topt.resume || o.empty(), "train --resume: architecture flags cannot change a run; they come from its config.json");
      train_model(topt);
    } else if (*sample) {
      std::string why;
      Context ctx(choose_device(device, &why), sync_debug);
      LoadedModel lm = load_checkpoint(ctx, ckpt);
      SampleOptions so;
      so.label = parse_label_choice(label);
      so.n = so.label.kind == LabelChoice::Kind::All && sample->count("--n") == 0 ? 10 : n;
      so.batch = batch;
      so.seed = seed;
      if (sample->count("--temperature")) lm.model->set_sampling_temperature(temperature);
      DG_REQUIRE(lm.model->can_generate(), lm.path, ": model kind '", lm.meta.kind, "' does not generate digits");
      DG_REQUIRE(so.label.kind == LabelChoice::Kind::None || lm.model->conditional(), "--label: ", lm.path,
                 " holds model kind '", lm.meta.kind, "', which is not conditional on a label");
      lm.model->set_sampling(diffusion_sampling());
      if (!trajectory_out.empty()) {
        const int frames = 10;
        const int digit = so.label.kind == LabelChoice::Kind::Digit ? so.label.digit : 0;
        const std::vector<float> strip = lm.model->trajectory(ctx, seed, 0, digit, frames).to_host(ctx);
        write_png_grid(trajectory_out, strip.data(), frames, 28, 28, frames);
        std::printf("wrote the denoising of sample 0 (label %d) in %d frames to %s\n", digit, frames,
                    trajectory_out.c_str());
      }
      const SampleSummary ss = write_samples(ctx, *lm.model, so, out);
      std::printf("wrote %lld digits%s from %s (%s, device %s) to %s\n", (long long)ss.count,
                  ss.labelled ? " with labels" : "", lm.path.c_str(), lm.meta.kind.c_str(), why.c_str(), out.c_str());
    } else if (*restyle) {
      std::string why;
      Context ctx(choose_device(device, &why), sync_debug);
      LoadedModel lm = load_checkpoint(ctx, ckpt);
      DG_REQUIRE(lm.model->conditional(), "restyle: ", lm.path, " holds model kind '", lm.meta.kind,
                 "', which is not conditional on a label");
      if (ropt.evaluator.empty()) ropt.evaluator = std::string(DIGITGEN_SOURCE_DIR) + "/models/weights/evaluator.safetensors";
      const RestyleSummary rs = restyle_file(ctx, *lm.model, ropt);
      std::printf("restyled %lld digits as %d (input labels %s) with %s (%s, device %s) into %s\n", (long long)rs.count,
                  ropt.to, rs.predicted ? ("predicted by " + ropt.evaluator).c_str() : "from the labels file",
                  lm.path.c_str(), lm.meta.kind.c_str(), why.c_str(), ropt.out.c_str());
    } else if (*reconstruct) {
      std::string why;
      Context ctx(choose_device(device, &why), sync_debug);
      LoadedModel lm = load_checkpoint(ctx, ckpt);
      if (recopt.evaluator.empty())
        recopt.evaluator = std::string(DIGITGEN_SOURCE_DIR) + "/models/weights/evaluator.safetensors";
      const ReconstructSummary rs = reconstruct_file(ctx, *lm.model, recopt);
      std::printf("reconstructed %lld digits with %s (%s, device %s) into %s\nmse %.6f psnr %.2f dB", (long long)rs.count,
                  lm.path.c_str(), lm.meta.kind.c_str(), why.c_str(), recopt.out.c_str(), rs.mse, rs.psnr);
      for (const auto& kv : rs.stats) std::printf(" %s %.4g", kv.first.c_str(), kv.second);
      std::printf("\n");
    } else if (*exportc) {
      Context ctx(Device::CPU);
      LoadedModel lm = load_checkpoint(ctx, ckpt);
      save_checkpoint(ctx, *lm.model, lm.meta, out, /*with_optimizer=*/false);
      std::printf("wrote the weights of %s (%s) to %s\n", lm.path.c_str(), lm.meta.kind.c_str(), out.c_str());
    } else if (*plot) {
      const fs::path cfg = fs::path(run_dir) / "config.json";
      std::ifstream in(cfg);
      DG_REQUIRE(in, "--run ", run_dir, ": no config.json there (is it a run folder?)");
      nlohmann::json c;
      try {
        in >> c;
      } catch (const nlohmann::json::exception& e) {
        fail(cfg.string(), ": not valid JSON: ", e.what());
      }
      Context ctx(Device::CPU);
      const ModelKind& kind = find_model_kind(c.at("model").get<std::string>());
      const std::string headline = kind.create(ctx, merge_config(kind, c.at("config")), 0)->headline_metric();
      const std::string png = out.empty() ? (fs::path(run_dir) / "loss.png").string() : out;
      plot_metrics((fs::path(run_dir) / "metrics.jsonl").string(), headline, png);
      std::printf("wrote %s\n", png.c_str());
    } else if (*classify) {
      std::string why;
      Context ctx(choose_device(device, &why), sync_debug);
      if (ckpt.empty()) ckpt = std::string(DIGITGEN_SOURCE_DIR) + "/models/weights/evaluator.safetensors";
      LoadedModel lm = load_checkpoint(ctx, ckpt);
      DG_REQUIRE(lm.model->can_classify(), lm.path, ": model kind '", lm.meta.kind, "' is not a classifier");
      const ClassReport r = judge_idx_file(ctx, *lm.model, cls_input, cls_labels);
      std::printf("%lld digits judged by %s\nclass histogram:", (long long)r.count, lm.path.c_str());
      for (int c = 0; c < 10; ++c) std::printf(" %d:%lld", c, (long long)r.histogram[size_t(c)]);
      std::printf("\nentropy %.4f nats (uniform: 2.3026), smallest class share %.4f\n", r.entropy, r.min_share);
      if (r.has_labels) {
        std::printf("agreement with labels %.4f; per digit:", r.agreement());
        for (int c = 0; c < 10; ++c)
          if (r.label_count[size_t(c)])
            std::printf(" %d:%.3f", c, double(r.label_agree[size_t(c)]) / double(r.label_count[size_t(c)]));
        std::printf("\n");
      }
      if (!report_out.empty()) {
        std::ofstream o(report_out);
        DG_REQUIRE(o, report_out, ": cannot open for writing");
        o << r.to_json().dump(2) << "\n";
        DG_REQUIRE(o, report_out, ": write failed");
      }
    } else if (*latent_map) {
      std::string why;
      Context ctx(choose_device(device, &why), sync_debug);
      LoadedModel lm = load_checkpoint(ctx, ckpt);
      const MnistSplit split = load_mnist_split(data_dir.empty() ? default_data_dir() : data_dir, false);
      DeviceDataset test(ctx, split);
      const LatentMap m = map_latent_space(ctx, *lm.model, test, map_n);
      plot_latent_map(m, lm.meta.kind + " (" + fs::path(lm.path).filename().string() + ")", out);
      std::printf("wrote %s: %zu test digits, %d-d latent, %.0f%% of its variance on the plotted axes\n", out.c_str(),
                  m.labels.size(), m.latent, 100.0 * m.explained);
    } else if (*evalc || *reportc) {
      eopt.device = device;
      eopt.sync_debug = sync_debug;
      eopt.seed = seed;
      if (eopt.data_dir.empty()) eopt.data_dir = default_data_dir();
      if (eopt.evaluator.empty()) {
        const char* env = std::getenv("DIGITGEN_EVALUATOR");
        eopt.evaluator = env && *env ? env : std::string(DIGITGEN_SOURCE_DIR) + "/models/weights/evaluator.safetensors";
      }
      std::stringstream ms(eval_metrics);
      for (std::string m; std::getline(ms, m, ',');)
        if (!m.empty()) eopt.metrics.push_back(m);
      if (eopt.n > 0 && eopt.n < 2000)
        std::fprintf(stderr, "warning: --n %lld: below 2000 samples FD and KID are strongly biased; for checks only\n",
                     (long long)eopt.n);
      if (*evalc) {
        eopt.sampling = diffusion_sampling();
        const nlohmann::json doc = evaluate_checkpoint(eopt);
        const std::string tmp = eval_out + ".tmp";
        {
          std::ofstream o(tmp);
          DG_REQUIRE(o, "--out ", eval_out, ": cannot open for writing");
          o << doc.dump(2) << "\n";
          DG_REQUIRE(o, "--out ", eval_out, ": write failed");
        }
        fs::rename(tmp, eval_out);
        std::printf("wrote %s\n", eval_out.c_str());
      } else {
        ReportOptions ro;
        ro.runs = report_runs;
        ro.out = report_dir;
        ro.eval = eopt;
        for (int i = 0; i < argc; ++i) ro.command += (i ? " " : "") + std::string(i ? argv[i] : "digitgen");
        write_report(ro);
      }
    } else if (*models) {
      for (const ModelKind& k : model_registry())
        std::printf("%-11s %s\n            defaults: %s; epochs %d, batch %d, lr %g, adam betas %g,%g\n",
                    k.name.c_str(), k.summary.c_str(), k.defaults.dump().c_str(), k.train.epochs, k.train.batch,
                    k.train.lr, k.train.beta1, k.train.beta2);
    } else if (*info) {
      Context ctx(Device::CPU);
      LoadedModel lm = load_checkpoint(ctx, ckpt);
      std::printf("%s\nkind: %s\nconfig: %s\ntrain: %s\nepoch %lld, step %lld\n", lm.path.c_str(), lm.meta.kind.c_str(),
                  lm.meta.config.dump().c_str(), lm.meta.train.dump().c_str(), (long long)lm.meta.position.epoch,
                  (long long)lm.meta.position.step);
    }
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%sdigitgen: error: %s\n", isatty(fileno(stdout)) ? "\n" : "", e.what());
    return 1;
  }
  return 0;
}
