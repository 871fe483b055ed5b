// The committed evaluator weights (models/weights/evaluator.safetensors) classify the full MNIST test set with at
// least 99.3% accuracy: later issues judge generated digits with them.
#include <filesystem>

#include "models/checkpoint.h"
#include "models/trainer.h"
#include "runtime/idx.h"
#include "tests/e2e/e2e_util.h"

namespace dg {
namespace {

TEST(Evaluator, CommittedWeightsReachAccuracyOnTestSet) {
  DG_REQUIRE_MNIST(data);
  const std::string path = DIGITGEN_SOURCE_DIR "/models/weights/evaluator.safetensors";
  ASSERT_TRUE(std::filesystem::exists(path))
      << path << " is missing: train the evaluator (digitgen train --model classifier) and commit its weights-only "
      << "checkpoint there";
  Context ctx(Device::CPU);
  LoadedModel lm = load_checkpoint(ctx, path);
  ASSERT_EQ(lm.meta.kind, "classifier") << path;
  ASSERT_TRUE(lm.model->can_classify());
  const MnistSplit test_split = load_mnist_split(data, false);
  DeviceDataset test(ctx, test_split);
  ASSERT_EQ(test.size(), 10000);
  const Metrics m = evaluate(ctx, *lm.model, test);
  const double acc = metric(m, "accuracy");
  std::printf("[ e2e      ] evaluator accuracy %.4f on %lld test images\n", acc, (long long)test.size());
  EXPECT_GE(acc, 0.993) << path;
}

}  // namespace
}  // namespace dg
