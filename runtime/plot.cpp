// Loss curves via gnuplot (see plot.h).
#include "runtime/plot.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "runtime/error.h"

namespace fs = std::filesystem;

namespace dg {

bool gnuplot_available() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

void plot_metrics(const std::string& metrics_jsonl, const std::string& headline, const std::string& png_path) {
  std::ifstream in(metrics_jsonl);
  DG_REQUIRE(in, metrics_jsonl, ": cannot open");
  // Columns: step, train loss, train headline, test loss, test headline ("NaN" where a line lacks the value).
  struct Row { double step; double v[4]; };
  std::vector<Row> rows;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail(metrics_jsonl, ": line ", line_no, " is not JSON: ", e.what());
    }
    DG_REQUIRE(j.contains("step") && j.contains("split"), metrics_jsonl, ": line ", line_no,
               " lacks the 'step' or 'split' field");
    const bool test = j["split"] == "test";
    Row r{j["step"].get<double>(), {NAN, NAN, NAN, NAN}};
    if (j.contains("loss")) r.v[test ? 2 : 0] = j["loss"].get<double>();
    if (j.contains(headline) && headline != "loss") r.v[test ? 3 : 1] = j[headline].get<double>();
    rows.push_back(r);
  }
  DG_REQUIRE(!rows.empty(), metrics_jsonl, ": no metrics to plot");

  const std::string tmp_dir = fs::temp_directory_path().string();
  const std::string data = tmp_dir + "/digitgen-plot-" + std::to_string(getpid()) + ".dat";
  const std::string tmp_png = png_path + ".tmp-" + std::to_string(getpid()) + ".png";
  {
    std::ofstream out(data);
    DG_REQUIRE(out, data, ": cannot write the plot data");
    for (const Row& r : rows) {
      out << r.step;
      for (double v : r.v) out << ' ' << (std::isnan(v) ? std::string("NaN") : std::to_string(v));
      out << '\n';
    }
  }
  const std::string script = tmp_dir + "/digitgen-plot-" + std::to_string(getpid()) + ".gp";
  {
    std::ofstream gp(script);
    gp << "set terminal pngcairo size 900,700 noenhanced\n"
       << "set output '" << tmp_png << "'\n"
       << "set datafile missing 'NaN'\n"
       << "set xlabel 'step'\nset grid\nset key outside right\n"
       << "set title '" << fs::path(metrics_jsonl).parent_path().filename().string() << "'\n";
    // Two panels sharing the step axis: the training loss (and a test loss where the kind reports one), then the
    // kind's headline metric, which is what a run is judged by.
    gp << "set multiplot layout 2,1\n"
       << "set ylabel 'loss'\n"
       << "plot '" << data << "' using 1:2 with lines title 'train loss', '" << data
       << "' using 1:4 with linespoints title 'test loss'\n"
       << "unset title\nset ylabel '" << headline << "'\n"
       << "plot '" << data << "' using 1:3 with lines title 'train " << headline << "', '" << data
       << "' using 1:5 with linespoints title 'test " << headline << "'\n"
       << "unset multiplot";
    gp << "\n";
  }
  const int rc = std::system(("gnuplot '" + script + "' 2>/dev/null").c_str());
  std::remove(data.c_str());
  std::remove(script.c_str());
  if (rc != 0 || !fs::exists(tmp_png)) {
    std::remove(tmp_png.c_str());
    fail("gnuplot failed to draw ", png_path, " (is gnuplot-nox installed? tools/bootstrap.sh installs it)");
  }
  fs::rename(tmp_png, png_path);
}

}  // namespace dg
