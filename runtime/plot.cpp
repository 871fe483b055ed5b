// Loss curves via gnuplot (see plot.h).
#include "runtime/plot.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
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

  std::ostringstream text;
  for (const Row& r : rows) {
    text << r.step;
    for (double v : r.v) text << ' ' << (std::isnan(v) ? std::string("NaN") : std::to_string(v));
    text << '\n';
  }
  const std::string title = fs::path(metrics_jsonl).parent_path().filename().string();
  draw_with_gnuplot(text.str(), [&](const std::string& data, const std::string& png) {
    // The training loss (and a test loss where the kind reports one); below it, sharing the step axis, the kind's
    // headline metric, which is what a run is judged by, unless the headline is the loss itself (gnuplot refuses a
    // panel whose points are all missing).
    const bool second_panel = headline != "loss";
    std::ostringstream gp;
    gp << "set terminal pngcairo size 900," << (second_panel ? 700 : 400) << " noenhanced\n"
       << "set output '" << png << "'\n"
       << "set datafile missing 'NaN'\n"
       << "set xlabel 'step'\nset grid\nset key outside right\n";
    if (second_panel) gp << "set multiplot layout 2,1\n";
    gp << "set title '" << title << "'\nset ylabel 'loss'\n"
       << "plot '" << data << "' using 1:2 with lines title 'train loss', '" << data
       << "' using 1:4 with linespoints title 'test loss'\n";
    if (second_panel)
      gp << "unset title\nset ylabel '" << headline << "'\n"
         << "plot '" << data << "' using 1:3 with lines title 'train " << headline << "', '" << data
         << "' using 1:5 with linespoints title 'test " << headline << "'\n"
         << "unset multiplot\n";
    return gp.str();
  }, png_path);
}

void draw_with_gnuplot(const std::string& data,
                       const std::function<std::string(const std::string& data_path, const std::string& png_path)>& script,
                       const std::string& png_path) {
  const std::string base = fs::temp_directory_path().string() + "/digitgen-plot-" + std::to_string(getpid());
  const std::string data_path = base + ".dat", script_path = base + ".gp";
  const std::string tmp_png = png_path + ".tmp-" + std::to_string(getpid()) + ".png";
  {
    std::ofstream out(data_path);
    out << data;
    DG_REQUIRE(out, data_path, ": cannot write the plot data");
    std::ofstream gp(script_path);
    gp << script(data_path, tmp_png);
    DG_REQUIRE(gp, script_path, ": cannot write the gnuplot script");
  }
  const int rc = std::system(("gnuplot '" + script_path + "' 2>/dev/null").c_str());
  std::remove(data_path.c_str());
  std::remove(script_path.c_str());
  if (rc != 0 || !fs::exists(tmp_png)) {
    std::remove(tmp_png.c_str());
    fail("gnuplot failed to draw ", png_path, " (is gnuplot-nox installed? tools/bootstrap.sh installs it)");
  }
  fs::rename(tmp_png, png_path);
}

}  // namespace dg
