// reconstruct_file (the `reconstruct` command) for every kind that reconstructs: the AE, VAE, CVAE (with an IDX
// labels file) and VQ-VAE write one reconstruction per input (two PNG cells per input), report the MSE of exactly
// those reconstructions with PSNR = 10 log10(1 / MSE), and kinds without reconstruction are refused by name.
#include <cmath>
#include <filesystem>
#include <fstream>

#include "models/model.h"
#include "models/sampling.h"
#include "runtime/idx.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;

namespace dg {
namespace {

void write_be32(std::ofstream& o, uint32_t v) {
  const unsigned char b[4] = {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
  o.write(reinterpret_cast<const char*>(b), 4);
}

TEST(Reconstruct, EveryReconstructingKindWritesPairsAndReportsMse) {
  const fs::path dir = fs::temp_directory_path() / ("digitgen-reconstruct-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const int n = 5;
  std::vector<uint8_t> px(size_t(n) * 784);
  for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t((i * 37 + i / 784 * 11) % 256);
  {
    std::ofstream o(dir / "x.idx", std::ios::binary);
    write_be32(o, 0x803);
    write_be32(o, n);
    write_be32(o, 28);
    write_be32(o, 28);
    o.write(reinterpret_cast<const char*>(px.data()), std::streamsize(px.size()));
    std::ofstream l(dir / "y.idx", std::ios::binary);
    write_be32(l, 0x801);
    write_be32(l, n);
    for (int i = 0; i < n; ++i) l.put(char(i % 10));
  }
  for (const char* name : {"ae", "vae", "cvae", "vqvae"}) {
    SCOPED_TRACE(name);
    Context ctx(Device::CPU);
    const ModelKind& kind = find_model_kind(name);
    nlohmann::json over = nlohmann::json::object();
    if (kind.defaults.contains("hidden")) over["hidden"] = "16";
    if (kind.defaults.contains("channels")) over["channels"] = "4,8";
    auto model = kind.create(ctx, merge_config(kind, over), 1);
    ASSERT_TRUE(model->can_reconstruct());
    ReconstructOptions o;
    o.input = (dir / "x.idx").string();
    o.input_labels = model->conditional() ? (dir / "y.idx").string() : "";
    o.batch = 2;  // several batches
    o.out = (dir / (std::string(name) + ".idx")).string();
    const ReconstructSummary s = reconstruct_file(ctx, *model, o);
    EXPECT_EQ(s.count, n);
    const IdxImages out = read_idx_images(o.out);
    ASSERT_EQ(out.count, n);
    // The MSE of the written reconstructions (rounded to bytes) is within rounding of the reported one.
    double sq = 0;
    for (size_t i = 0; i < px.size(); ++i) {
      const double d = out.pixels[i] / 255.0 - px[i] / 255.0;
      sq += d * d;
    }
    EXPECT_NEAR(s.mse, sq / double(px.size()), 2.0 / 255.0);
    EXPECT_NEAR(s.psnr, 10.0 * std::log10(1.0 / s.mse), 1e-9);
    o.out = (dir / (std::string(name) + ".png")).string();
    reconstruct_file(ctx, *model, o);
    EXPECT_TRUE(fs::exists(o.out));
  }
  Context ctx(Device::CPU);
  const ModelKind& gan = find_model_kind("gan");
  auto g = gan.create(ctx, merge_config(gan, {{"channels", "8,4"}}), 1);
  ReconstructOptions o;
  o.input = (dir / "x.idx").string();
  o.out = (dir / "g.png").string();
  try {
    reconstruct_file(ctx, *g, o);
    ADD_FAILURE() << "the gan reconstructed";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("'gan'"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace dg
