// Loss curves through gnuplot: a PNG from a small metrics.jsonl (with a headline metric, and for kinds whose
// headline is the loss itself), and clear errors for bad input.
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "runtime/error.h"
#include "runtime/plot.h"
#include "tests/test_util.h"

namespace dg {
namespace {

namespace fs = std::filesystem;

TEST(Plot, DrawsLossCurvesAsPng) {
  if (!gnuplot_available()) GTEST_SKIP() << "gnuplot is not installed (tools/bootstrap.sh installs gnuplot-nox)";
  const fs::path dir = fs::temp_directory_path() / ("digitgen-plot-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream m(dir / "metrics.jsonl");
    for (int s = 1; s <= 20; ++s)
      m << "{\"step\":" << s * 10 << ",\"epoch\":" << s / 10 << ",\"split\":\"train\",\"images_per_s\":1,\"loss\":"
        << 100.0 / s << "}\n";
    m << "{\"step\":100,\"epoch\":0,\"split\":\"test\",\"images_per_s\":1,\"nelbo\":12.5,\"loss\":3}\n";
    m << "{\"step\":200,\"epoch\":1,\"split\":\"test\",\"images_per_s\":1,\"nelbo\":9.5,\"loss\":2}\n";
  }
  const fs::path png = dir / "loss.png";
  for (const char* headline : {"nelbo", "loss"}) {
    fs::remove(png);
    plot_metrics((dir / "metrics.jsonl").string(), headline, png.string());
    std::ifstream in(png, std::ios::binary);
    char sig[8] = {};
    in.read(sig, 8);
    EXPECT_EQ(std::string(sig + 1, 3), "PNG") << headline;
    EXPECT_GT(fs::file_size(png), 1000u) << headline;
  }
  for (const auto& e : fs::directory_iterator(dir))  // no temporary files left beside it
    EXPECT_TRUE(e.path().filename() == "loss.png" || e.path().filename() == "metrics.jsonl") << e.path();
  fs::remove_all(dir);
}

TEST(Plot, RejectsLinesThatAreNotJson) {
  const fs::path dir = fs::temp_directory_path() / ("digitgen-plot-bad-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream m(dir / "metrics.jsonl");
    m << "{\"step\":1,\"split\":\"train\",\"loss\":1}\nnot json\n";
  }
  try {
    plot_metrics((dir / "metrics.jsonl").string(), "loss", (dir / "x.png").string());
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("metrics.jsonl"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "x.png"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace dg
