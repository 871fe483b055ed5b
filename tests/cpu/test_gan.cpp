// The GAN on a tiny configuration: discriminator and generator gradients (spectral norm on, u and v frozen) against
// central finite differences for both losses, conditional and not; conditional sampling counts and labels; a
// checkpoint round trip (both optimisers, spectral-norm vectors, batch-norm statistics) that continues bit for bit;
// generated samples independent of the batch they are generated in.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <unistd.h>

#include "models/checkpoint.h"
#include "models/gan.h"
#include "models/sampling.h"
#include "runtime/error.h"
#include "runtime/idx.h"
#include "runtime/philox.h"
#include "tests/param_grad_check.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;

namespace dg {
namespace {

constexpr int kB = 4;

std::unique_ptr<Model> tiny_gan(Context& ctx, bool conditional, const std::string& loss, uint64_t seed = 17) {
  const ModelKind& k = find_model_kind("gan");
  return k.create(ctx,
                  merge_config(k, {{"channels", "4,6"}, {"latent", 3}, {"conditional", conditional},
                                   {"gan_loss", loss}}),
                  seed);
}

Tensor images(Context& ctx, uint32_t seed, int B = kB) {
  const std::vector<float> px = test::random_vec(size_t(B) * 784, seed, 0.0f, 1.0f);
  return Tensor::from_host(ctx, {B, 1, 28, 28}, px.data());
}

Batch make_batch(Context& ctx, uint32_t seed, int B = kB) {
  std::vector<int32_t> labels(static_cast<size_t>(B));
  for (int i = 0; i < B; ++i) labels[size_t(i)] = (i * 7 + int(seed)) % 10;
  Batch b;
  b.images = images(ctx, seed, B);
  b.labels = Tensor::empty(ctx, {B}, DType::I32);
  copy_to_device(ctx, b.labels.raw(), labels.data(), labels.size() * sizeof(int32_t));
  return b;
}

// eps 2e-4, tolerance 5% + 2e-3: the loss (about 1.4) is a float, so its rounding over 2 eps is ~3e-4. A conv bias
// moves every position of its channel at once, and at eps 1e-3 the LeakyReLU kinks crossed within the nudge bent
// some bias quotients by up to 15% (they converge to the analytic value as eps shrinks).
void check_store(Context& ctx, ParamStore& ps, const std::function<double()>& loss_now, const std::string& what) {
  const int checked = test::expect_store_grads_close(ctx, ps, loss_now, 2e-4f, 2e-3, 0.05, what);
  EXPECT_GT(checked, 4) << what << ": too few gradients above the noise floor to check";
}

TEST(Gan, DiscriminatorAndGeneratorGradientsMatchFiniteDifferences) {
  for (bool conditional : {false, true})
    for (const std::string loss : {"bce", "hinge"}) {
      const std::string what = std::string(conditional ? "conditional " : "") + loss;
      SCOPED_TRACE(what);
      Context ctx(Device::CPU);
      std::unique_ptr<Model> m = tiny_gan(ctx, conditional, loss);
      Gan& gan = dynamic_cast<Gan&>(*m);
      auto stores = gan.param_stores();
      ASSERT_EQ(stores.size(), 2u);
      const Tensor real = images(ctx, 1), fake = images(ctx, 2);
      const std::vector<int32_t> labels = {3, 0, 9, 3};
      // Train one step first, so spectral norm's u, v are not their initial draws and the weights have moved.
      OptimConfig oc;
      oc.adam.lr = 1e-3f;
      gan.train_step(ctx, make_batch(ctx, 5), StepInfo{true, 3, 0}, oc);
      check_store(ctx, *stores[1].second, [&] { return gan.disc_loss_and_grads(ctx, real, fake, labels.data()); },
                  what + " discriminator");
      std::vector<float> zh(size_t(kB) * gan.latent());
      for (size_t i = 0; i < zh.size(); ++i) zh[i] = philox_normal(8, kPurposeGanNoise, i, 0);
      const Tensor z = Tensor::from_host(ctx, {kB, gan.latent()}, zh.data());
      check_store(ctx, *stores[0].second, [&] { return gan.gen_loss_and_grads(ctx, z, labels.data()); },
                  what + " generator");
    }
}

TEST(Gan, TrainStepReportsItsMetrics) {
  Context ctx(Device::CPU);
  std::unique_ptr<Model> m = tiny_gan(ctx, false, "bce");
  OptimConfig oc;
  oc.adam.lr = 2e-4f;
  const Metrics r = m->train_step(ctx, make_batch(ctx, 1), StepInfo{true, 3, 0}, oc);
  for (const char* k : {"loss", "loss_d", "loss_g", "d_real", "d_fake"}) EXPECT_TRUE(std::isfinite(metric(r, k))) << k;
  EXPECT_NEAR(metric(r, "loss"), metric(r, "loss_d") + metric(r, "loss_g"), 1e-5);
  EXPECT_GT(metric(r, "d_real"), 0.0);
  EXPECT_LT(metric(r, "d_real"), 1.0);
  const ModelKind& k = find_model_kind("gan");
  EXPECT_FLOAT_EQ(k.train.beta1, 0.5f);
  EXPECT_FLOAT_EQ(k.train.lr, 2e-4f);
}

TEST(Gan, ConditionalSamplingCountsAndLabels) {
  Context ctx(Device::CPU);
  std::unique_ptr<Model> m = tiny_gan(ctx, true, "bce");
  ASSERT_TRUE(m->conditional());
  EXPECT_FALSE(tiny_gan(ctx, false, "bce")->conditional());
  const fs::path dir = fs::temp_directory_path() / ("digitgen-gan-sample-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  SampleOptions o;
  o.n = 13;
  o.batch = 5;
  o.seed = 9;
  o.label = parse_label_choice("7");
  EXPECT_EQ(write_samples(ctx, *m, o, (dir / "sevens.idx").string()).count, 13);
  EXPECT_EQ(read_idx_labels((dir / "sevens-labels.idx").string()), std::vector<uint8_t>(13, 7));
  o.n = 7;
  o.label = parse_label_choice("all");
  EXPECT_EQ(write_samples(ctx, *m, o, (dir / "all.idx").string()).count, 70);
  const std::vector<uint8_t> all = read_idx_labels((dir / "all-labels.idx").string());
  ASSERT_EQ(all.size(), 70u);
  for (int i = 0; i < 70; ++i) EXPECT_EQ(all[size_t(i)], i / 7);
  // The label changes the digit; a null label array cycles (first + i) % 10.
  const int32_t three = 3, four = 4;
  EXPECT_NE(m->generate(ctx, 2, 1, 9, &three).to_host(ctx), m->generate(ctx, 2, 1, 9, &four).to_host(ctx));
  EXPECT_EQ(m->generate(ctx, 3, 1, 9, nullptr).to_host(ctx), m->generate(ctx, 3, 1, 9, &three).to_host(ctx));
  fs::remove_all(dir);
}

TEST(Gan, SampleDoesNotDependOnBatch) {
  Context ctx(Device::CPU);
  std::unique_ptr<Model> m = tiny_gan(ctx, false, "bce");
  const std::vector<float> all = m->generate(ctx, 0, 6, 4, nullptr).to_host(ctx);
  const std::vector<float> tail = m->generate(ctx, 4, 2, 4, nullptr).to_host(ctx);
  EXPECT_EQ(std::vector<float>(all.begin() + 4 * 784, all.end()), tail);
  float lo = 1, hi = 0;
  for (float v : all) lo = std::min(lo, v), hi = std::max(hi, v);
  EXPECT_GE(lo, 0.0f);
  EXPECT_LE(hi, 1.0f);
}

TEST(Gan, CheckpointRoundTripContinuesBitForBit) {
  for (bool conditional : {false, true}) {
    SCOPED_TRACE(conditional ? "conditional" : "unconditional");
    Context ctx(Device::CPU);
    std::unique_ptr<Model> a = tiny_gan(ctx, conditional, "bce");
    OptimConfig oc;
    oc.adam.lr = 1e-3f;
    oc.adam.beta1 = 0.5f;
    for (int s = 0; s < 2; ++s) a->train_step(ctx, make_batch(ctx, 10 + s), StepInfo{true, 3, uint32_t(s)}, oc);
    const fs::path path =
        fs::temp_directory_path() / ("digitgen-gan-ckpt-" + std::to_string(::getpid()) + ".safetensors");
    save_checkpoint(ctx, *a, CheckpointMeta{"gan", a->config(), {{"seed", 3}}, TrainPosition{2, 0}}, path.string());
    LoadedModel lb = load_checkpoint(ctx, path.string(), true);
    fs::remove(path);
    Model& b = *lb.model;
    ASSERT_EQ(b.kind(), "gan");

    // Spectral-norm u, v (three weights), batch-norm statistics (two layers) and the generator's weight average
    // are in the extra state.
    const std::vector<HostTensor> sa = a->extra_state(ctx), sb = b.extra_state(ctx);
    ASSERT_EQ(sa.size(), 3u * 2 + 2u * 2 + 1u);
    EXPECT_EQ(sa.back().name, "gen/ema");
    for (size_t i = 0; i < sa.size(); ++i) {
      EXPECT_EQ(sa[i].name, sb[i].name);
      EXPECT_EQ(sa[i].data, sb[i].data) << sa[i].name;
    }
    EXPECT_EQ(sa[0].name, "disc/conv0.weight.sn_u");

    const Metrics ma = a->train_step(ctx, make_batch(ctx, 20), StepInfo{true, 3, 2}, oc);
    const Metrics mb = b.train_step(ctx, make_batch(ctx, 20), StepInfo{true, 3, 2}, oc);
    EXPECT_EQ(ma, mb);
    auto pa = a->param_stores(), pb = b.param_stores();
    ASSERT_EQ(pa.size(), 2u);
    for (size_t i = 0; i < pa.size(); ++i) {
      EXPECT_EQ(pa[i].first, pb[i].first);
      EXPECT_EQ(pa[i].second->params().to_host(ctx), pb[i].second->params().to_host(ctx)) << pa[i].first;
      EXPECT_EQ(pa[i].second->adam_m().to_host(ctx), pb[i].second->adam_m().to_host(ctx)) << pa[i].first;
      EXPECT_EQ(pa[i].second->adam_steps(), 3);
      EXPECT_EQ(pb[i].second->adam_steps(), 3);
    }
    EXPECT_EQ(a->generate(ctx, 0, 3, 5, nullptr).to_host(ctx), b.generate(ctx, 0, 3, 5, nullptr).to_host(ctx));
  }
}

TEST(Gan, RejectsBadSettings) {
  Context ctx(Device::CPU);
  const ModelKind& k = find_model_kind("gan");
  EXPECT_THROW(k.create(ctx, merge_config(k, {{"gan_loss", "wasserstein"}}), 1), Error);
  EXPECT_THROW(k.create(ctx, merge_config(k, {{"channels", "8"}}), 1), Error);
  EXPECT_THROW(k.create(ctx, merge_config(k, {{"label_smoothing", 1.5}}), 1), Error);
  EXPECT_THROW(k.create(ctx, merge_config(k, {{"ema_decay", 1.0}}), 1), Error);
  EXPECT_THROW(k.create(ctx, merge_config(k, {{"ema_decay", -0.5}}), 1), Error);
}

// generate() draws from the weight average: after training steps its samples differ from the trained weights'
// (ema_decay 0), and training leaves the trained weights in place.
TEST(Gan, SamplesComeFromTheWeightAverage) {
  Context ctx(Device::CPU);
  const ModelKind& k = find_model_kind("gan");
  auto make = [&](float decay) {
    return k.create(ctx, merge_config(k, {{"channels", "4,6"}, {"latent", 3}, {"ema_decay", decay}}), 17);
  };
  std::unique_ptr<Model> averaged = make(0.99f), raw = make(0.0f);
  OptimConfig oc;
  oc.adam.lr = 1e-2f;
  for (int s = 0; s < 3; ++s) {
    averaged->train_step(ctx, make_batch(ctx, 10 + s), StepInfo{true, 3, uint32_t(s)}, oc);
    raw->train_step(ctx, make_batch(ctx, 10 + s), StepInfo{true, 3, uint32_t(s)}, oc);
  }
  // Same training either way: the average does not feed back into the weights.
  EXPECT_EQ(averaged->param_stores()[0].second->params().to_host(ctx),
            raw->param_stores()[0].second->params().to_host(ctx));
  const std::vector<float> a = averaged->generate(ctx, 0, 4, 9, nullptr).to_host(ctx);
  const std::vector<float> r = raw->generate(ctx, 0, 4, 9, nullptr).to_host(ctx);
  EXPECT_NE(a, r);
  // And sampling puts the trained weights back.
  EXPECT_EQ(averaged->param_stores()[0].second->params().to_host(ctx),
            raw->param_stores()[0].second->params().to_host(ctx));
}

}  // namespace
}  // namespace dg
