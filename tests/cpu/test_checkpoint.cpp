// Checkpoints of small registry models: an exact round trip (parameters, Adam moments and counters, extra state,
// generated images), strict rejection of damaged files, atomic saves, run-folder resolution with fallback to an
// older valid file, and weights-only files that refuse to resume.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "models/checkpoint.h"
#include "runtime/error.h"
#include "tests/test_util.h"
#include "tests/small_config.h"

namespace fs = std::filesystem;

namespace dg {
namespace {

// A fresh folder under the system temp folder, removed when the test ends.
struct TempDir {
  fs::path path;
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path = fs::temp_directory_path() /
           ("digitgen-test-" + std::string(info->test_suite_name()) + "-" + info->name() + "-" +
            std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Images in [0, 1] [B, 1, 28, 28] and labels int32 [B], from a fixed generator.
Batch synthetic_batch(Context& ctx, int B, uint32_t seed) {
  const std::vector<float> px = test::random_vec(size_t(B) * 28 * 28, seed, 0.0f, 1.0f);
  std::vector<int32_t> labels(static_cast<size_t>(B));
  for (int i = 0; i < B; ++i) labels[size_t(i)] = int32_t((i * 7 + seed) % 10);
  Batch b;
  b.images = Tensor::from_host(ctx, {B, 1, 28, 28}, px.data());
  b.labels = Tensor::empty(ctx, {B}, DType::I32);
  copy_to_device(ctx, b.labels.raw(), labels.data(), labels.size() * sizeof(int32_t));
  return b;
}

struct Trained {
  std::unique_ptr<Model> model;
  CheckpointMeta meta;
};

Trained make_trained(Context& ctx, const std::string& kind_name, const nlohmann::json& overrides, int steps,
                     uint64_t seed = 5) {
  const ModelKind& kind = find_model_kind(kind_name);
  Trained t;
  t.meta.kind = kind_name;
  t.meta.config = merge_config(kind, overrides);
  t.meta.train = {{"epochs", 1}, {"batch", 16}, {"lr", 1e-3}, {"seed", seed}};
  t.model = kind.create(ctx, t.meta.config, seed);
  OptimConfig oc;
  for (int s = 0; s < steps; ++s) {
    oc.step = s;
    oc.epoch_frac = double(s + 1) / steps;
    t.model->train_step(ctx, synthetic_batch(ctx, 16, uint32_t(100 + s)), StepInfo{true, seed, uint32_t(s)}, oc);
  }
  t.meta.position = {steps, 1};
  return t;
}

const nlohmann::json kSmallVae = {{"hidden", "32"}, {"latent", 4}};
const nlohmann::json kSmallAe = {{"hidden", "32"}, {"latent", 3}};

struct Slabs {
  std::vector<float> p, m, v;
  int64_t steps;
};
std::vector<Slabs> slabs_of(Context& ctx, Model& model) {
  std::vector<Slabs> out;
  for (auto& [prefix, ps] : model.param_stores())
    out.push_back({ps->params().to_host(ctx), ps->adam_m().to_host(ctx), ps->adam_v().to_host(ctx), ps->adam_steps()});
  return out;
}

std::vector<char> file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

void expect_error_containing(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected a dg::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const auto& part : parts) EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' not in: " << msg;
  }
}

TEST(Checkpoint, RoundTripRestoresParamsMomentsStepsAndSamples) {
  TempDir dir;
  Context ctx(Device::CPU);
  Trained t = make_trained(ctx, "vae", kSmallVae, 3);
  const std::string path = (dir.path / "vae.safetensors").string();
  save_checkpoint(ctx, *t.model, t.meta, path);

  LoadedModel lm = load_checkpoint(ctx, path, /*need_optimizer=*/true);
  EXPECT_EQ(lm.path, path);
  EXPECT_EQ(lm.meta.kind, "vae");
  EXPECT_EQ(lm.meta.config, t.meta.config);
  EXPECT_EQ(lm.meta.train, t.meta.train);
  EXPECT_EQ(lm.meta.position.step, 3);
  EXPECT_EQ(lm.meta.position.epoch, 1);
  const auto a = slabs_of(ctx, *t.model), b = slabs_of(ctx, *lm.model);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].p, b[i].p) << "parameter slab " << i;
    EXPECT_EQ(a[i].m, b[i].m) << "adam_m slab " << i;
    EXPECT_EQ(a[i].v, b[i].v) << "adam_v slab " << i;
    EXPECT_EQ(b[i].steps, 3);
    EXPECT_EQ(a[i].steps, b[i].steps);
  }
  EXPECT_EQ(t.model->generate(ctx, 0, 8, 77, nullptr).to_host(ctx), lm.model->generate(ctx, 0, 8, 77, nullptr).to_host(ctx));

  // The next training step from the loaded model is the next step of the original, bit for bit.
  OptimConfig oc;
  oc.step = 3;
  const Batch next = synthetic_batch(ctx, 16, 500);
  const Metrics ma = t.model->train_step(ctx, next, StepInfo{true, 5, 3}, oc);
  const Metrics mb = lm.model->train_step(ctx, next, StepInfo{true, 5, 3}, oc);
  EXPECT_EQ(ma, mb);
  EXPECT_EQ(slabs_of(ctx, *t.model)[0].p, slabs_of(ctx, *lm.model)[0].p);
}

TEST(Checkpoint, AutoencoderExtraStateRoundTrips) {
  TempDir dir;
  Context ctx(Device::CPU);
  Trained t = make_trained(ctx, "ae", kSmallAe, 2);
  // Fit the latent Gaussian on a small synthetic set, so generation depends on state beyond the parameters.
  const int n = 64;
  std::vector<uint8_t> px(static_cast<size_t>(n) * 784), labels(static_cast<size_t>(n));
  for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t((i * 2654435761u) >> 24);
  DeviceDataset data(ctx, px.data(), labels.data(), n, 28, 28);
  t.model->end_of_epoch(ctx, data);
  const std::string path = (dir.path / "ae.safetensors").string();
  save_checkpoint(ctx, *t.model, t.meta, path);
  LoadedModel lm = load_checkpoint(ctx, path);
  const auto sa = t.model->extra_state(ctx), sb = lm.model->extra_state(ctx);
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_EQ(sa[i].name, sb[i].name);
    EXPECT_EQ(sa[i].shape, sb[i].shape);
    EXPECT_EQ(sa[i].data, sb[i].data) << sa[i].name;
  }
  EXPECT_EQ(t.model->generate(ctx, 3, 5, 9, nullptr).to_host(ctx), lm.model->generate(ctx, 3, 5, 9, nullptr).to_host(ctx));
}

TEST(Checkpoint, TruncatedFileIsRejectedNamingTheFile) {
  TempDir dir;
  Context ctx(Device::CPU);
  Trained t = make_trained(ctx, "vae", kSmallVae, 1);
  const fs::path path = dir.path / "cut.safetensors";
  save_checkpoint(ctx, *t.model, t.meta, path.string());
  const auto size = fs::file_size(path);
  for (uintmax_t keep : {uintmax_t(size - 4), uintmax_t(size / 2), uintmax_t(12), uintmax_t(3), uintmax_t(0)}) {
    fs::resize_file(path, keep);
    expect_error_containing([&] { load_checkpoint(ctx, path.string()); }, {path.string()});
  }
  expect_error_containing([&] { load_checkpoint(ctx, (dir.path / "absent.safetensors").string()); },
                          {"absent.safetensors"});
}

TEST(Checkpoint, FailedSaveLeavesEarlierCheckpointIntact) {
  TempDir dir;
  Context ctx(Device::CPU);
  Trained t = make_trained(ctx, "vae", kSmallVae, 1);
  const fs::path path = dir.path / "run.safetensors";
  save_checkpoint(ctx, *t.model, t.meta, path.string());
  const std::vector<char> before = file_bytes(path);
  const std::vector<float> params_before = slabs_of(ctx, *t.model)[0].p;

  // Train on, then fail to save: into a folder that does not exist ...
  OptimConfig oc;
  oc.step = 1;
  t.model->train_step(ctx, synthetic_batch(ctx, 16, 900), StepInfo{true, 5, 1}, oc);
  t.meta.position.step = 2;
  const fs::path missing = dir.path / "no-such-folder" / "run.safetensors";
  expect_error_containing([&] { save_checkpoint(ctx, *t.model, t.meta, missing.string()); }, {missing.string()});
  EXPECT_FALSE(fs::exists(missing.parent_path()));
  // ... and over the earlier file, with the temp file's place taken so the write cannot start.
  const fs::path blocker = path.string() + ".tmp-" + std::to_string(::getpid());
  fs::create_directories(blocker / "sub");
  expect_error_containing([&] { save_checkpoint(ctx, *t.model, t.meta, path.string()); }, {path.string()});
  fs::remove_all(blocker);

  EXPECT_EQ(file_bytes(path), before);
  LoadedModel lm = load_checkpoint(ctx, path.string(), true);
  EXPECT_EQ(lm.meta.position.step, 1);
  EXPECT_EQ(slabs_of(ctx, *lm.model)[0].p, params_before);
  // Nothing but the checkpoint is left in the folder (no stray temp files).
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir.path)) {
    ++entries;
    EXPECT_EQ(e.path(), path);
  }
  EXPECT_EQ(entries, 1);
}

TEST(Checkpoint, RunFolderResolvesLatestAndFallsBackToOlderValidFile) {
  TempDir dir;
  Context ctx(Device::CPU);
  const fs::path ck = dir.path / "checkpoints";
  fs::create_directories(ck);
  Trained t = make_trained(ctx, "vae", kSmallVae, 2);
  save_checkpoint(ctx, *t.model, t.meta, (ck / "step-2.safetensors").string());
  const std::vector<float> p2 = slabs_of(ctx, *t.model)[0].p;
  OptimConfig oc;
  for (int s = 2; s < 4; ++s) {
    oc.step = s;
    t.model->train_step(ctx, synthetic_batch(ctx, 16, uint32_t(100 + s)), StepInfo{true, 5, uint32_t(s)}, oc);
  }
  t.meta.position = {4, 2};
  // step-10 sorts before step-4 as text: the resolution must compare numbers.
  save_checkpoint(ctx, *t.model, t.meta, (ck / "step-10.safetensors").string());
  const std::vector<float> p10 = slabs_of(ctx, *t.model)[0].p;
  ASSERT_NE(p2, p10);

  // No `latest` file: the newest step-N file.
  EXPECT_EQ(resolve_checkpoint_path(dir.path.string()), (ck / "step-10.safetensors").string());
  // `latest` names the file to use.
  { std::ofstream(ck / "latest") << "step-2.safetensors\n"; }
  EXPECT_EQ(resolve_checkpoint_path(dir.path.string()), (ck / "step-2.safetensors").string());
  { std::ofstream(ck / "latest") << "step-10.safetensors\n"; }
  LoadedModel lm = load_checkpoint(ctx, dir.path.string(), true);
  EXPECT_EQ(lm.path, (ck / "step-10.safetensors").string());
  EXPECT_EQ(lm.meta.position.step, 4);
  EXPECT_EQ(slabs_of(ctx, *lm.model)[0].p, p10);
  // A file path resolves to itself.
  EXPECT_EQ(resolve_checkpoint_path((ck / "step-2.safetensors").string()), (ck / "step-2.safetensors").string());

  // The newest file is damaged: the older valid one loads instead.
  fs::resize_file(ck / "step-10.safetensors", fs::file_size(ck / "step-10.safetensors") / 2);
  LoadedModel older = load_checkpoint(ctx, dir.path.string(), true);
  EXPECT_EQ(older.path, (ck / "step-2.safetensors").string());
  EXPECT_EQ(older.meta.position.step, 2);
  EXPECT_EQ(slabs_of(ctx, *older.model)[0].p, p2);

  // Every file damaged: the error is the newest file's.
  fs::resize_file(ck / "step-2.safetensors", 5);
  expect_error_containing([&] { load_checkpoint(ctx, dir.path.string()); }, {"step-10.safetensors"});

  // A folder without checkpoints says so.
  fs::create_directories(dir.path / "other");
  expect_error_containing([&] { load_checkpoint(ctx, (dir.path / "other").string()); }, {"no checkpoints"});
}

TEST(Checkpoint, WeightsOnlyFileRefusesToResume) {
  TempDir dir;
  Context ctx(Device::CPU);
  Trained t = make_trained(ctx, "vae", kSmallVae, 2);
  const std::string path = (dir.path / "weights.safetensors").string();
  save_checkpoint(ctx, *t.model, t.meta, path, /*with_optimizer=*/false);
  expect_error_containing([&] { load_checkpoint(ctx, path, /*need_optimizer=*/true); }, {path, "optimizer"});
  LoadedModel lm = load_checkpoint(ctx, path);
  const auto a = slabs_of(ctx, *t.model), b = slabs_of(ctx, *lm.model);
  EXPECT_EQ(a[0].p, b[0].p);
  EXPECT_EQ(b[0].m, std::vector<float>(b[0].m.size(), 0.0f));
  EXPECT_EQ(b[0].v, std::vector<float>(b[0].v.size(), 0.0f));
  EXPECT_EQ(b[0].steps, 0);
  // The weights-only file is smaller: it holds no moments.
  const std::string full = (dir.path / "full.safetensors").string();
  save_checkpoint(ctx, *t.model, t.meta, full);
  EXPECT_LT(fs::file_size(path) * 2, fs::file_size(full));
}

TEST(Checkpoint, EveryRegisteredKindRoundTrips) {
  TempDir dir;
  Context ctx(Device::CPU);
  for (const ModelKind& kind : model_registry()) {
    SCOPED_TRACE(kind.name);
    Trained t = make_trained(ctx, kind.name, test::small_config_overrides(kind), 1);
    const std::string path = (dir.path / (kind.name + ".safetensors")).string();
    save_checkpoint(ctx, *t.model, t.meta, path);
    LoadedModel lm = load_checkpoint(ctx, path, true);
    EXPECT_EQ(lm.model->kind(), kind.name);
    const auto a = slabs_of(ctx, *t.model), b = slabs_of(ctx, *lm.model);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].p, b[i].p);
      EXPECT_EQ(a[i].m, b[i].m);
      EXPECT_EQ(a[i].v, b[i].v);
      EXPECT_EQ(a[i].steps, b[i].steps);
    }
  }
}

}  // namespace
}  // namespace dg
