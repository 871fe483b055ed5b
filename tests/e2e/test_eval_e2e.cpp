// The evaluation on real MNIST with the committed evaluator: the importance-sampled likelihood is never below the
// ELBO on the same images (VAE and CVAE), the evaluator's features score a collapsed set with low recall and low
// class entropy, copied training digits are flagged as memorized, `digitgen eval` writes every metric with its
// sample count, every generating kind evaluates through the Model interface alone, and `digitgen report` writes the
// comparison page.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/checkpoint.h"
#include "models/eval_metrics.h"
#include "models/evaluation.h"
#include "models/judge.h"
#include "models/sampling.h"
#include "runtime/dataset.h"
#include "runtime/idx.h"
#include "runtime/plot.h"
#include "tests/e2e/e2e_util.h"
#include "tests/small_config.h"

namespace fs = std::filesystem;

namespace dg {
namespace {

const std::string kEvaluator = std::string(DIGITGEN_SOURCE_DIR) + "/models/weights/evaluator.safetensors";

// A quick VAE-family run (2 epochs on 15000 images), trained once for the whole suite.
std::string quick_run(const std::string& kind, const std::string& mnist) {
  static e2e::TempDir dir("eval-runs");
  const fs::path out = dir.path / kind;
  if (fs::exists(out / "checkpoints" / "latest")) return out.string();
  TrainOptions o;
  o.kind = kind;
  o.overrides = {{"hidden", "256"}, {"latent", 8}};
  o.epochs = 2;
  o.train_images = 15000;
  o.test_images = 200;
  o.data_dir = mnist;
  o.out = out.string();
  e2e::run_training(o);
  return o.out;
}

TEST(EvalE2e, ImportanceSampledLikelihoodIsNeverBelowTheElbo) {
  DG_REQUIRE_MNIST(mnist);
  Context ctx(Device::CPU);
  const MnistSplit test_split = load_mnist_split(mnist, false);
  DeviceDataset test(ctx, test_split);
  {
    LoadedModel lm = load_checkpoint(ctx, quick_run("vae", mnist));
    ASSERT_TRUE(lm.model->can_estimate_likelihood());
    const int n = 100, K = 200;
    std::vector<double> lp(n), el(n);
    test.sequential(ctx);
    lm.model->importance_log_likelihood(ctx, test.batch(ctx, 0, n), 0, K, 99, lp.data(), el.data());
    double mean_lp = 0, mean_el = 0;
    for (int i = 0; i < n; ++i) {
      EXPECT_GE(lp[size_t(i)], el[size_t(i)]) << "image " << i;  // log-mean-exp >= mean, on the same samples
      mean_lp += lp[size_t(i)] / n;
      mean_el += el[size_t(i)] / n;
    }
    // The model's own ELBO (analytic KL, its own noise) on the same images is below the estimate too, by a margin
    // far larger than the noise of 100 images.
    const double elbo = -metric(evaluate(ctx, *lm.model, test, n), "nelbo");
    EXPECT_GT(mean_lp, elbo + 1.0) << "log p(x) " << mean_lp << " vs ELBO " << elbo;
    EXPECT_NEAR(mean_el, elbo, 5.0);  // the same expectation; the model's ELBO uses one sample per image
    EXPECT_LT(mean_lp, 0.0);
    // The same (seed, image, k) draws give the same numbers; one sample per image is the ELBO estimate itself.
    std::vector<double> lp2(n), el2(n), lp1(n), el1(n);
    lm.model->importance_log_likelihood(ctx, test.batch(ctx, 0, n), 0, K, 99, lp2.data(), el2.data());
    EXPECT_EQ(lp, lp2);
    lm.model->importance_log_likelihood(ctx, test.batch(ctx, 0, n), 0, 1, 99, lp1.data(), el1.data());
    for (int i = 0; i < n; ++i) EXPECT_NEAR(lp1[size_t(i)], el1[size_t(i)], 1e-9);
  }
}

TEST(EvalE2e, EvaluatorScoresCollapseAndMemorization) {
  DG_REQUIRE_MNIST(mnist);
  Context ctx(Device::CPU);
  LoadedModel ev = load_checkpoint(ctx, kEvaluator);
  ASSERT_TRUE(ev.model->can_extract_features());
  const MnistSplit test_split = load_mnist_split(mnist, false), train_split = load_mnist_split(mnist, true);
  const std::vector<float> test_px = idx_to_unit_float(test_split.images);
  auto features = [&](const float* px, int64_t n) {
    FeatureSet f;
    f.n = n;
    for (int64_t i = 0; i < n; i += 500) {
      const int b = int(std::min<int64_t>(500, n - i));
      const std::vector<float> h = ev.model->features(ctx, Tensor::from_host(ctx, {b, 1, 28, 28}, px + i * 784)).to_host(ctx);
      f.dim = int(h.size()) / b;
      f.data.insert(f.data.end(), h.begin(), h.end());
    }
    return f;
  };
  // Real digits against other real digits, and a collapsed "model" that draws one test digit 1000 times.
  const FeatureSet real = features(test_px.data(), 1000), other = features(test_px.data() + 1000 * 784, 1000);
  std::vector<float> one(1000 * 784);
  for (int i = 0; i < 1000; ++i) std::copy_n(test_px.data() + 5 * 784, 784, one.data() + size_t(i) * 784);
  const FeatureSet collapsed = features(one.data(), 1000);
  EXPECT_EQ(real.dim, 128);
  const double fd_real = frechet_distance(feature_moments(real), feature_moments(other));
  const double fd_collapsed = frechet_distance(feature_moments(real), feature_moments(collapsed));
  EXPECT_GT(fd_collapsed, 20 * fd_real) << fd_real << " vs " << fd_collapsed;
  const PrecisionRecall pr_real = precision_recall(ctx, real, other, 3);
  const PrecisionRecall pr_collapsed = precision_recall(ctx, real, collapsed, 3);
  EXPECT_GT(pr_real.recall, 0.6);
  EXPECT_GT(pr_real.precision, 0.6);
  EXPECT_LT(pr_collapsed.recall, 0.02);
  const ClassReport classes = judge_predictions(predict_digits(ctx, *ev.model, one.data(), 1000), nullptr);
  EXPECT_LT(classes.entropy, 0.01);
  EXPECT_DOUBLE_EQ(classes.min_share, 0.0);
  EXPECT_GT(judge_predictions(predict_digits(ctx, *ev.model, test_px.data(), 1000), nullptr).entropy, 2.25);

  // Memorization: 100 copies of training digits among the 5000 indexed are all flagged; test digits are not.
  FeatureSet train;
  train.n = 5000;
  train.dim = 784;
  const std::vector<float> train_px = idx_to_unit_float(train_split.images);
  train.data.assign(train_px.begin(), train_px.begin() + 5000 * 784);
  const NeighbourIndex index(ctx, train.data.data(), train.n, 784);
  FeatureSet test_set, copies = take_rows(train, eval_subset(5000, 100, 1, 1)), fresh;
  test_set.n = 500, test_set.dim = 784;
  test_set.data.assign(test_px.begin(), test_px.begin() + 500 * 784);
  fresh.n = 100, fresh.dim = 784;
  fresh.data.assign(test_px.begin() + 2000 * 784, test_px.begin() + 2100 * 784);
  EXPECT_DOUBLE_EQ(memorization(ctx, index, copies, test_set).fraction, 1.0);
  EXPECT_LT(memorization(ctx, index, fresh, test_set).fraction, 0.1);
}

// `digitgen eval` with every metric (small settings) on a quick CVAE (the conditional paths: requested labels, label
// agreement, log p(x | y)), then every generating kind of the registry (untrained) through the library, then
// `digitgen report` over the JSON files.
TEST(EvalE2e, EvalAndReportFromTheCommandLine) {
  DG_REQUIRE_MNIST(mnist);
  e2e::TempDir dir("eval-cli");
  const std::string run = quick_run("cvae", mnist);
  const std::string json = (dir.path / "cvae.json").string();
  const e2e::CliResult r = e2e::run_cli(
      "eval --checkpoint " + run + " --device cpu --data " + mnist + " --n 300 --test-images 400 --kid-subsets 4 " +
      "--kid-subset-size 100 --sts-n 1280 --sts-epochs 1 --is-k 50 --is-images 40 --out " + json);
  ASSERT_EQ(r.status, 0) << r.output;
  std::ifstream in(json);
  const nlohmann::json e = nlohmann::json::parse(in);
  const nlohmann::json& m = e.at("metrics");
  for (const std::string& name : eval_metric_names()) {
    ASSERT_TRUE(m.contains(name)) << name;
    EXPECT_TRUE(m[name].contains("n")) << name;
    EXPECT_TRUE(m[name].contains("seconds") || name == "classes") << name;
  }
  EXPECT_EQ(e["n"], 300);
  EXPECT_EQ(m["fd"]["n"], 300);
  EXPECT_EQ(m["fd"]["reference_n"], 400);
  EXPECT_GT(m["fd"]["value"].get<double>(), m["fd"]["floor"].get<double>());
  EXPECT_LE(m["pr"]["recall"].get<double>(), 1.0);
  EXPECT_GT(m["pr"]["floor_recall"].get<double>(), 0.7);  // real training digits cover the test digits
  EXPECT_GT(m["classes"]["entropy"].get<double>(), 0.1);
  EXPECT_GT(m["classes"]["label_agreement"].get<double>(), 0.1);  // above chance for the requested digit
  EXPECT_EQ(m["sts"]["n"], 1280);  // requested labels fill every class at once
  EXPECT_EQ(m["sts"]["labels"], "requested");
  EXPECT_EQ(m["sts"]["real"]["n"], 1280);
  // 10 steps of a fresh classifier on real digits (about 0.6 here): well above chance (0.1), far from converged.
  EXPECT_GT(m["sts"]["real_accuracy"].get<double>(), 0.3);
  EXPECT_GT(m["sts"]["accuracy"].get<double>(), 0.0);
  EXPECT_LT(m["memorization"]["fraction"].get<double>(), 0.2);
  EXPECT_EQ(m["likelihood"]["images_below_elbo"], 0);
  EXPECT_GT(m["likelihood"]["log_likelihood"].get<double>(), m["likelihood"]["elbo"].get<double>());
  EXPECT_TRUE(m["model"]["values"].contains("nelbo"));
  EXPECT_TRUE(m["model"]["values"].contains("psnr"));
  // Model::reconstruct (the posterior mean) over the test images: an error of the size the model's own sampled
  // reconstruction reports (the same images, one latent draw each), and the PSNR that goes with it.
  const double rmse = m["reconstruction"]["mse"].get<double>();
  EXPECT_GT(rmse, 0.0);
  EXPECT_LT(rmse, 1.5 * m["model"]["values"]["mse"].get<double>());
  EXPECT_NEAR(m["reconstruction"]["psnr"].get<double>(), 10 * std::log10(1 / rmse), 1e-9);
  EXPECT_EQ(m["reconstruction"]["n"], 400);
  EXPECT_GT(m["sampling"]["images_per_s"].get<double>(), 0.0);

  // Every kind that generates, untrained, through the Model interface only (no kind is named here).
  std::vector<std::string> jsons = {json};
  Context ctx(Device::CPU);
  for (const ModelKind& k : model_registry()) {
    // Small widths: sampling an untrained GPU-sized default (the U-Net) would take minutes here.
    const nlohmann::json config = merge_config(k, test::small_config_overrides(k));
    std::unique_ptr<Model> model = k.create(ctx, config, 1);
    if (!model->can_generate()) continue;
    SCOPED_TRACE(k.name);
    const std::string ckpt = (dir.path / (k.name + "-untrained.safetensors")).string();
    save_checkpoint(ctx, *model, CheckpointMeta{k.name, config, nlohmann::json::object(), {}}, ckpt);
    EvalOptions o;
    o.checkpoint = ckpt;
    o.evaluator = kEvaluator;
    o.data_dir = mnist;
    o.device = "cpu";
    o.n = 40;
    o.batch = 20;
    o.test_images = 100;
    o.metrics = {"sampling", "classes", "model"};
    o.quiet = true;
    const nlohmann::json u = evaluate_checkpoint(o);
    EXPECT_EQ(u["kind"], k.name);
    EXPECT_FALSE(u["metrics"].contains("fd"));  // only what was asked for
    EXPECT_EQ(u["metrics"]["classes"]["count"], 40);
    const std::string j = (dir.path / (k.name + "-untrained.json")).string();
    std::ofstream(j) << u.dump(2);
    jsons.push_back(j);
  }
  std::string args = "report --device cpu --out " + (dir.path / "report").string() + " --runs";
  for (const std::string& j : jsons) args += " " + j;
  const e2e::CliResult rr = e2e::run_cli(args);
  ASSERT_EQ(rr.status, 0) << rr.output;
  std::ifstream page(dir.path / "report" / "README.md");
  const std::string text((std::istreambuf_iterator<char>(page)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("| cvae | cvae |"), std::string::npos) << text;
  EXPECT_NE(text.find("| gan-untrained | gan |"), std::string::npos) << text;
  EXPECT_TRUE(fs::exists(dir.path / "report" / "samples" / "cvae.png"));
  EXPECT_TRUE(fs::exists(dir.path / "report" / "evals" / "cvae.json"));
  if (gnuplot_available()) EXPECT_TRUE(fs::exists(dir.path / "report" / "charts.png"));
  // A report over a run folder keeps its evaluation and reuses it for the same checkpoint and settings.
  const std::string quick = "report --device cpu --data " + mnist + " --n 50 --test-images 100 --metrics sampling,classes " +
                            "--out " + (dir.path / "r3").string() + " --runs " + run;
  const e2e::CliResult first = e2e::run_cli(quick), again = e2e::run_cli(quick);
  ASSERT_EQ(first.status, 0) << first.output;
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_EQ(first.output.find("reusing"), std::string::npos) << first.output;
  EXPECT_NE(again.output.find("reusing"), std::string::npos) << again.output;
  // A run that cannot generate is refused with its kind named.
  const e2e::CliResult bad = e2e::run_cli("eval --device cpu --checkpoint " + kEvaluator + " --out " +
                                          (dir.path / "x.json").string());
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("does not generate"), std::string::npos) << bad.output;
  // Diffusion sampler flags on a kind without a diffusion sampler are refused, naming the flags.
  const e2e::CliResult no_sampler = e2e::run_cli("eval --device cpu --checkpoint " + run + " --guidance 2 --out " +
                                                 (dir.path / "y.json").string());
  EXPECT_NE(no_sampler.status, 0);
  EXPECT_NE(no_sampler.output.find("has no diffusion sampler"), std::string::npos) << no_sampler.output;
  const e2e::CliResult unknown = e2e::run_cli("eval --device cpu --checkpoint " + run + " --metrics fd,speed");
  EXPECT_EQ(unknown.status, 1);
  EXPECT_NE(unknown.output.find("unknown metric 'speed'"), std::string::npos) << unknown.output;
  const e2e::CliResult not_eval = e2e::run_cli("report --device cpu --out " + (dir.path / "r2").string() + " --runs " +
                                               (dir.path / "report" / "README.md").string());
  EXPECT_EQ(not_eval.status, 1);
  EXPECT_NE(not_eval.output.find("digitgen: error:"), std::string::npos) << not_eval.output;
}

}  // namespace
}  // namespace dg
