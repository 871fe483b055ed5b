// Latent maps: codes projected onto their two principal axes (or kept as they are in 2-D), labels carried along,
// and the scatter plot written as a PNG.
#include <filesystem>
#include <unistd.h>

#include "models/latent_map.h"
#include "runtime/error.h"
#include "runtime/plot.h"
#include "tests/test_util.h"

namespace dg {
namespace {

DeviceDataset synthetic_digits(Context& ctx, int n) {
  std::vector<uint8_t> images(size_t(n) * 784), labels(static_cast<size_t>(n));
  for (size_t i = 0; i < images.size(); ++i) images[i] = uint8_t((i * 2654435761u) >> 24);
  for (int i = 0; i < n; ++i) labels[size_t(i)] = uint8_t(i % 10);
  return DeviceDataset(ctx, images.data(), labels.data(), n, 28, 28);
}

std::unique_ptr<Model> autoencoder(Context& ctx, int latent) {
  const ModelKind& k = find_model_kind("ae");
  return k.create(ctx, merge_config(k, {{"hidden", "16"}, {"latent", latent}}), 3);
}

TEST(LatentMap, TwoDimensionalCodesAreKeptAsTheyAre) {
  Context ctx(Device::CPU);
  DeviceDataset data = synthetic_digits(ctx, 40);
  auto model = autoencoder(ctx, 2);
  const LatentMap m = map_latent_space(ctx, *model, data, 30);
  ASSERT_EQ(m.labels.size(), 30u);
  ASSERT_EQ(m.xy.size(), 60u);
  EXPECT_EQ(m.latent, 2);
  EXPECT_DOUBLE_EQ(m.explained, 1.0);
  EXPECT_EQ(m.labels[13], 3);
  // Centred: the mean of each axis is zero.
  double sx = 0, sy = 0;
  for (size_t i = 0; i < 30; ++i) sx += m.xy[2 * i], sy += m.xy[2 * i + 1];
  EXPECT_NEAR(sx / 30, 0.0, 1e-5);
  EXPECT_NEAR(sy / 30, 0.0, 1e-5);
}

TEST(LatentMap, HigherDimensionalCodesAreProjectedByPca) {
  Context ctx(Device::CPU);
  DeviceDataset data = synthetic_digits(ctx, 60);
  auto model = autoencoder(ctx, 6);
  const LatentMap m = map_latent_space(ctx, *model, data, 60);
  EXPECT_EQ(m.latent, 6);
  EXPECT_GT(m.explained, 2.0 / 6.0 - 1e-9);  // the top two of six eigenvalues hold at least their fair share
  EXPECT_LE(m.explained, 1.0 + 1e-9);
  // The first axis carries at least as much variance as the second.
  double v0 = 0, v1 = 0;
  for (size_t i = 0; i < 60; ++i) v0 += double(m.xy[2 * i]) * m.xy[2 * i], v1 += double(m.xy[2 * i + 1]) * m.xy[2 * i + 1];
  EXPECT_GE(v0, v1);
  if (!gnuplot_available()) GTEST_SKIP() << "gnuplot is not installed (tools/bootstrap.sh installs gnuplot-nox)";
  const std::string png = (std::filesystem::temp_directory_path() / ("latent-" + std::to_string(getpid()) + ".png")).string();
  plot_latent_map(m, "test", png);
  EXPECT_GT(std::filesystem::file_size(png), 1000u);
  std::filesystem::remove(png);
}

TEST(LatentMap, ClassifierHasNoLatentSpace) {
  Context ctx(Device::CPU);
  DeviceDataset data = synthetic_digits(ctx, 10);
  const ModelKind& k = find_model_kind("classifier");
  auto model = k.create(ctx, merge_config(k, {{"channels", "4,4"}, {"hidden", "8"}}), 1);
  EXPECT_THROW(map_latent_space(ctx, *model, data, 10), Error);
}

}  // namespace
}  // namespace dg
