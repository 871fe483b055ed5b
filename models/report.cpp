// The comparison report (see report.h).
#include "models/report.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/checkpoint.h"
#include "runtime/error.h"
#include "runtime/image_io.h"
#include "runtime/plot.h"

namespace fs = std::filesystem;

namespace dg {
namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  DG_REQUIRE(in, path, ": cannot open");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": not valid JSON: ", e.what());
  }
}

void write_text(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    DG_REQUIRE(out, tmp.string(), ": cannot open for writing");
    out << text;
    DG_REQUIRE(out, tmp.string(), ": write failed");
  }
  fs::rename(tmp, path);
}

// A short name for a run: the run folder's name, a JSON file's stem, or the run folder above checkpoints/.
std::string run_name(const std::string& run) {
  fs::path p = fs::path(run).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  if (fs::is_directory(p)) return p.filename().string();
  if (p.extension() == ".json") return p.stem().string();
  if (p.parent_path().filename() == "checkpoints") return p.parent_path().parent_path().filename().string();
  return p.stem().string();
}

// The value at a JSON pointer like "/metrics/fd/value", or NaN.
double num(const nlohmann::json& j, const std::string& pointer) {
  const nlohmann::json::json_pointer p(pointer);
  if (!j.contains(p) || !j.at(p).is_number()) return NAN;
  return j.at(p).get<double>();
}

std::string fmt(double v, const char* f) {
  if (std::isnan(v)) return "—";
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// One table row per evaluation.
std::string table_row(const std::string& name, const nlohmann::json& e) {
  std::ostringstream r;
  const std::string m = "/metrics/";
  r << "| " << name << " | " << e.value("kind", "?") << " | " << e.value("epoch", int64_t(0)) << " | "
    << e.value("n", int64_t(0)) << " | " << fmt(num(e, m + "fd/value"), "%.2f") << " ("
    << fmt(num(e, m + "fd/floor"), "%.2f") << ") | " << fmt(num(e, m + "kid/value"), "%.3g") << " ± "
    << fmt(num(e, m + "kid/std_error"), "%.2g") << " | " << fmt(num(e, m + "pr/precision"), "%.3f") << " | "
    << fmt(num(e, m + "pr/recall"), "%.3f") << " | " << fmt(num(e, m + "classes/entropy"), "%.3f") << " ("
    << fmt(100 * num(e, m + "classes/min_share"), "%.1f%%") << ") | "
    << fmt(100 * num(e, m + "classes/label_agreement"), "%.1f%%") << " | "
    << fmt(100 * num(e, m + "sts/accuracy"), "%.2f%%") << " (" << fmt(100 * num(e, m + "sts/real_accuracy"), "%.2f%%")
    << ")";
  // A model that rarely draws some digit trains its classifier on fewer digits than the real one.
  if (num(e, m + "sts/n") < num(e, m + "sts/real/n")) r << ", from " << fmt(num(e, m + "sts/n"), "%.0f") << " digits";
  r << " | " << fmt(100 * num(e, m + "memorization/fraction"), "%.2f%%") << " | ";
  // Likelihood: the importance-sampled NLL where there is one, with the ELBO's NLL bound.
  const double nll = num(e, m + "likelihood/nll"), elbo = num(e, m + "likelihood/elbo");
  r << (std::isnan(nll) ? "—"
                        : fmt(nll, "%.2f") + " (ELBO " + fmt(-elbo, "%.2f") + ")" +
                              (e.value("conditional", false) ? ", of x given its label" : ""))
    << " | ";
  // Reconstruction of the test set, with whatever statistics the kind keeps over it (codebook use, ...).
  std::string rec = fmt(num(e, m + "reconstruction/mse"), "%.5f");
  if (rec != "—") {
    rec += " (" + fmt(num(e, m + "reconstruction/psnr"), "%.2f dB") + ")";
    const nlohmann::json::json_pointer sp("/metrics/reconstruction/stats");
    if (e.contains(sp))
      for (auto it = e.at(sp).begin(); it != e.at(sp).end(); ++it)
        rec += ", " + it.key() + " " + fmt(it.value().get<double>(), "%.4g");
  }
  r << rec << " | ";
  // The model's own test metrics, whatever the kind reports (reconstruction, ELBO, codebook use, ...).
  std::string own;
  const nlohmann::json::json_pointer vp("/metrics/model/values");
  if (e.contains(vp))
    for (auto it = e.at(vp).begin(); it != e.at(vp).end(); ++it)
      own += (own.empty() ? "" : ", ") + it.key() + " " + fmt(it.value().get<double>(), "%.4g");
  r << (own.empty() ? "—" : own) << " | " << fmt(num(e, m + "sampling/images_per_s"), "%.0f") << " |\n";
  return r.str();
}

// One chart panel: the data column that must hold a value in some row for the panel to be drawn, its settings and
// its plot command (QQ stands for the quoted data file).
struct Panel {
  int column;
  std::string setup, plot;
};

// Bar charts of the main metrics, one panel per metric that some evaluation has. Returns false when none has any.
bool draw_charts(const std::vector<std::pair<std::string, nlohmann::json>>& evals, const fs::path& png) {
  const std::string m = "/metrics/";
  // Data columns 2..12 (column 1 is the model's name).
  const std::vector<std::pair<std::string, double>> keys = {
      {"fd/value", 1},          {"fd/floor", 1},           {"kid/value", 1},          {"kid/floor", 1},
      {"pr/precision", 1},      {"pr/recall", 1},          {"classes/entropy", 1},    {"sts/accuracy", 100},
      {"sts/real_accuracy", 100}, {"memorization/fraction", 100}, {"sampling/images_per_s", 1}};
  std::ostringstream data;
  std::vector<bool> has(keys.size() + 2, false);
  for (const auto& [name, e] : evals) {
    data << name;
    for (size_t k = 0; k < keys.size(); ++k) {
      const double v = keys[k].second * num(e, m + keys[k].first);
      data << ' ' << (std::isnan(v) ? std::string("NaN") : std::to_string(v));
      if (!std::isnan(v)) has[k + 2] = true;
    }
    data << '\n';
  }
  // Panels whose key could cover the tallest bar get headroom above it (set offsets ... graph 0.3).
  const std::vector<Panel> all = {
      {2, "set title 'Frechet distance (lower is better)'\nset yrange [0:*]\nset offsets 0, 0, graph 0.3, 0\n",
       "plot QQ using 2:xtic(1) title 'samples', '' using 3 title 'training digits (floor)'\n"},
      {4, "set title 'KID (lower is better)'\nset yrange [0:*]\nset offsets 0, 0, graph 0.3, 0\n",
       "plot QQ using 4:xtic(1) title 'samples', '' using 5 title 'training digits (floor)'\n"},
      {6, "set title 'precision and recall (k = 3)'\nset yrange [0:1]\n",
       "plot QQ using 6:xtic(1) title 'precision', '' using 7 title 'recall'\n"},
      {8, "set title 'class entropy, nats (uniform: 2.303)'\nset yrange [0:3]\n",
       "plot QQ using 8:xtic(1) title 'evaluator classes', 2.302585 with lines dt 2 title 'ln 10'\n"},
      {9, "set title 'train on synthetic, test on real: accuracy %'\nset yrange [0:125]\nset ytics 0, 20, 100\n",
       "plot QQ using 9:xtic(1) title 'trained on samples', '' using 10 title 'trained on real digits'\n"},
      {11, "set title 'memorized: % of samples nearer a training image than 99% of test images'\nset yrange [0:*]\n"
           "set offsets 0, 0, 0.5, 0\n",
       "plot QQ using 11:xtic(1) title 'samples', 1 with lines dt 2 title 'test images (1%)'\n"},
      {12, "set title 'sampling speed, images/s (log scale)'\nset logscale y\nset yrange [*:*]\n",
       "plot QQ using 12:xtic(1) title 'images/s'\n"}};
  std::vector<Panel> panels;
  for (const Panel& p : all)
    if (has[size_t(p.column)]) panels.push_back(p);
  if (panels.empty()) return false;
  const int cols = int(std::min<size_t>(4, panels.size())), rows = int((panels.size() + 3) / 4);
  draw_with_gnuplot(data.str(), [&](const std::string& d, const std::string& out) {
    std::ostringstream gp;
    gp << "set terminal pngcairo size " << 450 * cols << "," << 410 * rows << " noenhanced font ',10'\n"
       << "set output '" << out << "'\n"
       << "set datafile missing 'NaN'\n"
       << "set style data histograms\nset style histogram clustered gap 1\n"
       << "set style fill solid 0.85 border -1\nset boxwidth 0.9\nset grid ytics\n"
       << "set xtics rotate by -30 nomirror\nset key top left opaque font ',9'\n"
       << "set multiplot layout " << rows << "," << cols << "\n";
    for (const Panel& p : panels) {
      std::string plot = p.plot;
      plot.replace(plot.find("QQ"), 2, "'" + d + "'");
      gp << "unset logscale y\nset offsets 0, 0, 0, 0\nset ytics autofreq\n" << p.setup << plot;
    }
    gp << "unset multiplot\n";
    return gp.str();
  }, png.string());
  return true;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

}  // namespace

void write_report(const ReportOptions& o) {
  DG_REQUIRE(!o.runs.empty(), "--runs: give at least one run folder, checkpoint or eval JSON");
  DG_REQUIRE(!o.out.empty(), "--out: a report folder is required");
  const fs::path dir = o.out;
  fs::create_directories(dir / "evals");
  fs::create_directories(dir / "samples");

  std::vector<std::pair<std::string, nlohmann::json>> evals;
  EvalOptions eo = o.eval;
  for (const std::string& run : o.runs) {
    DG_REQUIRE(fs::exists(run), "--runs ", run, ": no such file or folder");
    const std::string name = run_name(run);
    for (const auto& [other, e] : evals)
      DG_REQUIRE(other != name, "--runs: two runs are named '", name, "'; give them distinct folder names");
    nlohmann::json e;
    const fs::path cached = dir / "evals" / (name + ".json");
    if (fs::path(run).extension() == ".json") {
      e = read_json(run);
      DG_REQUIRE(e.contains("metrics") && e.contains("checkpoint"), run, ": not a `digitgen eval` result (no 'metrics')");
    } else {
      const std::string ckpt = resolve_checkpoint_path(run);
      if (fs::exists(cached)) {
        const nlohmann::json c = read_json(cached.string());
        const std::vector<std::string> wanted = eo.metrics.empty() ? eval_metric_names() : eo.metrics;
        if (c.value("checkpoint", "") == ckpt && c.value("checkpoint_modified", "") == checkpoint_stamp(ckpt) &&
            c.value("seed", uint64_t(0)) == eo.seed && (eo.n <= 0 || c.value("n", int64_t(0)) == eo.n) &&
            c.value("requested", std::vector<std::string>()) == wanted &&
            c.value("sampling_settings", nlohmann::json::object()) == eo.sampling) {
          e = c;
          if (!o.quiet) std::printf("%s: reusing %s\n", name.c_str(), cached.string().c_str());
        }
      }
      if (e.is_null()) {
        eo.checkpoint = run;
        e = evaluate_checkpoint(eo);
        write_text(cached, e.dump(2) + "\n");
      }
    }
    // The real-data classifier does not depend on the model: later runs reuse the first one's.
    const nlohmann::json::json_pointer real("/metrics/sts/real");
    if (e.contains(real) && !eo.sts_real.is_object()) eo.sts_real = e.at(real);
    if (fs::path(run).extension() == ".json") write_text(cached, e.dump(2) + "\n");

    // A grid of 100 samples (conditional models: column c shows digit c), from the checkpoint the numbers came from.
    const std::string ckpt = e.at("checkpoint").get<std::string>();
    if (fs::exists(ckpt)) {
      std::string why;
      Context ctx(choose_device(eo.device, &why));
      LoadedModel lm = load_checkpoint(ctx, ckpt);
      std::vector<int32_t> labels(100);
      for (int i = 0; i < 100; ++i) labels[size_t(i)] = i % 10;
      const std::vector<float> img =
          lm.model->generate(ctx, 0, 100, e.value("seed", uint64_t(1)), lm.model->conditional() ? labels.data() : nullptr)
              .to_host(ctx);
      write_png_grid((dir / "samples" / (name + ".png")).string(), img.data(), 100, 28, 28, 10);
    } else if (!o.quiet) {
      std::printf("%s: checkpoint %s is not here; no sample grid\n", name.c_str(), ckpt.c_str());
    }
    evals.push_back({name, e});
  }

  bool charts = false;
  if (gnuplot_available()) {
    charts = draw_charts(evals, dir / "charts.png");
  } else if (!o.quiet) {
    std::fprintf(stderr, "warning: gnuplot is not installed; the report has no charts (tools/bootstrap.sh)\n");
  }

  std::ostringstream md;
  const nlohmann::json& first = evals.front().second;
  md << "# The models compared\n\n"
     << "Written by `digitgen report` on " << utc_now() << ". Device: " << first.value("device", "?")
     << ". Samples per model: the `n` column (seed " << first.value("seed", uint64_t(1))
     << "); every metric's own sample count is in `evals/<model>.json`. Samples are judged by the evaluator classifier "
     << "`" << fs::path(first.value("evaluator", "")).filename().string() << "` (its penultimate-layer features and "
     << "its predicted classes). The definitions are in `docs/evaluation.md`.\n\n";
  if (!o.command.empty()) md << "```bash\n" << o.command << "\n```\n\n";
  md << "| model | kind | epochs | n | FD ↓ (floor) | KID ↓ ± s.e. | precision ↑ | recall ↑ | class entropy ↑ "
        "(smallest share) | requested label read back ↑ | train on synthetic ↑ (on real) | memorized ↓ | NLL, nats ↓ "
        "(ELBO) | reconstruction MSE ↓ (PSNR) | the model's own test metrics | sampling img/s ↑ |\n"
     << "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& [name, e] : evals) md << table_row(name, e);
  md << "\nFloors (for " << evals.front().first << "): the same metric for "
     << fmt(num(first, "/metrics/fd/floor_n"), "%.0f")
     << " real training digits against the test set (what a perfect model would score at this sample size); "
        "training digits score precision "
     << fmt(num(first, "/metrics/pr/floor_precision"), "%.3f") << " and recall "
     << fmt(num(first, "/metrics/pr/floor_recall"), "%.3f") << ", KID "
     << fmt(num(first, "/metrics/kid/floor"), "%.3g")
     << ". Memorized: samples nearer (in pixels) to a training image than 99% of test images are; test images "
        "themselves score 1%.\n\n";
  if (charts) md << "![bar charts of the main metrics](charts.png)\n\n";
  md << "## Samples\n\n";
  for (const auto& [name, e] : evals)
    if (fs::exists(dir / "samples" / (name + ".png")))
      md << "**" << name << "** (" << e.value("kind", "?") << (e.value("conditional", false) ? ", column c is digit c" : "")
         << ")\n\n![" << name << " samples](samples/" << name << ".png)\n\n";
  md << "## Time per metric (seconds)\n\n| model | device | sampling | fd | kid | pr | classes | memorization | sts | "
        "model | reconstruction | likelihood | total |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& [name, e] : evals) {
    md << "| " << name << " | " << e.value("device", "?");
    for (const char* k :
         {"sampling", "fd", "kid", "pr", "classes", "memorization", "sts", "model", "reconstruction", "likelihood"})
      md << " | " << fmt(num(e, std::string("/metrics/") + k + "/seconds"), "%.1f");
    md << " | " << fmt(num(e, "/seconds"), "%.0f") << " |\n";
  }
  write_text(dir / "README.md", md.str());
  if (!o.quiet) std::printf("wrote %s (%zu models)\n", (dir / "README.md").string().c_str(), evals.size());
}

}  // namespace dg
