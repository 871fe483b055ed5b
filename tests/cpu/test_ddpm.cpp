// The ddpm kind on the CPU with a tiny U-Net: DDIM with eta 0 is deterministic, samples do not depend on the batch
// they are drawn in, guided sampling differs from unguided, the trajectory ends at the sample, EMA bookkeeping
// and the EMA in checkpoints, and the sampling settings' errors.
#include <cmath>

#include "models/model.h"
#include "tests/test_util.h"

namespace dg {
namespace {

std::unique_ptr<Model> tiny_ddpm(Context& ctx, uint64_t seed = 3) {
  const ModelKind& k = find_model_kind("ddpm");
  return k.create(ctx, merge_config(k, {{"channels", "8"}, {"blocks", 1}, {"timesteps", 40}}), seed);
}

// A few Adam steps on random images, so the network's output is not near its initial state.
void train_a_little(Context& ctx, Model& m, int steps) {
  const int B = 8;
  const auto px = test::random_vec(size_t(B) * 784, 5, 0.0f, 1.0f);
  std::vector<int32_t> labels(B);
  for (int i = 0; i < B; ++i) labels[size_t(i)] = i % 10;
  Batch b;
  b.images = Tensor::from_host(ctx, {B, 1, 28, 28}, px.data());
  b.labels = Tensor::empty(ctx, {B}, DType::I32);
  copy_to_device(ctx, b.labels.raw(), labels.data(), labels.size() * sizeof(int32_t));
  OptimConfig oc;
  oc.adam.lr = 1e-2f;
  for (int s = 0; s < steps; ++s) m.train_step(ctx, b, StepInfo{true, 7, uint32_t(s)}, oc);
}

std::vector<float> gen(Context& ctx, Model& m, int64_t first, int n, uint64_t seed, const std::vector<int32_t>& lab) {
  return m.generate(ctx, first, n, seed, lab.data()).to_host(ctx);
}

TEST(Ddpm, DdimEtaZeroIsDeterministicAndSeedsDiffer) {
  Context ctx(Device::CPU);
  auto m = tiny_ddpm(ctx);
  train_a_little(ctx, *m, 2);
  m->set_sampling({{"sampler", "ddim"}, {"sample_steps", 6}, {"eta", 0.0}});
  const std::vector<int32_t> lab = {4, 4};
  const auto a = gen(ctx, *m, 0, 2, 11, lab), b = gen(ctx, *m, 0, 2, 11, lab), c = gen(ctx, *m, 0, 2, 12, lab);
  EXPECT_EQ(a, b);
  EXPECT_GT(test::rel_error(c, a), 1e-3);
  for (float v : a) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LE(v, 1.0f);
  }
}

TEST(Ddpm, SamplesDoNotDependOnTheBatch) {
  Context ctx(Device::CPU);
  auto m = tiny_ddpm(ctx);
  train_a_little(ctx, *m, 2);
  for (const char* sampler : {"ddpm", "ddim"}) {
    SCOPED_TRACE(sampler);
    // eta 1: fresh noise at every step, which must also be per sample.
    m->set_sampling({{"sampler", sampler}, {"sample_steps", 5}, {"eta", 1.0}, {"guidance", 2.0}});
    const std::vector<int32_t> lab = {1, 7, 3, 9};
    const auto all = gen(ctx, *m, 10, 4, 5, lab);
    const auto head = gen(ctx, *m, 10, 1, 5, {1});
    const auto tail = gen(ctx, *m, 11, 3, 5, {7, 3, 9});
    std::vector<float> joined = head;
    joined.insert(joined.end(), tail.begin(), tail.end());
    EXPECT_LT(test::rel_error(joined, all), 1e-5);
  }
}

TEST(Ddpm, GuidanceAndEmaChangeSamplesAndTrajectoryEndsAtTheSample) {
  Context ctx(Device::CPU);
  auto m = tiny_ddpm(ctx);
  train_a_little(ctx, *m, 3);
  m->set_sampling({{"sampler", "ddim"}, {"sample_steps", 4}, {"guidance", 1.0}});
  const auto plain = gen(ctx, *m, 0, 1, 2, {6});
  m->set_sampling({{"guidance", 3.0}});
  const auto guided = gen(ctx, *m, 0, 1, 2, {6});
  EXPECT_GT(test::rel_error(guided, plain), 1e-4);
  m->set_sampling({{"ema", false}});
  const auto raw = gen(ctx, *m, 0, 1, 2, {6});
  EXPECT_GT(test::rel_error(raw, guided), 1e-4);
  const Tensor strip = m->trajectory(ctx, 2, 0, 6, 5);
  ASSERT_EQ(strip.shape(), (Shape{5, 1, 28, 28}));
  const std::vector<float> s = strip.to_host(ctx);
  EXPECT_EQ(std::vector<float>(s.end() - 784, s.end()), raw);
  EXPECT_GT(test::rel_error(std::vector<float>(s.begin(), s.begin() + 784), raw), 1e-2);  // starts as noise
}

TEST(Ddpm, EmaIsSavedAndRestored) {
  Context ctx(Device::CPU);
  auto m = tiny_ddpm(ctx);
  train_a_little(ctx, *m, 3);
  const auto state = m->extra_state(ctx);
  ASSERT_EQ(state.size(), 1u);
  EXPECT_EQ(state[0].name, "ddpm/ema");
  const auto params = m->param_stores()[0].second->params().to_host(ctx);
  EXPECT_EQ(state[0].data.size(), params.size());
  EXPECT_NE(state[0].data, params);  // the average lags the weights
  auto fresh = tiny_ddpm(ctx, 99);
  fresh->load_extra_state(ctx, state);
  EXPECT_EQ(fresh->extra_state(ctx)[0].data, state[0].data);
  EXPECT_THROW(fresh->load_extra_state(ctx, {}), Error);
}

TEST(Ddpm, SettingsErrorsNameTheFlag) {
  Context ctx(Device::CPU);
  auto m = tiny_ddpm(ctx);
  EXPECT_THROW(m->set_sampling({{"sampler", "euler"}}), Error);
  EXPECT_THROW(m->set_sampling({{"sample_steps", 41}}), Error);
  EXPECT_THROW(m->set_sampling({{"eta", 1.5}}), Error);
  EXPECT_THROW(m->set_sampling({{"guidance", -1.0}}), Error);
  EXPECT_THROW(m->set_sampling({{"steps", 3}}), Error);
  const ModelKind& k = find_model_kind("ddpm");
  EXPECT_THROW(k.create(ctx, merge_config(k, {{"channels", "8,8,8,8"}}), 1), Error);
  EXPECT_THROW(k.create(ctx, merge_config(k, {{"channels", "8"}, {"label_dropout", 1.0}}), 1), Error);
  // Kinds without a sampler reject sampler settings.
  const ModelKind& vae = find_model_kind("vae");
  auto v = vae.create(ctx, merge_config(vae, {{"hidden", "8"}}), 1);
  EXPECT_NO_THROW(v->set_sampling(nlohmann::json::object()));
  EXPECT_THROW(v->set_sampling({{"guidance", 2.0}}), Error);
}

}  // namespace
}  // namespace dg
