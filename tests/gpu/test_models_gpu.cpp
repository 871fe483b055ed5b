// Every registered model kind on CUDA against the CPU backend: the same model (same seed) takes one training step
// on the same batch; losses, gradients and updated parameters must agree, and so must generated images.
#include <algorithm>
#include <cmath>

#include "models/model.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

Batch make_batch(Context& ctx, const std::vector<float>& px, const std::vector<int32_t>& labels) {
  const int B = int(labels.size());
  Batch b;
  b.images = Tensor::from_host(ctx, {B, 1, 28, 28}, px.data());
  b.labels = Tensor::empty(ctx, {B}, DType::I32);
  copy_to_device(ctx, b.labels.raw(), labels.data(), labels.size() * sizeof(int32_t));
  return b;
}

// Small widths keep the test quick; the kernels are the same as at full size.
nlohmann::json small_config(const ModelKind& kind) {
  nlohmann::json o = nlohmann::json::object();
  if (kind.defaults.contains("hidden")) o["hidden"] = "64";
  if (kind.defaults.contains("channels")) o["channels"] = "8,16";
  if (kind.defaults.contains("latent")) o["latent"] = 8;
  return merge_config(kind, o);
}

// Tolerances. Losses and gradients: 1e-3 relative (cuBLAS / cuDNN sum in another order than OpenBLAS and the
// im2col reference). Parameters after one Adam step: the first step moves each weight by about lr * sign(g), so a
// weight may differ by up to 2 lr only where its gradient is too small for its sign to be certain; elsewhere the
// difference must stay below 1e-5 absolute.
constexpr double kLossTol = 1e-3;
constexpr double kGradTol = 1e-3;
constexpr double kParamAbsTol = 1e-5;
constexpr double kGenerateTol = 1e-3;

TEST(ModelsGpu, OneTrainStepMatchesCpuForEveryKind) {
  DG_GPU_TEST_GUARD();
  const int B = 32;
  const std::vector<float> px = test::random_vec(size_t(B) * 784, 11, 0.0f, 1.0f);
  std::vector<int32_t> labels(B);
  for (int i = 0; i < B; ++i) labels[size_t(i)] = (i * 3) % 10;
  const uint64_t seed = 1234;
  OptimConfig oc;
  oc.adam.lr = 1e-3f;
  oc.epoch_frac = 0.5;

  for (const ModelKind& kind : model_registry()) {
    SCOPED_TRACE("model kind " + kind.name);
    Context cpu(Device::CPU), gpu(Device::CUDA);
    const nlohmann::json cfg = small_config(kind);
    std::unique_ptr<Model> mc = kind.create(cpu, cfg, seed), mg = kind.create(gpu, cfg, seed);
    auto sc = mc->param_stores(), sg = mg->param_stores();
    ASSERT_EQ(sc.size(), sg.size());
    for (size_t i = 0; i < sc.size(); ++i)
      ASSERT_EQ(sc[i].second->params().to_host(cpu), sg[i].second->params().to_host(gpu)) << "initial weights differ";

    const Metrics lc = mc->train_step(cpu, make_batch(cpu, px, labels), StepInfo{true, seed, 0}, oc);
    const Metrics lg = mg->train_step(gpu, make_batch(gpu, px, labels), StepInfo{true, seed, 0}, oc);
    ASSERT_EQ(lc.size(), lg.size());
    for (size_t i = 0; i < lc.size(); ++i) {
      EXPECT_EQ(lc[i].first, lg[i].first);
      const double diff = std::fabs(lc[i].second - lg[i].second);
      if (lc[i].first == "accuracy")  // an argmax between two nearly equal logits may flip: one image of the batch
        EXPECT_LE(diff, 1.0 / B + 1e-9) << "accuracy: cpu " << lc[i].second << " cuda " << lg[i].second;
      else
        EXPECT_LT(diff / std::max(std::fabs(lc[i].second), 1e-6), kLossTol)
            << lc[i].first << ": cpu " << lc[i].second << " cuda " << lg[i].second;
    }

    for (size_t s = 0; s < sc.size(); ++s) {
      ParamStore& pc = *sc[s].second;
      ParamStore& pg = *sg[s].second;
      const std::vector<float> gc = pc.grads().to_host(cpu), gg = pg.grads().to_host(gpu);
      const std::vector<float> wc = pc.params().to_host(cpu), wg = pg.params().to_host(gpu);
      for (const ParamSpec& spec : pc.specs()) {
        const int64_t n = numel(spec.shape);
        const std::vector<float> gcs(gc.begin() + spec.offset, gc.begin() + spec.offset + n);
        const std::vector<float> ggs(gg.begin() + spec.offset, gg.begin() + spec.offset + n);
        EXPECT_LT(test::rel_error(ggs, gcs, 1e-6), kGradTol) << "gradient of " << spec.name;
        double gmax = 0;
        for (float g : gcs) gmax = std::max(gmax, double(std::fabs(g)));
        int64_t bad = 0;
        for (int64_t i = 0; i < n; ++i) {
          const double d = std::fabs(double(wc[size_t(spec.offset + i)]) - double(wg[size_t(spec.offset + i)]));
          const bool uncertain_sign = std::fabs(gcs[size_t(i)]) <= kGradTol * gmax + 1e-7;
          if (d > kParamAbsTol && !(uncertain_sign && d <= 2.0 * oc.adam.lr + 1e-6)) ++bad;
        }
        EXPECT_EQ(bad, 0) << "parameters of " << spec.name << " differ after the Adam step";
      }
      EXPECT_EQ(pc.adam_steps(), pg.adam_steps());
    }

    if (mc->can_generate()) {
      const std::vector<float> ic = mc->generate(cpu, 5, 16, 99, nullptr).to_host(cpu);
      const std::vector<float> ig = mg->generate(gpu, 5, 16, 99, nullptr).to_host(gpu);
      EXPECT_LT(test::rel_error(ig, ic, 1e-3), kGenerateTol) << "generated images";
    }
    if (mc->can_classify()) {
      Batch bc = make_batch(cpu, px, labels), bg = make_batch(gpu, px, labels);
      EXPECT_LT(test::rel_error(mg->classify(gpu, bg.images).to_host(gpu), mc->classify(cpu, bc.images).to_host(cpu)),
                kGradTol)
          << "logits";
    }
  }
}

}  // namespace
}  // namespace dg
