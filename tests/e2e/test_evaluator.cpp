// The committed evaluator weights (models/weights/evaluator.safetensors) classify the full MNIST test set with at
// least 99.3% accuracy: later issues judge generated digits with them.
#include <filesystem>

#include "models/checkpoint.h"
#include "models/judge.h"
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

// `digitgen classify`'s path: the IDX test files judged by the evaluator. Agreement with the true labels is its
// accuracy (99.37% when committed); the test set's class histogram is nearly uniform (entropy 2.3008 of 2.3026
// nats, smallest share 8.9% for the digit 5).
TEST(Evaluator, JudgesAnIdxFileAgainstItsLabels) {
  DG_REQUIRE_MNIST(data);
  Context ctx(Device::CPU);
  LoadedModel lm = load_checkpoint(ctx, DIGITGEN_SOURCE_DIR "/models/weights/evaluator.safetensors");
  const ClassReport r =
      judge_idx_file(ctx, *lm.model, data + "/t10k-images-idx3-ubyte", data + "/t10k-labels-idx1-ubyte");
  EXPECT_EQ(r.count, 10000);
  EXPECT_GE(r.agreement(), 0.993);
  EXPECT_GT(r.entropy, 2.29);
  EXPECT_GT(r.min_share, 0.085);
  for (int c = 0; c < 10; ++c) EXPECT_GE(double(r.label_agree[size_t(c)]) / double(r.label_count[size_t(c)]), 0.98) << c;
}

}  // namespace
}  // namespace dg
